import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { isUUID } from 'class-validator';
import { Clock } from '@/infra/clock/clock';
import { AppConfig } from '@/infra/config/app-config';
import { DataCipher } from '@/infra/crypto/data-cipher';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import type { Page } from '@/infra/pagination/page';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { DomainError } from '@/shared/domain-error';
import { LedgerService } from '@/modules/billing/ledger/ledger.service';
import { OutboxService } from '@/modules/events/outbox.service';
import { AuditService } from '@/infra/audit/audit.service';
import { MarketsService } from '@/modules/markets/markets.service';
import type { OrganisationContext } from '@/infra/auth/principal';
import { OrderStateService } from '@/modules/markets/order-state.service';
import { leaseClosed } from './domain/lease-events';
import { earlyEndPenalty, terminationOutcome, type TerminationReason } from './domain/lease-rules';
import { formatMoney } from '@/shared/money';
import type {
  AccessDetailsResponse,
  AdminLeaseResponse,
  HandOverAccessDto,
  LeaseResponse,
  ListLeasesQuery,
  TerminateLeaseDto,
} from './dto/lease.dto';
import { LeasesMapper } from './leases.mapper';
import { LeasesRepository, type ClosedLease, type LeaseRecord, type UsageRecord } from './leases.repository';
import { periodForReport } from './domain/usage-rules';
import type { ReportUsageDto, UsageReportResponse } from './dto/usage.dto';
import { OrganisationWriteGateService } from '@/infra/auth/write-gate/organisation-write-gate.service';

const leaseNotFound = (): DomainError => new DomainError('NOT_FOUND', 'Lease not found.');

function usageResponse(row: UsageRecord, periodSeconds: number, periodEnd?: Date): UsageReportResponse {
  return {
    leaseId: row.leaseId,
    periodStart: row.periodStart.toISOString(),
    periodEnd: (periodEnd ?? new Date(row.periodStart.getTime() + periodSeconds * 1000)).toISOString(),
    gpuSeconds: Number(row.gpuSeconds),
    tokens: row.tokens === null ? null : Number(row.tokens),
    createdAt: row.createdAt.toISOString(),
  };
}

interface SealedAccess {
  endpoint: string;
  credentials: Array<{ name: string; value: string }>;
  instructions: string | null;
  handedOverAt: string;
}

/**
 * Leases as their two sides see them: the provider hands over access (the lease starts and
 * billing with it), the buyer reads it; either side, or a platform admin, may end a lease early
 * by the rule in docs/LEASES.md. Each side gets its own view of a lease (LeasesMapper).
 */
@Injectable()
export class LeasesService {
  constructor(
    private readonly leases: LeasesRepository,
    private readonly orderState: OrderStateService,
    private readonly markets: MarketsService,
    private readonly cipher: DataCipher,
    private readonly ledger: LedgerService,
    private readonly outbox: OutboxService,
    private readonly producer: JobProducer,
    private readonly cursors: CursorCodec,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly writeGate: OrganisationWriteGateService,
    private readonly audit: AuditService,
  ) {}

  async listLeases(org: OrganisationContext, query: ListLeasesQuery): Promise<Page<LeaseResponse>> {
    const limit = this.cursors.limit(query.limit);
    const market =
      query.market === undefined ? undefined : await this.markets.findBySlug(query.market, 'market');
    const rows = await this.leases.listLeases(
      org.organisationId,
      org.organisationRole,
      { status: query.status, marketId: market?.id },
      limit,
      this.cursors.decode(query.cursor),
    );
    return this.cursors.page(rows, limit, (row) => LeasesMapper.lease(row, org.organisationRole));
  }

  /** A missing id, a malformed one and another organisation's are the same 404. */
  async getLease(org: OrganisationContext, id: string): Promise<LeaseResponse> {
    return LeasesMapper.lease(await this.mine(org, id), org.organisationRole);
  }

