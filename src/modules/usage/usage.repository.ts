import { Injectable } from '@nestjs/common';
import type { OrganisationRole, TokenCountSource } from '@/generated/prisma/enums';
import type { KeysetPosition } from '@/infra/pagination/cursor-codec';
import { Tx } from '@/infra/prisma/tx';
import type {
  DisputeDecision,
  DisputeEvidence,
  PeriodDisputeKind,
  PeriodDisputeStatus,
} from './domain/period-disputes';
import type { LeaseForTokens } from './domain/token-usage-rules';

export type { TokenCountSource };

/** A lease locked for counting its tokens: the settlement job takes the same lock. */
export interface LockedLease extends LeaseForTokens {
  id: string;
  market: string;
  offerId: string;
  /** The inference model the lease serves; null for a GPU lease. */
  modelId: string | null;
  buyerOrganisationId: string;
  providerOrganisationId: string;
  settledPeriods: number;
}

export interface TokenCountsRecord {
  id: string;
  leaseId: string;
  periodIndex: number;
  periodStart: Date;
  periodEnd: Date;
  source: TokenCountSource;
  promptTokens: bigint;
  outputTokens: bigint;
  createdAt: Date;
}

export interface PeriodDisputeRecord {
  id: string;
  leaseId: string;
  buyerOrganisationId: string;
  providerOrganisationId: string;
  periodIndex: number;
  periodStart: Date;
  periodEnd: Date;
  kind: PeriodDisputeKind;
  status: PeriodDisputeStatus;
  evidence: DisputeEvidence;
  decision: DisputeDecision | null;
  holdsSettlement: boolean;
  /** When it opened (named for keyset pages). */
  createdAt: Date;
  resolvedAt: Date | null;
  resolvedByUserId: string | null;
  resolutionNote: string | null;
}

export interface UsageFlagRecord {
  id: string;
  leaseId: string;
  periodIndex: number;
  periodStart: Date;
  source: TokenCountSource;
  promptTokens: bigint;
  outputTokens: bigint;
  periodGpuSeconds: bigint;
  neededGpuSeconds: number;
  basis: string;
  createdAt: Date;
  reviewedAt: Date | null;
  reviewedByUserId: string | null;
  reviewNote: string | null;
}

export type NewUsageFlag = Omit<UsageFlagRecord, 'id' | 'reviewedAt' | 'reviewedByUserId' | 'reviewNote'>;

const COUNTS_SELECT = {
  id: true,
  leaseId: true,
  periodIndex: true,
  periodStart: true,
  periodEnd: true,
  source: true,
  promptTokens: true,
  outputTokens: true,
  createdAt: true,
} as const;

const DISPUTE_SELECT = {
  id: true,
  leaseId: true,
  periodIndex: true,
  periodStart: true,
  periodEnd: true,
  kind: true,
  status: true,
  evidence: true,
  decision: true,
  holdsSettlement: true,
  openedAt: true,
  resolvedAt: true,
  resolvedByUserId: true,
  resolutionNote: true,
  lease: { select: { buyerOrganisationId: true, providerOrganisationId: true } },
} as const;

interface DisputeRow {
  id: string;
  leaseId: string;
  periodIndex: number;
  periodStart: Date;
  periodEnd: Date;
  kind: PeriodDisputeKind;
  status: PeriodDisputeStatus;
  evidence: unknown;
  decision: unknown;
  holdsSettlement: boolean;
  openedAt: Date;
  resolvedAt: Date | null;
  resolvedByUserId: string | null;
  resolutionNote: string | null;
  lease: { buyerOrganisationId: string; providerOrganisationId: string };
}

// The JSON columns are written only through this repository, with the types of domain/period-disputes.
const toDispute = ({ openedAt, lease, evidence, decision, ...row }: DisputeRow): PeriodDisputeRecord => ({
  ...row,
  buyerOrganisationId: lease.buyerOrganisationId,
  providerOrganisationId: lease.providerOrganisationId,
  evidence: evidence as DisputeEvidence,
  decision: decision === null ? null : (decision as DisputeDecision),
  createdAt: openedAt,
});

const FLAG_SELECT = {
  id: true,
  leaseId: true,
  periodIndex: true,
  periodStart: true,
  source: true,
  promptTokens: true,
  outputTokens: true,
  periodGpuSeconds: true,
  neededGpuSeconds: true,
  basis: true,
  createdAt: true,
  reviewedAt: true,
  reviewedByUserId: true,
  reviewNote: true,
} as const;

const keysetAfter = (after: KeysetPosition | undefined, column: 'openedAt' | 'createdAt'): object =>
  after === undefined
    ? {}
    : {
        OR: [{ [column]: { lt: after.createdAt } }, { [column]: after.createdAt, id: { lt: after.id } }],
      };

