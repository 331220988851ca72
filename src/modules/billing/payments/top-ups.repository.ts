import { Injectable } from '@nestjs/common';
import type { TopUpStatus } from '@/generated/prisma/enums';
import { afterPosition, NEWEST_FIRST, type KeysetPosition } from '@/infra/pagination/cursor-codec';
import { Tx } from '@/infra/prisma/tx';

export interface TopUpRecord {
  id: string;
  organisationId: string;
  method: 'BANK_TRANSFER';
  amount: bigint;
  currency: string;
  status: TopUpStatus;
  reference: string;
  bankReference: string | null;
  decidedByUserId: string | null;
  decidedAt: Date | null;
  rejectionReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewTopUp {
  amount: bigint;
  currency: string;
  reference: string;
  at: Date;
}

export type TopUpDecision =
  { status: 'CONFIRMED'; bankReference: string } | { status: 'REJECTED'; rejectionReason: string };

const TOP_UP_SELECT = {
  id: true,
  organisationId: true,
  method: true,
  amount: true,
  currency: true,
  status: true,
  reference: true,
  bankReference: true,
  decidedByUserId: true,
  decidedAt: true,
  rejectionReason: true,
  createdAt: true,
  updatedAt: true,
} as const;

/** Buyers' top-ups. Tenant methods take the organisation's id; admin methods say so. */
@Injectable()
export class TopUpsRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  /** Serialises top-up requests per organisation until commit, so the pending cap cannot race. */
  async lockTopUpRequests(organisationId: string): Promise<void> {
    await this.tx
      .$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`top-ups:${organisationId}`}, 0))`;
  }

  async countPending(organisationId: string): Promise<number> {
    return this.tx.topUp.count({ where: { organisationId, status: 'PENDING' } });
  }

  async createTopUp(organisationId: string, topUp: NewTopUp): Promise<TopUpRecord> {
    return this.tx.topUp.create({
      data: {
        organisationId,
        method: 'BANK_TRANSFER',
        amount: topUp.amount,
        currency: topUp.currency,
        reference: topUp.reference,
        createdAt: topUp.at,
        updatedAt: topUp.at,
      },
      select: TOP_UP_SELECT,
    });
  }

  async findTopUp(organisationId: string, id: string): Promise<TopUpRecord | null> {
    return this.tx.topUp.findFirst({ where: { id, organisationId }, select: TOP_UP_SELECT });
  }

  async listTopUps(
    filter: { organisationId?: string; status?: TopUpStatus },
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<TopUpRecord[]> {
    return this.tx.topUp.findMany({
      where: {
        ...(filter.organisationId === undefined ? {} : { organisationId: filter.organisationId }),
        ...(filter.status === undefined ? {} : { status: filter.status }),
        ...afterPosition(after),
      },
      select: TOP_UP_SELECT,
      orderBy: NEWEST_FIRST,
      take: limit + 1,
    });
  }

  /** An organisation's own top-ups. */
  async listOwnTopUps(
    organisationId: string,
    status: TopUpStatus | undefined,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<TopUpRecord[]> {
    return this.listTopUps({ organisationId, status }, limit, after);
  }

  async adminFindTopUp(id: string): Promise<TopUpRecord | null> {
    return this.tx.topUp.findUnique({ where: { id }, select: TOP_UP_SELECT });
  }

  /** Decides a PENDING top-up; null when it was decided already (by this call's twin, say). */
  async adminDecideTopUp(
    id: string,
    decision: TopUpDecision,
    adminUserId: string,
    at: Date,
  ): Promise<TopUpRecord | null> {
    const { count } = await this.tx.topUp.updateMany({
      where: { id, status: 'PENDING' },
      data: { ...decision, decidedByUserId: adminUserId, decidedAt: at, updatedAt: at },
    });
    return count === 1 ? this.adminFindTopUp(id) : null;
  }
}