  /**
   * The provider hands over access: stored encrypted (bound to the lease), and the lease is
   * ACTIVE from now for its whole duration, which starts its billing periods.
   */
  @Transactional()
  async handOverAccess(
    org: OrganisationContext,
    id: string,
    input: HandOverAccessDto,
  ): Promise<LeaseResponse> {
    // Another organisation's lease is a 404 before anything else is said about it.
    const lease = await this.mine(org, id);
    // Not refused while suspended: a lease is binding and runs on (DESIGN, Organisations).
    if (org.organisationRole !== 'PROVIDER') {
      throw new DomainError('FORBIDDEN', 'Only the provider hands over access.');
    }
    const now = this.clock.now();
    const details: SealedAccess = {
      endpoint: input.endpoint,
      credentials: input.credentials.map((c) => ({ name: c.name, value: c.value })),
      instructions: input.instructions ?? null,
      handedOverAt: now.toISOString(),
    };
    if (
      !(await this.leases.startLease(
        org.organisationId,
        id,
        this.cipher.encrypt(JSON.stringify(details), id),
        now,
      ))
    ) {
      const waiting = lease.status === 'SCHEDULED' && lease.startsAt !== null && lease.startsAt > now;
      throw new DomainError(
        'CONFLICT',
        waiting
          ? `The lease's idle window opens at ${lease.startsAt?.toISOString()}; hand over access from then.`
          : lease.status === 'SCHEDULED'
            ? 'The provisioning deadline has passed; the lease terminates as a provider failure.'
            : `The lease is ${lease.status.toLowerCase()}; access was handed over already or can no longer be.`,
        { status: lease.status, ...(waiting ? { startsAt: lease.startsAt?.toISOString() } : {}) },
      );
    }
    const started = await this.mine(org, id);
    await this.outbox.record({
      type: 'lease.started',
      aggregateType: 'lease',
      aggregateId: id,
      payload: {
        leaseId: id,
        market: started.market.slug,
        buyerOrganisationId: started.buyerOrganisationId,
        providerOrganisationId: started.providerOrganisationId,
        gpus: started.gpus,
        startedAt: started.startedAt?.toISOString() ?? now.toISOString(),
        endsAt: started.endsAt?.toISOString() ?? null,
      },
    });
    return LeasesMapper.lease(started, org.organisationRole);
  }

  /** Access details, decrypted for the buyer only; 409 until the provider has handed them over. */
  async readAccess(org: OrganisationContext, id: string): Promise<AccessDetailsResponse> {
    const lease = await this.mine(org, id);
    if (org.organisationRole !== 'BUYER') {
      throw new DomainError('FORBIDDEN', 'Access details are readable by the buyer only.');
    }
    const sealed = await this.leases.findSealedAccess(org.organisationId, id);
    if (sealed === null) {
      throw new DomainError('CONFLICT', 'The provider has not handed over access yet.', {
        status: lease.status,
      });
    }
    const details = JSON.parse(this.cipher.decrypt(sealed, id)) as SealedAccess;
    return { leaseId: id, ...details };
  }

  /**
   * A provider's usage for one billing period of a pay-per-use lease, keyed by (lease, period
   * start): the same numbers again answer the stored report, different ones 409, as does a
   * report after the period settled.
   */
  @Transactional()
  async reportUsage(
    org: OrganisationContext,
    id: string,
    input: ReportUsageDto,
  ): Promise<UsageReportResponse> {
    await this.writeGate.assertMayWrite(org.organisationId);
    const lease =
      isUUID(id) && org.organisationRole === 'PROVIDER'
        ? await this.leases.lockForUsage(org.organisationId, id)
        : null;
    if (!lease) throw leaseNotFound();
    const report = {
      periodStart: new Date(input.periodStart),
      gpuSeconds: BigInt(input.gpuSeconds),
      tokens: input.tokens === undefined ? null : BigInt(input.tokens),
    };
    const existing = await this.leases.findUsage(id, report.periodStart);
    const now = this.clock.now();
    if (existing) {
      if (existing.gpuSeconds !== report.gpuSeconds || existing.tokens !== report.tokens) {
        throw new DomainError(
          'CONFLICT',
          'This period was reported with different numbers; a report is final.',
          {
            reason: 'USAGE_ALREADY_REPORTED',
          },
        );
      }
      return usageResponse(existing, lease.periodSeconds);
    }
    const period = periodForReport(lease, report, now, this.config.env.SETTLEMENT_GRACE_MINUTES * 60_000);
    const created = await this.leases.createUsage(id, { ...report, at: now });
    await this.outbox.record({
      type: 'usage.reported',
      aggregateType: 'lease',
      aggregateId: id,
      payload: {
        leaseId: id,
        // Both parties see the report; the buyer's id puts the buyer in the audience.
        buyerOrganisationId: lease.buyerOrganisationId,
        providerOrganisationId: org.organisationId,
        periodStart: period.startsAt.toISOString(),
        periodEnd: period.endsAt.toISOString(),
        gpuSeconds: report.gpuSeconds.toString(),
        tokens: report.tokens === null ? null : report.tokens.toString(),
      },
    });
    return usageResponse(created, lease.periodSeconds, period.endsAt);
  }

