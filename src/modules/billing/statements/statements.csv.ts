import type { CsvColumn } from '@/infra/http/csv';
import type { CurrencyBalanceResponse, LedgerEntryResponse } from './dto/balance.dto';
import type { EarningsGroupResponse, InvoiceLineResponse, InvoiceResponse } from './dto/statement.dto';

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

export const EARNINGS_COLUMNS: CsvColumn<EarningsGroupResponse>[] = [
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
