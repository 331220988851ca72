import { Injectable } from '@nestjs/common';
import type { PayoutStatus } from '@/generated/prisma/enums';
import { afterPosition, NEWEST_FIRST, type KeysetPosition } from '@/infra/pagination/cursor-codec';
import type { PayoutSource } from '@/modules/billing/ledger/domain/ledger-rules';
import { Tx } from '@/infra/prisma/tx';

export interface BankAccountRecord {
  beneficiary: string;
  bankName: string;
  accountSealed: Uint8Array;
  accountLast4: string;
  updatedAt: Date;
}

export interface PayoutRecord {
  id: string;
  organisationId: string;
  source: PayoutSource;
  amount: bigint;
  currency: string;
  status: PayoutStatus;
  beneficiary: string;
  bankName: string;
  accountSealed: Uint8Array;
  accountLast4: string;
  bankReference: string | null;
  rejectionReason: string | null;
  createdAt: Date;
  decidedAt: Date | null;
}

const PAYOUT_SELECT = {
  id: true,
  organisationId: true,
  source: true,
  amount: true,
  currency: true,
  status: true,
  beneficiary: true,
  bankName: true,
  accountSealed: true,
  accountLast4: true,
  bankReference: true,
  rejectionReason: true,
  createdAt: true,
  decidedAt: true,
} as const;

export type PayoutDecision =
  { status: 'PAID'; bankReference: string } | { status: 'REJECTED'; rejectionReason: string };

/** Bank accounts and payouts. Tenant methods take the organisation's id; admin methods say so. */
@Injectable()
export class PayoutsRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  async findBankAccount(organisationId: string): Promise<BankAccountRecord | null> {
    return this.tx.bankAccount.findUnique({
      where: { organisationId },
      select: { beneficiary: true, bankName: true, accountSealed: true, accountLast4: true, updatedAt: true },
    });
  }

  async saveBankAccount(
    organisationId: string,
    account: { beneficiary: string; bankName: string; accountSealed: Uint8Array; accountLast4: string },
    at: Date,
  ): Promise<BankAccountRecord> {
    const data = { ...account, accountSealed: Buffer.from(account.accountSealed), updatedAt: at };
    return this.tx.bankAccount.upsert({
      where: { organisationId },
      create: { organisationId, ...data, createdAt: at },
      update: data,
      select: { beneficiary: true, bankName: true, accountSealed: true, accountLast4: true, updatedAt: true },
    });
  }

  /** Serialises payout requests per organisation until commit, so the pending cap cannot race. */
  async lockPayoutRequests(organisationId: string): Promise<void> {
    await this.tx
      .$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`payouts:${organisationId}`}, 0))`;
  }

  async countPending(organisationId: string): Promise<number> {
    return this.tx.payout.count({ where: { organisationId, status: 'PENDING' } });
  }

  async createPayout(
    organisationId: string,
    payout: { source: PayoutSource; amount: bigint; currency: string; account: BankAccountRecord },
    at: Date,
  ): Promise<PayoutRecord> {
    const row = await this.tx.payout.create({
      data: {
        organisationId,
        source: payout.source,
        amount: payout.amount,
        currency: payout.currency,
        beneficiary: payout.account.beneficiary,
        bankName: payout.account.bankName,
        accountSealed: Buffer.from(payout.account.accountSealed),
        accountLast4: payout.account.accountLast4,
        createdAt: at,
        updatedAt: at,
      },
      select: PAYOUT_SELECT,
    });
    return { ...row, source: row.source as PayoutSource };
  }

  async findPayout(organisationId: string, id: string): Promise<PayoutRecord | null> {
    const row = await this.tx.payout.findFirst({ where: { id, organisationId }, select: PAYOUT_SELECT });
    return row && { ...row, source: row.source as PayoutSource };
  }

  async listPayouts(
    filter: { organisationId?: string; status?: PayoutStatus },
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<PayoutRecord[]> {
    const rows = await this.tx.payout.findMany({
      where: {
        ...(filter.organisationId === undefined ? {} : { organisationId: filter.organisationId }),
        ...(filter.status === undefined ? {} : { status: filter.status }),
        ...afterPosition(after),
      },
      select: PAYOUT_SELECT,
      orderBy: NEWEST_FIRST,
      take: limit + 1,
    });
    return rows.map((row) => ({ ...row, source: row.source as PayoutSource }));
  }

  async adminFindPayout(id: string): Promise<PayoutRecord | null> {
    const row = await this.tx.payout.findUnique({ where: { id }, select: PAYOUT_SELECT });
    return row && { ...row, source: row.source as PayoutSource };
  }

  /** Decides a PENDING payout; null when it was decided already. */
  async adminDecidePayout(
    id: string,
    decision: PayoutDecision,
    adminUserId: string,
    at: Date,
  ): Promise<PayoutRecord | null> {
    const { count } = await this.tx.payout.updateMany({
      where: { id, status: 'PENDING' },
      data: { ...decision, decidedByUserId: adminUserId, decidedAt: at, updatedAt: at },
    });
    return count === 1 ? this.adminFindPayout(id) : null;
  }
}
