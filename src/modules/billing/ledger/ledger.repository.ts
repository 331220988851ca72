import { Injectable } from '@nestjs/common';
import type { KeysetPosition } from '@/infra/pagination/cursor-codec';
import type { OrganisationAccountKind, TransferDraft, TransferKind } from './domain/ledger-rules';
import { Prisma } from '@/generated/prisma/client';
import { Tx } from '@/infra/prisma/tx';

export interface AccountBalance {
  kind: OrganisationAccountKind;
  currency: string;
  balance: bigint;
}

export interface TrialBalanceRecord {
  kind: string;
  currency: string;
  accounts: number;
  balance: bigint;
}

export interface EntryRecord {
  id: string;
  createdAt: Date;
  amount: bigint;
  accountKind: OrganisationAccountKind;
  currency: string;
  transfer: {
    id: string;
    kind: TransferKind;
    memo: string | null;
    bidId: string | null;
    leaseId: string | null;
    topUpId: string | null;
  };
}

export interface OwnLimits {
  spendCap: bigint | null;
  lowBalanceThreshold: bigint | null;
}

export interface LockedBalances extends OwnLimits {
  balances: AccountBalance[];
}

/** A posting another repository's statement carries (`postTransfersSql`), and how many transfers it holds. */
export interface LedgerPosting {
  readonly sql: Prisma.Sql;
  readonly transfers: number;
}

/** Raised when a posting would take an organisation account below zero (the trigger's check). */
export class LedgerOverdrawnError extends Error {
  override readonly name = 'LedgerOverdrawnError';
}

/**
 * The posting of `transfers` as a SELECT of the keys it posted: ledger_post_transfers (migration
 * `ledger_posting_function`) runs it as one statement whose plan the session keeps (sent inline,
 * it was planned at every call), its triggers checking every rule. Another repository's statement
 * may carry it (a group commit's holds, `HoldPosting`).
 */
export const postTransfersSql = (transfers: readonly TransferDraft[], at: Date): Prisma.Sql => {
  const entries = transfers.flatMap((t) => t.entries.map((entry) => ({ key: t.key, entry })));
  return Prisma.sql`
    SELECT p.key FROM ledger_post_transfers(
      ${transfers.map((t) => t.key)}::text[], ${transfers.map((t) => t.kind)}::text[],
      ${transfers.map((t) => t.currency)}::text[], ${transfers.map((t) => t.organisationId ?? '')}::text[],
      ${transfers.map((t) => t.bidId ?? '')}::text[], ${transfers.map((t) => t.leaseId ?? '')}::text[],
      ${transfers.map((t) => t.topUpId ?? '')}::text[], ${transfers.map((t) => t.memo ?? '')}::text[],
      ${entries.map((e) => e.key)}::text[], ${entries.map((e) => e.entry.account.organisationId ?? '')}::text[],
      ${entries.map((e) => e.entry.account.kind)}::text[], ${entries.map((e) => e.entry.amount.toString())}::bigint[],
      ${at}::timestamptz) AS p(key)`;
};

/**
 * The ledger's tables. Transfers are posted with their entries in one statement (the database
 * checks balance at its end), entries in account-id order so concurrent postings lock accounts
 * in one order and cannot deadlock each other. A transfer whose key exists is skipped. Each
 * entry finds its account by the unique (organisation, kind, currency) index: an organisation's
 * by equality, a system account's by `IS NULL` (a join `IS NOT DISTINCT FROM` cannot use the
 * index and read every account of every organisation at each posting). That statement lives in
 * the database function `ledger_post_transfers`, which keeps its plan for the session.
 */
