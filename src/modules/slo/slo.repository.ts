import { Injectable } from '@nestjs/common';
import type { OrganisationRole } from '@/generated/prisma/enums';
import { Tx } from '@/infra/prisma/tx';
import type { Slo, SloMethod, SloOutcome, SloSource } from './domain/slo-rules';

/** A started lease as SLO evidence and its disputes see it. */
export interface SloLease {
  id: string;
  market: string;
  currency: string;
  currencyScale: number;
  buyerOrganisationId: string;
  providerOrganisationId: string;
  status: 'SCHEDULED' | 'ACTIVE' | 'ENDED' | 'TERMINATED';
  periodSeconds: number;
  startedAt: Date | null;
  /** ACTIVE: its planned end; closed: when it ended. */
  endAt: Date | null;
  settledPeriods: number;
  slo: Slo | null;
}

export interface SloReportRecord {
  id: string;
  leaseId: string;
  periodIndex: number;
  periodStart: Date;
  periodEnd: Date;
  source: SloSource;
  method: SloMethod;
  availabilityBps: number | null;
  ttftP95Ms: number | null;
  outputTokensPerSecondPerGpu: number | null;
  note: string | null;
  signerKind: 'api_key' | 'user';
  signerId: string;
  digest: string;
  createdAt: Date;
}

export interface SloOutcomeRecord extends SloOutcome {
  leaseId: string;
  periodIndex: number;
  providerOrganisationId: string;
  creditPercent: number;
  credit: bigint;
  settledAt: Date;
}

/** An SLO dispute of a lease period, as SLO views need it. */
export interface SloDisputeRecord {
  id: string;
  periodIndex: number;
  status: 'OPEN' | 'RESOLVED';
  outcome: 'MET' | 'MISSED' | null;
  openedAt: Date;
  resolvedAt: Date | null;
}

interface LeaseRow {
  id: string;
  market: string;
  currency: string;
  currency_scale: number;
  buyer_organisation_id: string;
  provider_organisation_id: string;
  status: SloLease['status'];
  period_seconds: number;
  started_at: Date | null;
  ends_at: Date | null;
  ended_at: Date | null;
  settled_periods: number;
  slo: unknown;
}

const LEASE_COLUMNS = `l.id, m.slug AS market, m.currency, m.currency_scale, l.buyer_organisation_id,
  l.provider_organisation_id, l.status::text AS status, l.period_seconds, l.started_at, l.ends_at, l.ended_at,
  l.settled_periods, l.slo`;

// The JSON column is written only by the offers' trigger from a value parseOfferSlo produced.
const toLease = (row: LeaseRow): SloLease => ({
  id: row.id,
  market: row.market,
  currency: row.currency,
  currencyScale: row.currency_scale,
  buyerOrganisationId: row.buyer_organisation_id,
  providerOrganisationId: row.provider_organisation_id,
  status: row.status,
  periodSeconds: row.period_seconds,
  startedAt: row.started_at,
  endAt: row.status === 'ACTIVE' ? row.ends_at : (row.ended_at ?? row.ends_at),
  settledPeriods: row.settled_periods,
  slo: row.slo === null ? null : (row.slo as Slo),
});

const REPORT_SELECT = {
  id: true,
  leaseId: true,
  periodIndex: true,
  periodStart: true,
  periodEnd: true,
  source: true,
  method: true,
  availabilityBps: true,
  ttftP95Ms: true,
  outputTokensPerSecondPerGpu: true,
  note: true,
  signerKind: true,
  signerId: true,
  digest: true,
  createdAt: true,
} as const;

const toReport = (row: Omit<SloReportRecord, 'signerKind'> & { signerKind: string }): SloReportRecord => ({
  ...row,
  signerKind: row.signerKind === 'user' ? 'user' : 'api_key',
});

/**
 * SLO evidence per lease period, its outcomes at settlement, and the SLO disputes among the
 * period disputes (docs/SLO.md). Tenant methods take the organisation and its side; `system…`
 * methods are settlement's, inside its transaction.
 */
