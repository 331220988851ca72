import type { CsvColumn } from '@/infra/http/csv';
import type { CurrencyBalanceResponse, LedgerEntryResponse } from './dto/balance.dto';
import type {
  EarningsAdjustmentResponse,
  EarningsGroupResponse,
  EarningsResponse,
  InvoiceLineResponse,
  InvoiceResponse,
} from './dto/statement.dto';

/** The columns of each statement's CSV: the JSON fields, flattened, amounts as the same strings. */
export const BALANCE_COLUMNS: CsvColumn<CurrencyBalanceResponse>[] = [
  { header: 'currency', value: (r) => r.currency },
  { header: 'available', value: (r) => r.available },
  { header: 'held', value: (r) => r.held },
  { header: 'earnings', value: (r) => r.earnings },
  { header: 'owed', value: (r) => r.owed },
];

export const ENTRY_COLUMNS: CsvColumn<LedgerEntryResponse>[] = [
  { header: 'id', value: (r) => r.id },
  { header: 'createdAt', value: (r) => r.createdAt },
  { header: 'account', value: (r) => r.account },
  { header: 'amount', value: (r) => r.amount },
  { header: 'currency', value: (r) => r.currency },
  { header: 'transferId', value: (r) => r.transferId },
  { header: 'kind', value: (r) => r.kind },
  { header: 'memo', value: (r) => r.memo, text: true },
  { header: 'bidId', value: (r) => r.bidId },
  { header: 'leaseId', value: (r) => r.leaseId },
  { header: 'topUpId', value: (r) => r.topUpId },
];

export const INVOICE_COLUMNS: CsvColumn<InvoiceResponse>[] = [
  { header: 'id', value: (r) => r.id },
  { header: 'number', value: (r) => r.number },
  { header: 'leaseId', value: (r) => r.leaseId },
  { header: 'market', value: (r) => r.market },
  { header: 'currency', value: (r) => r.currency },
  { header: 'issueDate', value: (r) => r.issueDate },
  { header: 'issuedAt', value: (r) => r.issuedAt },
  { header: 'supplyFrom', value: (r) => r.supplyFrom },
  { header: 'supplyTo', value: (r) => r.supplyTo },
  { header: 'sellerName', value: (r) => r.seller.name, text: true },
  { header: 'sellerTaxId', value: (r) => r.seller.taxId },
  { header: 'buyerName', value: (r) => r.buyer.name, text: true },
  { header: 'buyerTaxId', value: (r) => r.buyer.taxId },
  { header: 'buyerAddress', value: (r) => r.buyer.address, text: true },
  { header: 'buyerCountryCode', value: (r) => r.buyer.countryCode },
  { header: 'net', value: (r) => r.net },
  { header: 'vatRateBps', value: (r) => r.vatRateBps },
  { header: 'vat', value: (r) => r.vat },
  { header: 'gross', value: (r) => r.gross },
  { header: 'sloCredits', value: (r) => r.sloCredits },
  { header: 'penaltyCredit', value: (r) => r.penaltyCredit },
];

export const INVOICE_LINE_COLUMNS: CsvColumn<InvoiceLineResponse>[] = [
  { header: 'period', value: (r) => r.period },
  { header: 'startsAt', value: (r) => r.startsAt },
  { header: 'endsAt', value: (r) => r.endsAt },
  { header: 'gpuSeconds', value: (r) => r.gpuSeconds },
  { header: 'basis', value: (r) => r.basis },
  { header: 'unitPrice', value: (r) => r.unitPrice },
  { header: 'amount', value: (r) => r.amount },
  { header: 'promptTokens', value: (r) => r.promptTokens },
  { header: 'outputTokens', value: (r) => r.outputTokens },
  { header: 'billedTokens', value: (r) => r.billedTokens },
  { header: 'pricePerMillionTokens', value: (r) => r.pricePerMillionTokens },
  { header: 'sloCredit', value: (r) => r.sloCredit },
];

/** The columns of a group of settled periods (earnings and the platform's fees). */
export const PERIOD_GROUP_COLUMNS: CsvColumn<EarningsGroupResponse>[] = [
  { header: 'key', value: (r) => r.key },
  { header: 'leaseId', value: (r) => r.leaseId },
  { header: 'period', value: (r) => r.period },
  { header: 'siteId', value: (r) => r.siteId },
  { header: 'siteName', value: (r) => r.siteName, text: true },
  { header: 'market', value: (r) => r.market },
  { header: 'currency', value: (r) => r.currency },
  { header: 'periods', value: (r) => r.periods },
  { header: 'gpuSeconds', value: (r) => r.gpuSeconds },
  { header: 'pricePerGpuHour', value: (r) => r.pricePerGpuHour },
  { header: 'promptTokens', value: (r) => r.promptTokens },
  { header: 'outputTokens', value: (r) => r.outputTokens },
  { header: 'billedTokens', value: (r) => r.billedTokens },
  { header: 'pricePerMillionTokens', value: (r) => r.pricePerMillionTokens },
  { header: 'charged', value: (r) => r.charged },
  { header: 'spread', value: (r) => r.spread },
  { header: 'proceeds', value: (r) => r.proceeds },
  { header: 'fee', value: (r) => r.fee },
  { header: 'net', value: (r) => r.net },
  { header: 'sloCredits', value: (r) => r.sloCredits },
  { header: 'netAfterCredits', value: (r) => r.netAfterCredits },
];

/**
 * An earnings CSV row: a group of settled periods (`row` PERIODS), then each penalty or recovery
 * of the range (`row` PENALTY or RECOVERY, `key` its transfer), as the JSON's groups and adjustments.
 */
export type EarningsCsvRow =
  | { row: 'PERIODS'; group: EarningsGroupResponse }
  | { row: 'PENALTY' | 'RECOVERY'; adjustment: EarningsAdjustmentResponse };

export function earningsCsvRows(statement: EarningsResponse): EarningsCsvRow[] {
  return [
    ...statement.groups.map((group) => ({ row: 'PERIODS' as const, group })),
    ...statement.adjustments.map((adjustment) => ({ row: adjustment.kind, adjustment })),
  ];
}

// An adjustment fills the group columns it shares: key (its transfer), leaseId and currency.
const ADJUSTMENT_SHARES: Record<string, (a: EarningsAdjustmentResponse) => string | null> = {
  key: (a) => a.transferId,
  leaseId: (a) => a.leaseId,
  currency: (a) => a.currency,
};

/** The groups' columns, then the adjustments' own: one CSV of the whole statement. */
export const EARNINGS_COLUMNS: CsvColumn<EarningsCsvRow>[] = [
  ...PERIOD_GROUP_COLUMNS.map((column): CsvColumn<EarningsCsvRow> => ({
    ...column,
    value: (r) =>
      r.row === 'PERIODS' ? column.value(r.group) : ADJUSTMENT_SHARES[column.header]?.(r.adjustment),
  })),
  { header: 'row', value: (r) => r.row },
  { header: 'at', value: (r) => (r.row === 'PERIODS' ? null : r.adjustment.at) },
  { header: 'penalty', value: (r) => (r.row === 'PERIODS' ? null : r.adjustment.penalty) },
  { header: 'earningsChange', value: (r) => (r.row === 'PERIODS' ? null : r.adjustment.earningsChange) },
  { header: 'owedChange', value: (r) => (r.row === 'PERIODS' ? null : r.adjustment.owedChange) },
];
