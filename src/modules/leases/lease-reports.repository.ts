import { Injectable } from '@nestjs/common';
import type { LeaseReportPhase, LeaseReportStatus } from '@/generated/prisma/enums';
import { Tx } from '@/infra/prisma/tx';

export interface LeaseReportRecord {
  id: string;
  leaseId: string;
  buyerOrganisationId: string;
  providerOrganisationId: string;
  kind: 'PROVIDER_FAILED';
  phase: LeaseReportPhase;
  observedAt: Date;
  reportedAt: Date;
  detail: string | null;
  status: LeaseReportStatus;
  decidedAt: Date | null;
  decidedByUserId: string | null;
  decisionNote: string | null;
}

const SELECT = {
  id: true,
  leaseId: true,
  buyerOrganisationId: true,
  providerOrganisationId: true,
  kind: true,
  phase: true,
  observedAt: true,
  reportedAt: true,
  detail: true,
  status: true,
  decidedAt: true,
  decidedByUserId: true,
  decisionNote: true,
} as const;

/**
 * Buyers' reports about their leases (docs/LEASES.md "Reporting a provider failure"): evidence
 * both sides of the lease read, that the SLO and dispute flows consume, and that an admin decides.
 */
@Injectable()
export class LeaseReportsRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  async findFailureReport(leaseId: string): Promise<LeaseReportRecord | null> {
    return this.tx.leaseReport.findUnique({
      where: { leaseId_kind: { leaseId, kind: 'PROVIDER_FAILED' } },
      select: SELECT,
    });
  }

  async createFailureReport(report: {
    leaseId: string;
    buyerOrganisationId: string;
    providerOrganisationId: string;
    phase: LeaseReportPhase;
    observedAt: Date;
    reportedAt: Date;
    detail: string | null;
  }): Promise<LeaseReportRecord> {
    return this.tx.leaseReport.create({ data: { ...report, kind: 'PROVIDER_FAILED' }, select: SELECT });
  }

  /** The reports on a lease of the organisation's side (the caller checked the side). */
  async listForLease(leaseId: string): Promise<LeaseReportRecord[]> {
    return this.tx.leaseReport.findMany({
      where: { leaseId },
      orderBy: { reportedAt: 'asc' },
      select: SELECT,
    });
  }

  /** The lease a report is of, unlocked (to take the lease's lock first); null when none. */
  async adminFindReportLease(id: string): Promise<string | null> {
    const row = await this.tx.leaseReport.findUnique({ where: { id }, select: { leaseId: true } });
    return row?.leaseId ?? null;
  }

  /** Any report, row-locked until the transaction ends, for an admin deciding it. */
  async adminLockReport(id: string): Promise<LeaseReportRecord | null> {
    const rows = await this.tx.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM lease_reports WHERE id = ${id}::uuid FOR UPDATE`;
    if (rows.length === 0) return null;
    return this.tx.leaseReport.findUnique({ where: { id }, select: SELECT });
  }

  /** Decides an OPEN report; null when it was decided already. */
  async adminDecide(
    id: string,
    decision: { status: 'CONFIRMED' | 'REJECTED'; note: string; userId: string; at: Date },
  ): Promise<LeaseReportRecord | null> {
    const { count } = await this.tx.leaseReport.updateMany({
      where: { id, status: 'OPEN' },
      data: {
        status: decision.status,
        decisionNote: decision.note,
        decidedByUserId: decision.userId,
        decidedAt: decision.at,
      },
    });
    return count === 1 ? this.tx.leaseReport.findUnique({ where: { id }, select: SELECT }) : null;
  }

  /** Reports by status, newest first, for an admin's queue. */
  async adminList(status: LeaseReportStatus, limit: number): Promise<LeaseReportRecord[]> {
    return this.tx.leaseReport.findMany({
      where: { status },
      orderBy: [{ reportedAt: 'desc' }, { id: 'desc' }],
      take: limit,
      select: SELECT,
    });
  }
}
