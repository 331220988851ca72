import { Injectable } from '@nestjs/common';
import type { KeysetPosition } from '@/infra/pagination/cursor-codec';
import type { PeriodCharge, SettlingLease } from './domain/settlement-rules';
import { standingCounts, type StandingTokenCounts } from './domain/token-settlement-rules';
import { Tx } from '@/infra/prisma/tx';

export interface LeaseToSettle extends SettlingLease {
  market: string;
  currencyScale: number;
  settledPeriods: number;
  settlementState: SettlementState;
  /** Whether the lease carries an SLO (docs/SLO.md): its periods settle after the dispute window. */
  hasSlo: boolean;
}

export type SettlementState = 'OPEN' | 'COMPLETE' | 'NEEDS_ATTENTION' | 'VOIDED';

/** A lease as an admin resolving its settlement sees it. */
export interface AdminLeaseRecord extends LeaseToSettle {
  leaseStatus: 'SCHEDULED' | 'ACTIVE' | 'ENDED' | 'TERMINATED';
  settlementError: string | null;
  settledCost: bigint;
  /** Whether the rest of its hold went back (final release or void). */
  released: boolean;
  createdAt: Date;
  updatedAt: Date;
}

interface AdminLeaseRow extends LeaseRow {
  settlement_error: string | null;
  settled_cost: bigint;
  released: boolean;
  created_at: Date;
  updated_at: Date;
}

interface LeaseRow {
  id: string;
  market: string;
  currency: string;
  currency_scale: number;
  buyer_organisation_id: string;
  provider_organisation_id: string;
  gpus: number;
  price_per_gpu_hour: bigint;
  duration_hours: number;
  billing_mode: 'RESERVED' | 'PAY_PER_USE';
  fee_bps: number;
  pay_per_use_min_percent: number;
  period_seconds: number;
  status: 'SCHEDULED' | 'ACTIVE' | 'ENDED' | 'TERMINATED';
  termination_reason: string | null;
  started_at: Date;
  ends_at: Date;
  ended_at: Date | null;
  settled_periods: number;
  settlement_state: SettlementState;
  inference_price_per_million_tokens: bigint | null;
  inference_prompt_tokens_per_second: number | null;
  inference_output_tokens_per_second: number | null;
  inference_take_or_pay_percent: number | null;
  billing_basis: 'GPU_HOURS' | 'PER_TOKEN';
  provider_ask_per_gpu_hour: bigint | null;
  has_slo: boolean;
}

const SELECT = `l.id, m.slug AS market, m.currency, m.currency_scale, l.buyer_organisation_id,
  l.provider_organisation_id, l.gpus, l.price_per_gpu_hour, l.duration_hours, l.billing_mode::text AS billing_mode,
  l.fee_bps, l.pay_per_use_min_percent, l.period_seconds, l.status::text AS status,
  l.termination_reason::text AS termination_reason, l.started_at, l.ends_at, l.ended_at, l.settled_periods,
  l.settlement_state::text AS settlement_state, l.inference_price_per_million_tokens,
  l.inference_prompt_tokens_per_second, l.inference_output_tokens_per_second, l.inference_take_or_pay_percent,
  l.billing_basis::text AS billing_basis, l.provider_ask_per_gpu_hour, l.slo IS NOT NULL AS has_slo`;

const toLease = (row: LeaseRow): LeaseToSettle => ({
  id: row.id,
  market: row.market,
  currency: row.currency,
  currencyScale: row.currency_scale,
  buyerOrganisationId: row.buyer_organisation_id,
  providerOrganisationId: row.provider_organisation_id,
  gpus: row.gpus,
  pricePerGpuHour: row.price_per_gpu_hour,
  durationHours: row.duration_hours,
  billingMode: row.billing_mode,
  feeBps: row.fee_bps,
  payPerUseMinPercent: row.pay_per_use_min_percent,
  periodSeconds: row.period_seconds,
  status: row.status === 'SCHEDULED' ? 'ACTIVE' : row.status,
  terminationReason: row.termination_reason,
  startedAt: row.started_at,
  endAt: row.status === 'ACTIVE' ? row.ends_at : (row.ended_at ?? row.ends_at),
  settledPeriods: row.settled_periods,
  settlementState: row.settlement_state,
  tokenBilling: tokenBillingOf(row),
  hasSlo: row.has_slo,
});

