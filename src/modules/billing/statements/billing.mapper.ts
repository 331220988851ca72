import { formatMoney } from '@/shared/money';
import type { BalanceResponse, CurrencyBalanceResponse, LedgerEntryResponse } from './dto/balance.dto';
import type { AccountBalance, EntryRecord } from '@/modules/billing/ledger/ledger-query.service';

/** Balances and ledger entries to API shapes; money as decimal strings in the currency's scale. */
export const BillingMapper = {
  balances(rows: readonly AccountBalance[], scaleOf: (currency: string) => number): BalanceResponse {
    const byCurrency = new Map<string, CurrencyBalanceResponse>();
    for (const row of rows) {
      const entry = byCurrency.get(row.currency) ?? { currency: row.currency };
      const amount = formatMoney(row.balance, scaleOf(row.currency));
      if (row.kind === 'BUYER_AVAILABLE') entry.available = amount;
      else if (row.kind === 'BUYER_HELD') entry.held = amount;
      // The receivable's balance is minus what is owed.
      else if (row.kind === 'PROVIDER_RECEIVABLE')
        entry.owed = formatMoney(-row.balance, scaleOf(row.currency));
      else entry.earnings = amount;
      byCurrency.set(row.currency, entry);
    }
    return { balances: [...byCurrency.values()] };
  },

  entry(row: EntryRecord, scale: number): LedgerEntryResponse {
    return {
      id: row.id,
      createdAt: row.createdAt.toISOString(),
      account: row.accountKind,
      amount: formatMoney(row.amount, scale),
      currency: row.currency,
      transferId: row.transfer.id,
      kind: row.transfer.kind,
      memo: row.transfer.memo,
      bidId: row.transfer.bidId,
      leaseId: row.transfer.leaseId,
      topUpId: row.transfer.topUpId,
    };
  },
};
