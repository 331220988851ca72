import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { isUUID } from 'class-validator';
import { Clock } from '@/infra/clock/clock';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import type { Page } from '@/infra/pagination/page';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { DomainError } from '@/shared/domain-error';
import { formatMoney } from '@/shared/money';
import { AuditService } from '@/infra/audit/audit.service';
import { periodsOf } from '@/shared/periods';
import { OutboxService } from '@/modules/events/outbox.service';
import {
  finalReleaseTransfer,
  leaseHold,
  manualCharge,
  periodTransfer,
  reservedGpuSeconds,
  voidReleaseTransfer,
} from './domain/settlement-rules';
import { SloStepPort } from './domain/slo-step.port';
import type {
  AdminListSettlementLeasesQuery,
  SettleByHandDto,
  SettlementLeaseResponse,
  SettlementReasonDto,
} from './dto/settlement-admin.dto';
import { InvoicesService } from '@/modules/billing/statements/invoices.service';
import { LedgerService } from '@/modules/billing/ledger/ledger.service';
import { periodSettled } from './settlement-events';
import { SettlementRepository, type AdminLeaseRecord } from './settlement.repository';

const leaseNotFound = (): DomainError => new DomainError('NOT_FOUND', 'Lease not found.');

/**
 * An admin resolves a lease whose settlement gave up (NEEDS_ATTENTION): retry it (back to OPEN,
 * settle job re-queued), settle a period by hand (stated GPU-seconds through the same pricing and
 * unique keys as the worker), or void it (the rest of its hold back to the buyer as a correction).
 * Each locks the lease row as a settle job does, is idempotent by state, and is audited with the
 * admin as actor in its own transaction.
 */
@Injectable()
export class SettlementAdminService {
  constructor(
    private readonly settlement: SettlementRepository,
    private readonly ledger: LedgerService,
    private readonly outbox: OutboxService,
    private readonly audit: AuditService,
    private readonly producer: JobProducer,
    private readonly cursors: CursorCodec,
    private readonly invoices: InvoicesService,
    private readonly clock: Clock,
    private readonly slo: SloStepPort,
  ) {}

  async listLeases(query: AdminListSettlementLeasesQuery): Promise<Page<SettlementLeaseResponse>> {
    const limit = this.cursors.limit(query.limit);
    const rows = await this.settlement.adminListLeases(
      query.state ?? 'NEEDS_ATTENTION',
      limit,
      this.cursors.decode(query.cursor),
    );
    return this.cursors.page(rows, limit, (row) => present(row));
  }

  async getLease(id: string): Promise<SettlementLeaseResponse> {
    return present(await this.find(id, false));
  }

  /** Back to OPEN and the settle job queued again; the job settles what is due, once. */
  async retry(adminUserId: string, id: string): Promise<SettlementLeaseResponse> {
    const lease = await this.reopen(adminUserId, id);
    // After the commit, so the job sees OPEN (lost: retry again). The failed job's id is freed for
    // the sweep; this job's own id runs it now and, finding nothing due, blocks no later sweep.
    const sweepJobId = `settle-${lease.id}-${lease.settledPeriods}`;
    await this.producer.discard('settlement.settle-lease', sweepJobId);
    await this.producer.enqueue(
      'settlement.settle-lease',
      { leaseId: lease.id },
      { jobId: `${sweepJobId}-retry-${this.clock.now().getTime()}` },
    );
    return present(lease);
  }

  @Transactional()
  private async reopen(adminUserId: string, id: string): Promise<AdminLeaseRecord> {
    const lease = await this.find(id, true);
    if (lease.settlementState === 'OPEN') return lease;
    this.assertNeedsAttention(lease, 'retried');
    await this.settlement.adminSetSettlementState(lease.id, 'OPEN', this.clock.now());
    await this.audit.record(
      adminUserId,
      'settlement.retry',
      { type: 'lease', id: lease.id },
      { error: lease.settlementError, settledPeriods: lease.settledPeriods },
    );
    return this.find(id, false);
  }