  /**
   * Ends a lease early on one side's request (docs/LEASES.md); idempotent by state. A provider
   * ends an ACTIVE lease at the offer's notice, or now with a penalty credited to the buyer.
   */
  @Transactional()
  async terminateLease(
    org: OrganisationContext,
    id: string,
    input: TerminateLeaseDto = {},
  ): Promise<LeaseResponse> {
    const side = org.organisationRole === 'BUYER' ? 'BUYER' : 'PROVIDER';
    if (side === 'BUYER' && input.mode !== undefined) {
      throw new DomainError(
        'VALIDATION_FAILED',
        'mode is for the provider: a buyer’s end is always at the period’s end.',
        {
          field: 'mode',
        },
      );
    }
    // Locked first: the rule reads the lease as no concurrent end can change it.
    if (!isUUID(id) || !(await this.leases.lockLease(org.organisationId, org.organisationRole, id))) {
      throw leaseNotFound();
    }
    const lease = await this.mine(org, id);
    const now = this.clock.now();
    const outcome = terminationOutcome(lease, side, now, {
      mode: input.mode ?? 'NOTICE',
      noticeHours: lease.terminationNoticeHours,
      gpus: lease.gpus,
      reclaimNoticeMinutes: lease.reclaimNoticeMinutes,
    });
    if (outcome.kind === 'refused') throw new DomainError('CONFLICT', outcome.why, { status: lease.status });
    if (outcome.kind === 'shorten' || outcome.kind === 'notice' || outcome.kind === 'reclaim') {
      const moved =
        outcome.kind === 'shorten'
          ? await this.leases.shortenLease(org.organisationId, id, outcome.endsAt, now)
          : outcome.kind === 'notice'
            ? await this.leases.giveNotice(org.organisationId, id, outcome.endsAt, now)
            : await this.leases.reclaimLease(org.organisationId, id, outcome.endsAt, now);
      if (moved) {
        // Ends on time even if the scheduled sweep is far off; the sweep is the backstop.
        await this.producer.enqueue(
          'leases.sweep',
          { trigger: 'lease-end' },
          {
            jobId: `end-${id}-${outcome.endsAt.getTime()}`,
            delay: Math.max(0, outcome.endsAt.getTime() - now.getTime()) + 250,
          },
        );
        if (outcome.kind === 'notice') {
          await this.outbox.record({
            type: 'lease.termination_scheduled',
            aggregateType: 'lease',
            aggregateId: id,
            payload: {
              leaseId: id,
              market: lease.market.slug,
              buyerOrganisationId: lease.buyerOrganisationId,
              providerOrganisationId: lease.providerOrganisationId,
              gpus: lease.gpus,
              noticeGivenAt: now.toISOString(),
              noticeHours: lease.terminationNoticeHours,
              endsAt: outcome.endsAt.toISOString(),
            },
          });
        }
        if (outcome.kind === 'reclaim') {
          await this.outbox.record({
            type: 'lease.reclaimed',
            aggregateType: 'lease',
            aggregateId: id,
            payload: {
              leaseId: id,
              market: lease.market.slug,
              bidId: lease.bidId,
              buyerOrganisationId: lease.buyerOrganisationId,
              providerOrganisationId: lease.providerOrganisationId,
              gpus: lease.gpus,
              reclaimedAt: now.toISOString(),
              reclaimNoticeMinutes: lease.reclaimNoticeMinutes ?? 0,
              endsAt: outcome.endsAt.toISOString(),
            },
          });
        }
      }
    } else if (outcome.kind === 'terminate') {
      const penalty =
        outcome.penaltyGpuSeconds === undefined
          ? 0n
          : earlyEndPenalty(lease.pricePerGpuHour, outcome.penaltyGpuSeconds);
      const closed = await this.leases.terminateLease(
        org.organisationId,
        org.organisationRole,
        id,
        outcome.reason,
        now,
        penalty > 0n ? penalty : null,
      );
      if (closed) {
        if (penalty > 0n) {
          await this.ledger.chargePenalty({
            leaseId: id,
            buyerOrganisationId: closed.buyerOrganisationId,
            providerOrganisationId: closed.providerOrganisationId,
            currency: closed.currency,
            amount: penalty,
          });
        }
        await this.afterTermination(
          closed,
          outcome.reason,
          outcome.refundInFull,
          now,
          penalty > 0n ? formatMoney(penalty, lease.market.currencyScale) : undefined,
        );
      }
    }
    return LeasesMapper.lease(await this.mine(org, id), org.organisationRole);
  }