@Injectable()
export class SloRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  /**
   * The organisation's lease on its side; `lock` holds its row until the transaction ends, as
   * token statements and the settlement job do, so evidence, a dispute and the period's
   * settlement never cross.
   */
  async findLease(
    organisationId: string,
    role: OrganisationRole,
    id: string,
    lock: boolean,
  ): Promise<SloLease | null> {
    const column = role === 'BUYER' ? 'buyer_organisation_id' : 'provider_organisation_id';
    const rows = await this.tx.$queryRawUnsafe<LeaseRow[]>(
      `SELECT ${LEASE_COLUMNS} FROM leases l JOIN markets m ON m.id = l.market_id
       WHERE l.id = $1::uuid AND l.${column} = $2::uuid ${lock ? 'FOR UPDATE OF l' : ''}`,
      id,
      organisationId,
    );
    return rows[0] === undefined ? null : toLease(rows[0]);
  }

  async findReport(leaseId: string, periodIndex: number, source: SloSource): Promise<SloReportRecord | null> {
    const row = await this.tx.sloReport.findUnique({
      where: { leaseId_periodIndex_source: { leaseId, periodIndex, source } },
      select: REPORT_SELECT,
    });
    return row === null ? null : toReport(row);
  }

  async createReport(report: Omit<SloReportRecord, 'id'>): Promise<SloReportRecord> {
    return toReport(await this.tx.sloReport.create({ data: report, select: REPORT_SELECT }));
  }

  /**
   * Whether an admin rejected the buyer's failure report of the lease: its PROVIDER_FAILED
   * evidence is then withdrawn (docs/SLO.md "A failure report decided").
   */
  async failureReportRejected(leaseId: string): Promise<boolean> {
    const report = await this.tx.leaseReport.findFirst({
      where: { leaseId, kind: 'PROVIDER_FAILED', status: 'REJECTED' },
      select: { id: true },
    });
    return report !== null;
  }

  /** The lease's evidence, by period then side; `periods` narrows it to those indexes. */
  async findReports(leaseId: string, periods?: readonly number[]): Promise<SloReportRecord[]> {
    const rows = await this.tx.sloReport.findMany({
      where: { leaseId, ...(periods === undefined ? {} : { periodIndex: { in: [...periods] } }) },
      select: REPORT_SELECT,
      orderBy: [{ periodIndex: 'asc' }, { source: 'asc' }],
    });
    return rows.map(toReport);
  }

  async findOutcomes(leaseId: string): Promise<SloOutcomeRecord[]> {
    const rows = await this.tx.sloPeriodOutcome.findMany({
      where: { leaseId },
      orderBy: { periodIndex: 'asc' },
    });
    return rows.map((row) => ({
      leaseId: row.leaseId,
      periodIndex: row.periodIndex,
      providerOrganisationId: row.providerOrganisationId,
      outcome: row.outcome === 'MET' ? 'MET' : 'MISSED',
      reason: row.reason as SloOutcome['reason'],
      objectivesMissed: row.objectivesMissed as SloOutcome['objectivesMissed'],
      creditPercent: row.creditPercent,
      credit: row.credit,
      settledAt: row.settledAt,
    }));
  }

  /** The lease's SLO disputes with their decisions. */
  async findSloDisputes(leaseId: string, periods?: readonly number[]): Promise<SloDisputeRecord[]> {
    const rows = await this.tx.periodDispute.findMany({
      where: {
        leaseId,
        kind: 'SLO',
        ...(periods === undefined ? {} : { periodIndex: { in: [...periods] } }),
      },
      select: { id: true, periodIndex: true, status: true, decision: true, openedAt: true, resolvedAt: true },
      orderBy: { periodIndex: 'asc' },
    });
    return rows.map((row) => {
      // Written by PeriodDisputesService with the SLO decision type (usage/domain/period-disputes).
      const decision = row.decision as { outcome?: string } | null;
      return {
        id: row.id,
        periodIndex: row.periodIndex,
        status: row.status,
        outcome: decision?.outcome === 'MET' ? 'MET' : decision?.outcome === 'MISSED' ? 'MISSED' : null,
        openedAt: row.openedAt,
        resolvedAt: row.resolvedAt,
      };
    });
  }

  /** The SLO a settling lease copied at match, or null (settlement's transaction holds its lock). */
  async systemLeaseSlo(leaseId: string): Promise<Slo | null> {
    const rows = await this.tx.$queryRaw<Array<{ slo: unknown }>>`
      SELECT slo FROM leases WHERE id = ${leaseId}::uuid`;
    const slo = rows[0]?.slo;
    return slo === undefined || slo === null ? null : (slo as Slo);
  }

  async systemRecordOutcomes(outcomes: readonly SloOutcomeRecord[]): Promise<void> {
    if (outcomes.length === 0) return;
    await this.tx.sloPeriodOutcome.createMany({
      data: outcomes.map((outcome) => ({
        leaseId: outcome.leaseId,
        periodIndex: outcome.periodIndex,
        providerOrganisationId: outcome.providerOrganisationId,
        outcome: outcome.outcome,
        reason: outcome.reason,
        objectivesMissed: outcome.objectivesMissed,
        creditPercent: outcome.creditPercent,
        credit: outcome.credit,
        settledAt: outcome.settledAt,
      })),
    });
  }
}
