import { Injectable } from '@nestjs/common';
import type { KeysetPosition } from '@/infra/pagination/cursor-codec';
import {
  LedgerRepository,
  type AccountBalance,
  type EntryRecord,
  type TrialBalanceRecord,
} from './ledger.repository';

export type { AccountBalance, EntryRecord, TrialBalanceRecord } from './ledger.repository';

/** The ledger's reads for statements (balances, entries, trial balance); every write goes through LedgerService. */
@Injectable()
export class LedgerQueryService {
  constructor(private readonly ledger: LedgerRepository) {}

  findBalances(organisationId: string): Promise<AccountBalance[]> {
    return this.ledger.findBalances(organisationId);
  }

  adminTrialBalance(): Promise<TrialBalanceRecord[]> {
    return this.ledger.adminTrialBalance();
  }

  listEntries(
    organisationId: string,
    filter: { currency?: string },
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<EntryRecord[]> {
    return this.ledger.listEntries(organisationId, filter, limit, after);
  }
}