  /**
   * A platform admin ends a lease (audited), settled as a provider's early end: before access a
   * full refund, once ACTIVE the period it is in is paid for the time elapsed, nothing after
   * (docs/LEDGER.md). Idempotent by state: an ended lease, or one past its end, is answered as it
   * is, unaudited.
   */
  @Transactional()
  async adminTerminateLease(adminUserId: string, id: string, note: string): Promise<AdminLeaseResponse> {
    const lease = isUUID(id) ? await this.leases.adminFindLease(id) : null;
    if (!lease) throw leaseNotFound();
    const now = this.clock.now();
    const outcome = terminationOutcome(lease, 'ADMIN', now);
    if (outcome.kind === 'terminate') {
      const closed = await this.leases.adminTerminateLease(id, now);
      if (closed) {
        await this.afterTermination(closed, outcome.reason, outcome.refundInFull, now);
        await this.audit.record(
          adminUserId,
          'lease.terminate',
          { type: 'lease', id },
          {
            reason: note,
            before: { status: lease.status },
            after: { status: 'TERMINATED', terminationReason: 'ADMIN' },
          },
        );
      }
    }
    const after = await this.leases.adminFindLease(id);
    if (!after) throw leaseNotFound();
    return LeasesMapper.forAdmin(after);
  }

  /** What follows any early termination: GPUs back to the offer, the refund rule, the event. */
  private async afterTermination(
    closed: ClosedLease,
    reason: TerminationReason,
    refundInFull: boolean,
    now: Date,
    penalty?: string,
  ): Promise<void> {
    await this.orderState.systemReturnGpus([closed], now);
    if (refundInFull) {
      await this.ledger.refundLeases([
        {
          leaseId: closed.id,
          buyerOrganisationId: closed.buyerOrganisationId,
          currency: closed.currency,
          pricePerGpuHour: closed.pricePerGpuHour,
          gpus: closed.gpus,
          durationHours: closed.durationHours,
          reason: `terminated before access (${reason.toLowerCase()})`,
        },
      ]);
    }
    await this.outbox.record(leaseClosed(closed, { status: 'TERMINATED', reason, penalty }));
  }

  private async mine(org: OrganisationContext, id: string): Promise<LeaseRecord> {
    const lease = isUUID(id)
      ? await this.leases.findLease(org.organisationId, org.organisationRole, id)
      : null;
    if (!lease) throw leaseNotFound();
    return lease;
  }
}