/**
 * Token counts per lease period, period disputes and usage flags (docs/USAGE.md). Tenant methods
 * take the organisation and its side; `admin…` methods read across tenants for platform admins.
 */
@Injectable()
export class UsageRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  /**
   * The organisation's lease on its side, locked until the transaction ends: a report, its
   * dispute and the period's settlement (which takes the same lock) never cross.
   */
  async lockLease(organisationId: string, role: OrganisationRole, id: string): Promise<LockedLease | null> {
    const column = role === 'BUYER' ? 'buyer_organisation_id' : 'provider_organisation_id';
    const rows = await this.tx.$queryRawUnsafe<LockedLeaseRow[]>(
      `SELECT ${LEASE_COLUMNS} FROM leases l JOIN markets m ON m.id = l.market_id
       WHERE l.id = $1::uuid AND l.${column} = $2::uuid FOR UPDATE OF l`,
      id,
      organisationId,
    );
    return rows[0] === undefined ? null : toLockedLease(rows[0]);
  }

  /**
   * The buyer's failure report, once decided, when it is the buyer's evidence for the period
   * (its PROVIDER_FAILED evidence, docs/SLO.md "A failure report decided"); null otherwise.
   */
  async decidedFailureReportOf(
    leaseId: string,
    periodIndex: number,
  ): Promise<{ id: string; status: 'CONFIRMED' | 'REJECTED' } | null> {
    const evidence = await this.tx.sloReport.findFirst({
      where: { leaseId, periodIndex, source: 'BUYER', method: 'PROVIDER_FAILED' },
      select: { id: true },
    });
    if (evidence === null) return null;
    const report = await this.tx.leaseReport.findFirst({
      where: { leaseId, kind: 'PROVIDER_FAILED', status: { in: ['CONFIRMED', 'REJECTED'] } },
      select: { id: true, status: true },
    });
    return report === null ? null : { id: report.id, status: report.status as 'CONFIRMED' | 'REJECTED' };
  }

  /** Any lease, locked as above, for an admin deciding one of its disputes. */
  async adminLockLease(id: string): Promise<LockedLease | null> {
    const rows = await this.tx.$queryRawUnsafe<LockedLeaseRow[]>(
      `SELECT ${LEASE_COLUMNS} FROM leases l JOIN markets m ON m.id = l.market_id
       WHERE l.id = $1::uuid FOR UPDATE OF l`,
      id,
    );
    return rows[0] === undefined ? null : toLockedLease(rows[0]);
  }

  /** Whether the organisation is a side of the lease (reads are 404 otherwise). */
  async isParty(organisationId: string, role: OrganisationRole, id: string): Promise<boolean> {
    const side =
      role === 'BUYER' ? { buyerOrganisationId: organisationId } : { providerOrganisationId: organisationId };
    return (await this.tx.lease.count({ where: { id, ...side } })) === 1;
  }

  async findCounts(
    leaseId: string,
    source: TokenCountSource,
    periodStart: Date,
  ): Promise<TokenCountsRecord | null> {
    return this.tx.tokenUsage.findFirst({ where: { leaseId, source, periodStart }, select: COUNTS_SELECT });
  }

  /** The latest period the source stated counts for, or null. */
  async latestPeriodIndex(leaseId: string, source: TokenCountSource): Promise<number | null> {
    const row = await this.tx.tokenUsage.findFirst({
      where: { leaseId, source },
      orderBy: { periodIndex: 'desc' },
      select: { periodIndex: true },
    });
    return row?.periodIndex ?? null;
  }

  async createCounts(row: Omit<TokenCountsRecord, 'id'>): Promise<TokenCountsRecord> {
    return this.tx.tokenUsage.create({ data: row, select: COUNTS_SELECT });
  }

  /** Every source's counts of the lease, by period. */
  async findLeaseCounts(leaseId: string): Promise<TokenCountsRecord[]> {
    return this.tx.tokenUsage.findMany({
      where: { leaseId },
      select: COUNTS_SELECT,
      orderBy: [{ periodIndex: 'asc' }, { source: 'asc' }],
    });
  }

  async findLeaseDisputes(leaseId: string): Promise<PeriodDisputeRecord[]> {
    const rows = await this.tx.periodDispute.findMany({
      where: { leaseId },
      select: DISPUTE_SELECT,
      orderBy: [{ periodIndex: 'asc' }, { kind: 'asc' }],
    });
    return rows.map(toDispute);
  }

  async findDispute(
    leaseId: string,
    periodIndex: number,
    kind: PeriodDisputeKind,
  ): Promise<PeriodDisputeRecord | null> {
    const row = await this.tx.periodDispute.findUnique({
      where: { leaseId_periodIndex_kind: { leaseId, periodIndex, kind } },
      select: DISPUTE_SELECT,
    });
    return row === null ? null : toDispute(row);
  }

  async openDispute(dispute: {
    leaseId: string;
    periodIndex: number;
    periodStart: Date;
    periodEnd: Date;
    kind: PeriodDisputeKind;
    evidence: DisputeEvidence;
    holdsSettlement: boolean;
    at: Date;
  }): Promise<PeriodDisputeRecord> {
    const row = await this.tx.periodDispute.create({
      data: {
        leaseId: dispute.leaseId,
        periodIndex: dispute.periodIndex,
        periodStart: dispute.periodStart,
        periodEnd: dispute.periodEnd,
        kind: dispute.kind,
        evidence: { ...dispute.evidence },
        holdsSettlement: dispute.holdsSettlement,
        openedAt: dispute.at,
      },
      select: DISPUTE_SELECT,
    });
    return toDispute(row);
  }

  /** The lease id of a dispute, unlocked: the caller locks the lease, then the dispute. */
  async adminFindDisputeLease(id: string): Promise<string | null> {
    const row = await this.tx.periodDispute.findUnique({ where: { id }, select: { leaseId: true } });
    return row?.leaseId ?? null;
  }

  async adminFindDispute(id: string): Promise<PeriodDisputeRecord | null> {
    const row = await this.tx.periodDispute.findUnique({ where: { id }, select: DISPUTE_SELECT });
    return row === null ? null : toDispute(row);
  }

  /** Disputes in one status, newest first. */
  async adminListDisputes(
    status: PeriodDisputeStatus,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<PeriodDisputeRecord[]> {
    const rows = await this.tx.periodDispute.findMany({
      where: { status, ...keysetAfter(after, 'openedAt') },
      select: DISPUTE_SELECT,
      orderBy: [{ openedAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
    });
    return rows.map(toDispute);
  }

  /** Records the decision on an OPEN dispute; false when it was no longer OPEN. */
  async adminResolveDispute(
    id: string,
    decision: DisputeDecision,
    by: { userId: string; note: string; at: Date },
  ): Promise<boolean> {
    const { count } = await this.tx.periodDispute.updateMany({
      where: { id, status: 'OPEN' },
      data: {
        status: 'RESOLVED',
        decision: { ...decision },
        resolvedAt: by.at,
        resolvedByUserId: by.userId,
        resolutionNote: by.note,
      },
    });
    return count === 1;
  }

  async createFlag(flag: NewUsageFlag): Promise<UsageFlagRecord> {
    return this.tx.usageFlag.create({ data: flag, select: FLAG_SELECT });
  }

  /** Flags not yet reviewed (or reviewed), newest first. */
  async adminListFlags(
    reviewed: boolean,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<UsageFlagRecord[]> {
    return this.tx.usageFlag.findMany({
      where: { reviewedAt: reviewed ? { not: null } : null, ...keysetAfter(after, 'createdAt') },
      select: FLAG_SELECT,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
    });
  }

  /** Marks a flag reviewed; false when it was already. */
  async adminReviewFlag(id: string, by: { userId: string; note: string; at: Date }): Promise<boolean> {
    const { count } = await this.tx.usageFlag.updateMany({
      where: { id, reviewedAt: null },
      data: { reviewedAt: by.at, reviewedByUserId: by.userId, reviewNote: by.note },
    });
    return count === 1;
  }

  async adminFindFlag(id: string): Promise<UsageFlagRecord | null> {
    return this.tx.usageFlag.findUnique({ where: { id }, select: FLAG_SELECT });
  }
}

interface LockedLeaseRow {
  id: string;
  market: string;
  offer_id: string;
  inference_model_id: string | null;
  buyer_organisation_id: string;
  provider_organisation_id: string;
  status: LeaseForTokens['status'];
  gpus: number;
  period_seconds: number;
  started_at: Date | null;
  ends_at: Date | null;
  ended_at: Date | null;
  settled_periods: number;
}

const LEASE_COLUMNS = `l.id, m.slug AS market, l.offer_id, l.inference_model_id::text, l.buyer_organisation_id, l.provider_organisation_id,
  l.status::text AS status, l.gpus, l.period_seconds, l.started_at, l.ends_at, l.ended_at, l.settled_periods`;

const toLockedLease = (row: LockedLeaseRow): LockedLease => ({
  id: row.id,
  market: row.market,
  offerId: row.offer_id,
  modelId: row.inference_model_id,
  buyerOrganisationId: row.buyer_organisation_id,
  providerOrganisationId: row.provider_organisation_id,
  status: row.status,
  gpus: row.gpus,
  periodSeconds: row.period_seconds,
  startedAt: row.started_at,
  endAt: row.status === 'ACTIVE' ? row.ends_at : (row.ended_at ?? row.ends_at),
  settledPeriods: row.settled_periods,
});