@Injectable()
export class LedgerRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  /** Posts transfers not posted before; returns the keys it posted. */
  async postTransfers(transfers: readonly TransferDraft[], at: Date): Promise<string[]> {
    if (transfers.length === 0) return [];
    try {
      const rows = await this.tx.$queryRaw<Array<{ key: string }>>`${postTransfersSql(transfers, at)}`;
      return rows.map((row) => row.key);
    } catch (error) {
      if (String((error as Error).message).includes('ledger_insufficient_funds')) {
        throw new LedgerOverdrawnError((error as Error).message);
      }
      throw error;
    }
  }

  /** `postTransfers` for another repository's statement to run (a group commit's holds). */
  postingOf(transfers: readonly TransferDraft[], at: Date): LedgerPosting {
    return { sql: postTransfersSql(transfers, at), transfers: transfers.length };
  }

  /**
   * An organisation's balances in one currency, locked until the transaction ends, with its own
   * limits in that currency (read in the same statement: a placement reads nothing twice).
   */
  async lockBalances(organisationId: string, currency: string): Promise<LockedBalances> {
    const rows = await this.tx.$queryRaw<Array<AccountBalance & OwnLimits>>`
      SELECT a.kind::text AS kind, a.currency, a.balance,
             l.spend_cap AS "spendCap", l.low_balance_threshold AS "lowBalanceThreshold"
      FROM ledger_accounts a
      LEFT JOIN billing_limits l ON l.organisation_id = a.organisation_id AND l.currency = a.currency
      WHERE a.organisation_id = ${organisationId}::uuid AND a.currency = ${currency}
      ORDER BY a.id FOR UPDATE OF a`;
    return {
      balances: rows.map(({ kind, currency: c, balance }) => ({ kind, currency: c, balance })),
      spendCap: rows[0]?.spendCap ?? null,
      lowBalanceThreshold: rows[0]?.lowBalanceThreshold ?? null,
    };
  }

  /**
   * Available balances (as the transaction sees them) of those organisation/currency pairs that
   * have a low-balance threshold set; pairs without one are left out.
   */
  async availableWithThresholds(
    pairs: ReadonlyArray<{ organisationId: string; currency: string }>,
  ): Promise<Array<{ organisationId: string; currency: string; balance: bigint; threshold: bigint }>> {
    if (pairs.length === 0) return [];
    return this.tx.$queryRaw`
      SELECT a.organisation_id::text AS "organisationId", a.currency, a.balance,
             l.low_balance_threshold AS threshold
      FROM unnest(${pairs.map((p) => p.organisationId)}::uuid[], ${pairs.map((p) => p.currency)}::text[])
        AS p(organisation_id, currency)
      JOIN billing_limits l ON l.organisation_id = p.organisation_id AND l.currency = p.currency
      JOIN ledger_accounts a ON a.organisation_id = p.organisation_id AND a.currency = p.currency
       AND a.kind = 'BUYER_AVAILABLE'
      WHERE l.low_balance_threshold IS NOT NULL`;
  }

  async findBalances(organisationId: string): Promise<AccountBalance[]> {
    const rows = await this.tx.ledgerAccount.findMany({
      where: { organisationId },
      select: { kind: true, currency: true, balance: true },
      orderBy: [{ currency: 'asc' }, { kind: 'asc' }],
    });
    return rows.map((row) => ({ ...row, kind: row.kind as OrganisationAccountKind }));
  }

  /**
   * Every account kind's total per currency: organisation accounts by their cached balances,
   * system accounts (few, unbounded entries) by summing their entries, as the ledger keeps them.
   */
  async adminTrialBalance(): Promise<TrialBalanceRecord[]> {
    return this.tx.$queryRaw<TrialBalanceRecord[]>`
      SELECT a.kind::text AS kind, a.currency, COUNT(*)::int AS accounts,
             SUM(CASE WHEN a.organisation_id IS NULL
                      THEN (SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e WHERE e.account_id = a.id)
                      ELSE a.balance END)::bigint AS balance
      FROM ledger_accounts a
      GROUP BY a.kind, a.currency
      ORDER BY a.currency, a.kind`;
  }

  /** An organisation's entries, newest first by entry id (the order they were written), keyset-paginated. */
  async listEntries(
    organisationId: string,
    filter: { currency?: string },
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<EntryRecord[]> {
    const rows = await this.tx.ledgerEntry.findMany({
      where: {
        account: { organisationId, ...(filter.currency === undefined ? {} : { currency: filter.currency }) },
        ...(after === undefined ? {} : { id: { lt: BigInt(after.id) } }),
      },
      select: {
        id: true,
        createdAt: true,
        amount: true,
        account: { select: { kind: true, currency: true } },
        transfer: {
          select: { id: true, kind: true, memo: true, bidId: true, leaseId: true, topUpId: true },
        },
      },
      orderBy: { id: 'desc' },
      take: limit + 1,
    });
    return rows.map((row) => ({
      id: row.id.toString(),
      createdAt: row.createdAt,
      amount: row.amount,
      accountKind: row.account.kind as OrganisationAccountKind,
      currency: row.account.currency,
      transfer: row.transfer,
    }));
  }
}