  /**
   * Settles the next period with the GPU-seconds the admin states, priced as the worker prices
   * any period. The lease stays NEEDS_ATTENTION (retry or settle more), unless that was the last
   * period of a closed lease: then it is COMPLETE and the rest of its hold goes back.
   */
  @Transactional()
  async settleByHand(
    adminUserId: string,
    id: string,
    input: SettleByHandDto,
  ): Promise<SettlementLeaseResponse> {
    const lease = await this.find(id, true);
    const gpuSeconds = BigInt(input.gpuSeconds);
    if (input.period < lease.settledPeriods) {
      const settled = await this.settlement.adminFindPeriod(lease.id, input.period);
      // A repeat of the same settlement by hand is answered as it was; anything else is a conflict.
      if (settled?.basis === 'MANUAL' && settled.gpuSeconds === gpuSeconds) return present(lease);
      throw new DomainError('CONFLICT', `Period ${input.period} of the lease is settled already.`, {
        reason: 'PERIOD_SETTLED',
        period: input.period,
      });
    }
    this.assertNeedsAttention(lease, 'settled by hand');
    const now = this.clock.now();
    const periods = periodsOf(lease);
    const period = periods[input.period];
    if (input.period !== lease.settledPeriods || period === undefined) {
      throw new DomainError('CONFLICT', `Periods settle in order: the next one is ${lease.settledPeriods}.`, {
        reason: 'NOT_NEXT_PERIOD',
        nextPeriod: lease.settledPeriods,
        periods: periods.length,
      });
    }
    if (period.endsAt > now) {
      throw new DomainError('CONFLICT', `Period ${period.index} has not ended yet.`, {
        reason: 'PERIOD_NOT_OVER',
        endsAt: period.endsAt.toISOString(),
      });
    }
    if ((await this.settlement.systemDisputedPeriods(lease.id)).has(period.index)) {
      throw new DomainError('CONFLICT', `Period ${period.index} is under an open dispute; decide it first.`, {
        reason: 'PERIOD_DISPUTED',
      });
    }
    const reserved = reservedGpuSeconds(lease, period);
    if (gpuSeconds > reserved) {
      throw new DomainError(
        'VALIDATION_FAILED',
        `gpuSeconds must be at most ${reserved}, what the period reserved.`,
        {
          field: 'gpuSeconds',
          reserved: Number(reserved),
        },
      );
    }
    const charge = manualCharge(lease, period, gpuSeconds);
    const complete = lease.status !== 'ACTIVE' && period.index === periods.length - 1;
    await this.settlement.systemRecordPeriods(lease.id, [charge], now);
    const transfers = [
      periodTransfer(lease, charge),
      complete ? finalReleaseTransfer(lease, lease.settledCost + charge.cost) : null,
    ];
    await this.ledger.postSettlement(transfers.filter((t) => t !== null));
    // A period settled by hand meets its SLO step as the worker's would (docs/SLO.md).
    await this.slo.settlePeriods(lease, [charge], now);
    await this.settlement.systemAdvance(lease.id, period.index + 1, complete, now);
    // Settlement completed by hand invoices the buyer as the worker's last period would.
    if (complete) await this.invoices.issueForLease(lease, now);
    await this.outbox.record(periodSettled(lease, charge));
    await this.audit.record(
      adminUserId,
      'settlement.settle-by-hand',
      { type: 'lease', id: lease.id },
      {
        period: period.index,
        gpuSeconds: input.gpuSeconds,
        cost: formatMoney(charge.cost, lease.currencyScale),
        fee: formatMoney(charge.fee, lease.currencyScale),
        currency: lease.currency,
        reason: input.reason,
      },
    );
    return present(await this.find(id, false));
  }

  /**
   * Closes the lease's settlement (VOIDED): no further period is charged, and what the lease
   * still holds goes back to the buyer as one correcting transfer.
   */
  @Transactional()
  async void(adminUserId: string, id: string, input: SettlementReasonDto): Promise<SettlementLeaseResponse> {
    const lease = await this.find(id, true);
    if (lease.settlementState === 'VOIDED') return present(lease);
    this.assertNeedsAttention(lease, 'voided');
    const release = voidReleaseTransfer(lease, lease.settledCost, input.reason);
    await this.ledger.postSettlement(release === null ? [] : [release]);
    const now = this.clock.now();
    await this.settlement.adminSetSettlementState(lease.id, 'VOIDED', now);
    // The periods settled before the void were charged: the buyer's invoice covers them.
    await this.invoices.issueForLease(lease, now);
    await this.audit.record(
      adminUserId,
      'settlement.void',
      { type: 'lease', id: lease.id },
      {
        reason: input.reason,
        settledPeriods: lease.settledPeriods,
        returned: formatMoney(leaseHold(lease) - lease.settledCost, lease.currencyScale),
        currency: lease.currency,
      },
    );
    return present(await this.find(id, false));
  }

  /** A missing id, a malformed one and a lease that never started (nothing to settle) are one 404. */
  private async find(id: string, lock: boolean): Promise<AdminLeaseRecord> {
    const lease = isUUID(id) ? await this.settlement.adminFindLease(id, lock) : null;
    if (!lease) throw leaseNotFound();
    return lease;
  }

  private assertNeedsAttention(lease: AdminLeaseRecord, action: string): void {
    if (lease.settlementState !== 'NEEDS_ATTENTION') {
      throw new DomainError(
        'CONFLICT',
        `Only a lease whose settlement needs attention can be ${action}; this one is ${lease.settlementState}.`,
        { reason: 'NOT_NEEDS_ATTENTION', settlementState: lease.settlementState },
      );
    }
  }
}

function present(lease: AdminLeaseRecord): SettlementLeaseResponse {
  const money = (minor: bigint): string => formatMoney(minor, lease.currencyScale);
  const periods = periodsOf(lease);
  const next =
    lease.settlementState === 'OPEN' || lease.settlementState === 'NEEDS_ATTENTION'
      ? periods[lease.settledPeriods]
      : undefined;
  return {
    id: lease.id,
    market: lease.market,
    buyerOrganisationId: lease.buyerOrganisationId,
    providerOrganisationId: lease.providerOrganisationId,
    status: lease.leaseStatus,
    billingMode: lease.billingMode,
    gpus: lease.gpus,
    pricePerGpuHour: money(lease.pricePerGpuHour),
    currency: lease.currency,
    startedAt: lease.startedAt.toISOString(),
    endAt: lease.endAt.toISOString(),
    settlementState: lease.settlementState,
    settlementError: lease.settlementError,
    settledPeriods: lease.settledPeriods,
    periods: periods.length,
    nextPeriod:
      next === undefined
        ? null
        : { index: next.index, startsAt: next.startsAt.toISOString(), endsAt: next.endsAt.toISOString() },
    settledCost: money(lease.settledCost),
    held: money(lease.released ? 0n : leaseHold(lease) - lease.settledCost),
    updatedAt: lease.updatedAt.toISOString(),
  };
}
