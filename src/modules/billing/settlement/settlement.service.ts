import { Injectable, Logger } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { AppConfig } from '@/infra/config/app-config';
import { Clock } from '@/infra/clock/clock';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { periodsOf, type Period } from '@/shared/periods';
import { OutboxService } from '@/modules/events/outbox.service';
import {
  awaitsClose,
  chargePeriod,
  finalReleaseTransfer,
  settlementMode,
  settlesAt,
  type PeriodCharge,
} from './domain/settlement-rules';
import { SloStepPort } from './domain/slo-step.port';
import {
  chargeTokenPeriod,
  isTokenBilled,
  providerNet,
  settlementTransferOf,
} from './domain/token-settlement-rules';
import { InvoicesService } from '@/modules/billing/statements/invoices.service';
import { periodSettled } from './settlement-events';
import { LedgerService } from '@/modules/billing/ledger/ledger.service';
import { SettlementRepository, type LeaseToSettle } from './settlement.repository';

const SWEEP_BATCH = 500;

/**
 * Settles leases' billing periods exactly once: one job per lease and period, unique keys make a
 * repeat a no-op, exhausted retries mark the lease NEEDS_ATTENTION (docs/LEASES.md "Settlement").
 */
@Injectable()
export class SettlementService {
  private readonly logger = new Logger(SettlementService.name);

  constructor(
    private readonly settlement: SettlementRepository,
    private readonly ledger: LedgerService,
    private readonly invoices: InvoicesService,
    private readonly outbox: OutboxService,
    private readonly producer: JobProducer,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly slo: SloStepPort,
  ) {}

  private get graceMs(): number {
    return this.config.env.SETTLEMENT_GRACE_MINUTES * 60_000;
  }

  /** When a period may settle: settlement's own rule, then the SLO's dispute window (docs/SLO.md). */
  private readyAt(lease: LeaseToSettle, period: Period): Date {
    return this.slo.settlesAt(lease, period, settlesAt(period, settlementMode(lease), this.graceMs));
  }

  /** Whether the period may settle now: ready, and not a cut last period of a lease yet to close. */
  private isDue(lease: LeaseToSettle, period: Period, now: Date): boolean {
    return !awaitsClose(lease, period) && this.readyAt(lease, period) <= now;
  }

  /** Enqueues a settle job for every lease with a period due now; returns how many. */
  async sweep(): Promise<number> {
    const now = this.clock.now();
    let queued = 0;
    for (const lease of await this.settlement.systemLeasesWithPeriodsDue(now, SWEEP_BATCH)) {
      const next = periodsOf(lease)[lease.settledPeriods];
      const due = next !== undefined && this.isDue(lease, next, now);
      if (!due && !(next === undefined && lease.status !== 'ACTIVE')) continue;
      await this.producer.enqueue(
        'settlement.settle-lease',
        { leaseId: lease.id },
        { jobId: `settle-${lease.id}-${lease.settledPeriods}` },
      );
      queued += 1;
    }
    return queued;
  }

  /** Settles the lease's due periods in one transaction; returns how many it settled. */
  @Transactional()
  async settleLease(leaseId: string): Promise<number> {
    const lease = await this.settlement.systemLockLease(leaseId);
    if (lease === null || lease.settlementState !== 'OPEN') return 0;
    const now = this.clock.now();
    const periods = periodsOf(lease);
    const due = periods.slice(lease.settledPeriods).filter((period) => this.isDue(lease, period, now));
    // Periods settle in order: stop at the first that is not due yet, or under an open dispute
    // (it settles once decided, with those after it; docs/USAGE.md).
    const disputed = await this.settlement.systemDisputedPeriods(leaseId);
    const held = due.findIndex((period) => disputed.has(period.index));
    const contiguous = (held === -1 ? due : due.slice(0, held)).filter(
      (period, i) => period.index === lease.settledPeriods + i,
    );
    const charges = await this.chargePeriods(lease, contiguous, disputed);
    const settled = lease.settledPeriods + charges.length;
    const complete = lease.status !== 'ACTIVE' && settled === periods.length;
    if (charges.length === 0 && !complete) return 0;

    // Locked before the proceeds post, to net an open receivable from them (docs/LEDGER.md).
    const provider =
      charges.length > 0
        ? await this.ledger.lockProviderBalances(lease.providerOrganisationId, lease.currency)
        : null;
    await this.settlement.systemRecordPeriods(leaseId, charges, now);
    const transfers = charges.map((charge) => settlementTransferOf(lease, charge));
    if (complete) {
      const cost = await this.settlement.systemSettledCost(leaseId);
      transfers.push(finalReleaseTransfer(lease, cost));
    }
    await this.ledger.postSettlement(transfers.filter((t) => t !== null));
    // SLO outcomes and credits, from the proceeds just posted (docs/SLO.md).
    const credits = await this.slo.settlePeriods(lease, charges, now);
    const last = charges.at(-1);
    if (provider !== null && provider.receivable < 0n && last !== undefined) {
      await this.ledger.recoverReceivable({
        key: `recover:${leaseId}:${last.index}`,
        leaseId,
        providerOrganisationId: lease.providerOrganisationId,
        currency: lease.currency,
        receivable: provider.receivable,
        earnings: provider.earnings + charges.reduce((sum, c) => sum + providerNet(c), 0n) - credits,
      });
    }
    await this.settlement.systemAdvance(leaseId, settled, complete, now);
    // The buyer's invoice is issued in the transaction that completes the lease: one per lease.
    if (complete) await this.invoices.issueForLease(lease, now);
    await this.outbox.recordMany(charges.map((charge) => periodSettled(lease, charge)));
    return charges.length;
  }

  /**
   * What each period charges: per token from the counts that stand (docs/INFERENCE.md "Per-token
   * billing"), else by GPU-seconds from the usage reported.
   */
  private async chargePeriods(
    lease: LeaseToSettle,
    periods: readonly Period[],
    disputed: ReadonlySet<number>,
  ): Promise<PeriodCharge[]> {
    if (isTokenBilled(lease)) {
      const standing = await this.settlement.systemStandingCounts(
        lease.id,
        periods.map((period) => period.index),
        disputed,
      );
      return periods.map((period) => chargeTokenPeriod(lease, period, standing.get(period.index) ?? null));
    }
    const usage = await this.settlement.systemUsage(
      lease.id,
      periods.map((period) => period.startsAt),
    );
    return periods.map((period) => chargePeriod(lease, period, usage.get(period.startsAt.getTime()) ?? null));
  }

  /** A settle job out of retries: the lease waits for an admin (NEEDS_ATTENTION). */
  @Transactional()
  async giveUp(leaseId: string, error: string): Promise<void> {
    this.logger.error(`settlement of lease ${leaseId} needs attention: ${error}`);
    await this.settlement.systemNeedsAttention(leaseId, error, this.clock.now());
  }
}