/** Per-token terms of a PER_TOKEN lease; null bills by GPU-seconds (docs/INFERENCE.md "Billing basis"). */
function tokenBillingOf(row: LeaseRow): SettlingLease['tokenBilling'] {
  if (row.billing_basis !== 'PER_TOKEN') return null;
  // The billing-basis trigger keeps the per-token terms on every PER_TOKEN lease.
  if (row.inference_take_or_pay_percent === null || row.inference_price_per_million_tokens === null)
    throw new Error(`lease ${row.id}: PER_TOKEN without per-token terms`);
  return {
    pricePerMillionTokens: row.inference_price_per_million_tokens,
    promptTokensPerSecond: row.inference_prompt_tokens_per_second ?? 0,
    outputTokensPerSecond: row.inference_output_tokens_per_second ?? 0,
    takeOrPayPercent: row.inference_take_or_pay_percent,
    // A trigger keeps it on every per-token lease (migration 20261205180000_lease_provider_ask).
    providerAskPerGpuHour: row.provider_ask_per_gpu_hour ?? row.price_per_gpu_hour,
  };
}

const ADMIN_SELECT = `${SELECT}, l.settlement_error, l.created_at, l.updated_at,
  COALESCE((SELECT SUM(p.cost) FROM lease_periods p WHERE p.lease_id = l.id), 0)::bigint AS settled_cost,
  EXISTS (SELECT 1 FROM ledger_transfers t WHERE t.key = 'lease-release:' || l.id::text) AS released`;

