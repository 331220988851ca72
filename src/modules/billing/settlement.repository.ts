import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterPrisma } from '@nestjs-cls/transactional-adapter-prisma';
import type { PrismaService } from '../../infra/prisma/prisma.service';
import type { PeriodCharge, SettlingLease } from './domain/settlement-rules';

export interface LeaseToSettle extends SettlingLease {
  market: string;
  currencyScale: number;
  settledPeriods: number;
  settlementState: 'OPEN' | 'COMPLETE' | 'NEEDS_ATTENTION';
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
  settlement_state: 'OPEN' | 'COMPLETE' | 'NEEDS_ATTENTION';
}

const SELECT = `l.id, m.slug AS market, m.currency, m.currency_scale, l.buyer_organisation_id,
  l.provider_organisation_id, l.gpus, l.price_per_gpu_hour, l.duration_hours, l.billing_mode::text AS billing_mode,
  l.fee_bps, l.pay_per_use_min_percent, l.period_seconds, l.status::text AS status,
  l.termination_reason::text AS termination_reason, l.started_at, l.ends_at, l.ended_at, l.settled_periods,
  l.settlement_state::text AS settlement_state`;

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
});

/** Settlement's reads and writes across tenants (worker only, hence `system…`). */
@Injectable()
export class SettlementRepository {
  constructor(private readonly txHost: TransactionHost<TransactionalAdapterPrisma<PrismaService>>) {}

  private get tx(): TransactionHost<TransactionalAdapterPrisma<PrismaService>>['tx'] {
    return this.txHost.tx;
  }

  /** Started leases still settling whose next period may have ended (or that have closed). */
  async systemLeasesWithPeriodsDue(now: Date, limit: number): Promise<LeaseToSettle[]> {
    const rows = await this.tx.$queryRawUnsafe<LeaseRow[]>(
      `SELECT ${SELECT} FROM leases l JOIN markets m ON m.id = l.market_id
       WHERE l.settlement_state = 'OPEN' AND l.started_at IS NOT NULL
         AND (l.status <> 'ACTIVE'
              OR l.started_at + make_interval(secs => (l.settled_periods + 1) * l.period_seconds) <= $1)
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

  async systemUsage(leaseId: string, periodStarts: readonly Date[]): Promise<Map<number, bigint>> {
    const rows = await this.tx.usageReport.findMany({
      where: { leaseId, periodStart: { in: [...periodStarts] } },
      select: { periodStart: true, gpuSeconds: true },
    });
    return new Map(rows.map((row) => [row.periodStart.getTime(), row.gpuSeconds]));
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