const toAdminLease = (row: AdminLeaseRow): AdminLeaseRecord => ({
  ...toLease(row),
  leaseStatus: row.status,
  settlementError: row.settlement_error,
  settledCost: row.settled_cost,
  released: row.released,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/**
 * Settlement's reads and writes across tenants: the worker's (`system…`) and those of an admin
 * resolving a lease that needs attention (`admin…`).
 */
@Injectable()
export class SettlementRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  /** Started leases still settling whose next period may have ended (or that have closed). */
  async systemLeasesWithPeriodsDue(now: Date, limit: number): Promise<LeaseToSettle[]> {
    const rows = await this.tx.$queryRawUnsafe<LeaseRow[]>(
      `SELECT ${SELECT} FROM leases l JOIN markets m ON m.id = l.market_id
       WHERE l.settlement_state = 'OPEN' AND l.started_at IS NOT NULL
         AND (l.status <> 'ACTIVE'
              OR l.started_at + make_interval(secs => (l.settled_periods + 1) * l.period_seconds) <= $1)
         -- A next period under an open dispute waits for its decision, which queues the job itself.
         AND NOT EXISTS (SELECT 1 FROM period_disputes d WHERE d.lease_id = l.id AND d.status = 'OPEN'
                           AND d.period_index = l.settled_periods)
       ORDER BY l.started_at LIMIT $2`,
      now,
      limit,
    );
    return rows.map(toLease);
  }

  /** One started lease, locked until the transaction ends: usage reports wait for it, and so does a twin job. */
  async systemLockLease(id: string): Promise<LeaseToSettle | null> {
    const rows = await this.tx.$queryRawUnsafe<LeaseRow[]>(
      `SELECT ${SELECT} FROM leases l JOIN markets m ON m.id = l.market_id
       WHERE l.id = $1::uuid AND l.started_at IS NOT NULL FOR UPDATE OF l`,
      id,
    );
    return rows[0] === undefined ? null : toLease(rows[0]);
  }

  /** Started leases in a settlement state, newest first, keyset-paginated. */
  async adminListLeases(
    state: SettlementState,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<AdminLeaseRecord[]> {
    const rows = await this.tx.$queryRawUnsafe<AdminLeaseRow[]>(
      `SELECT ${ADMIN_SELECT} FROM leases l JOIN markets m ON m.id = l.market_id
       WHERE l.settlement_state = $1::"SettlementState" AND l.started_at IS NOT NULL
         AND ($2::timestamptz IS NULL OR (l.created_at, l.id) < ($2::timestamptz, $3::uuid))
       ORDER BY l.created_at DESC, l.id DESC LIMIT $4`,
      state,
      after?.createdAt ?? null,
      after?.id ?? null,
      limit + 1,
    );
    return rows.map(toAdminLease);
  }

  /** One started lease; `lock` holds its row (as the worker's settle job does) until the transaction ends. */
  async adminFindLease(id: string, lock: boolean): Promise<AdminLeaseRecord | null> {
    const rows = await this.tx.$queryRawUnsafe<AdminLeaseRow[]>(
      `SELECT ${ADMIN_SELECT} FROM leases l JOIN markets m ON m.id = l.market_id
       WHERE l.id = $1::uuid AND l.started_at IS NOT NULL ${lock ? 'FOR UPDATE OF l' : ''}`,
      id,
    );
    return rows[0] === undefined ? null : toAdminLease(rows[0]);
  }

  async adminFindPeriod(
    leaseId: string,
    index: number,
  ): Promise<{ gpuSeconds: bigint; basis: string } | null> {
    return this.tx.leasePeriod.findUnique({
      where: { leaseId_index: { leaseId, index } },
      select: { gpuSeconds: true, basis: true },
    });
  }

  /** An admin's decision on a lease that needed attention: back to OPEN (error cleared) or VOIDED. */
  async adminSetSettlementState(leaseId: string, state: 'OPEN' | 'VOIDED', at: Date): Promise<void> {
    await this.tx.lease.update({
      where: { id: leaseId },
      data: { settlementState: state, ...(state === 'OPEN' ? { settlementError: null } : {}), updatedAt: at },
    });
  }

  /** Indexes of the lease's periods under an open dispute (docs/USAGE.md): they wait for a decision. */
  async systemDisputedPeriods(leaseId: string): Promise<Set<number>> {
    const rows = await this.tx.periodDispute.findMany({
      where: { leaseId, status: 'OPEN' },
      select: { periodIndex: true },
    });
    return new Set(rows.map((row) => row.periodIndex));
  }

  async systemUsage(leaseId: string, periodStarts: readonly Date[]): Promise<Map<number, bigint>> {
    const rows = await this.tx.usageReport.findMany({
      where: { leaseId, periodStart: { in: [...periodStarts] } },
      select: { periodStart: true, gpuSeconds: true },
    });
    return new Map(rows.map((row) => [row.periodStart.getTime(), row.gpuSeconds]));
  }

  /**
   * The token counts that stand for each of the lease's periods `indexes` (docs/USAGE.md): an
   * admin's decision, else the provider's report unless a dispute in `disputed` is open on it.
   */
  async systemStandingCounts(
    leaseId: string,
    indexes: readonly number[],
    disputed: ReadonlySet<number>,
  ): Promise<Map<number, StandingTokenCounts>> {
    const rows = await this.tx.tokenUsage.findMany({
      where: { leaseId, periodIndex: { in: [...indexes] } },
      select: { periodIndex: true, source: true, promptTokens: true, outputTokens: true },
    });
    const standing = new Map<number, StandingTokenCounts>();
    for (const index of indexes) {
      const found = standingCounts(
        rows.filter((row) => row.periodIndex === index),
        disputed.has(index),
      );
      if (found !== null) {
        standing.set(index, { promptTokens: found.promptTokens, outputTokens: found.outputTokens });
      }
    }
    return standing;
  }

  /** What the lease's settled periods cost the buyer, in total. */
  async systemSettledCost(leaseId: string): Promise<bigint> {
    const total = await this.tx.leasePeriod.aggregate({ where: { leaseId }, _sum: { cost: true } });
    return total._sum.cost ?? 0n;
  }

  async systemRecordPeriods(leaseId: string, charges: readonly PeriodCharge[], at: Date): Promise<void> {
    await this.tx.leasePeriod.createMany({
      data: charges.map((charge) => ({
        leaseId,
        index: charge.index,
        startsAt: charge.startsAt,
        endsAt: charge.endsAt,
        gpuSeconds: charge.gpuSeconds,
        basis: charge.basis,
        cost: charge.cost,
        fee: charge.fee,
        settledAt: at,
        ...(charge.tokens === undefined
          ? {}
          : {
              promptTokens: charge.tokens.promptTokens,
              outputTokens: charge.tokens.outputTokens,
              billedTokens: charge.tokens.billedTokens,
              pricePerMillionTokens: charge.tokens.pricePerMillionTokens,
              payout: charge.tokens.payout,
              payoutBasis: charge.tokens.payoutBasis,
              spread: charge.tokens.spread,
            }),
      })),
    });
  }

  async systemAdvance(leaseId: string, settledPeriods: number, complete: boolean, at: Date): Promise<void> {
    await this.tx.lease.update({
      where: { id: leaseId },
      data: { settledPeriods, ...(complete ? { settlementState: 'COMPLETE' } : {}), updatedAt: at },
    });
  }

  /** Settlement gave up on the lease after its retries: an admin resolves it. */
  async systemNeedsAttention(leaseId: string, error: string, at: Date): Promise<void> {
    await this.tx.lease.updateMany({
      where: { id: leaseId, settlementState: 'OPEN' },
      data: { settlementState: 'NEEDS_ATTENTION', settlementError: error.slice(0, 1000), updatedAt: at },
    });
  }
}
