import { formatMoney } from '@/shared/money';
import type {
  BillingProfileResponse,
  EarningsAdjustmentResponse,
  EarningsGroupResponse,
  InvoiceLineResponse,
  InvoiceResponse,
} from './dto/statement.dto';
import type {
  BillingProfileRecord,
  EarningsAdjustmentRecord,
  EarningsGroupRecord,
  InvoiceLineRecord,
  InvoiceRecord,
} from './statements.repository';

/** Statement rows to API shapes; money as decimal strings in the currency's scale. */
export const StatementsMapper = {
  profile(row: BillingProfileRecord): BillingProfileResponse {
    return {
      legalName: row.legalName,
      taxId: row.taxId,
      address: row.address,
      countryCode: row.countryCode,
      email: row.email,
      updatedAt: row.updatedAt.toISOString(),
    };
  },

  invoice(row: InvoiceRecord, scale: number, lines?: readonly InvoiceLineRecord[]): InvoiceResponse {
    return {
      id: row.id,
      number: row.number,
      leaseId: row.leaseId,
      market: row.market,
      currency: row.currency,
      seller: { name: row.sellerName, taxId: row.sellerTaxId, address: row.sellerAddress },
      buyer: {
        name: row.buyerName,
        taxId: row.buyerTaxId,
        address: row.buyerAddress,
        countryCode: row.buyerCountryCode,
      },
      net: formatMoney(row.net, scale),
      vatRateBps: row.vatRateBps,
      vat: formatMoney(row.vat, scale),
      gross: formatMoney(row.gross, scale),
      sloCredits: formatMoney(row.sloCredits, scale),
      penaltyCredit: formatMoney(row.penaltyCredit, scale),
      issueDate: row.issueDate.toISOString().slice(0, 10),
      timeZone: row.timeZone,
      issuedAt: row.issuedAt.toISOString(),
      supplyFrom: row.supplyFrom.toISOString(),
      supplyTo: row.supplyTo.toISOString(),
      ...(lines === undefined ? {} : { lines: lines.map((line) => StatementsMapper.line(line, scale)) }),
    };
  },

  line(row: InvoiceLineRecord, scale: number): InvoiceLineResponse {
    return {
      period: row.index,
      startsAt: row.startsAt.toISOString(),
      endsAt: row.endsAt.toISOString(),
      gpuSeconds: row.gpuSeconds.toString(),
      basis: row.basis,
      unitPrice: formatMoney(row.unitPrice, scale),
      amount: formatMoney(row.amount, scale),
      promptTokens: row.promptTokens?.toString() ?? null,
      outputTokens: row.outputTokens?.toString() ?? null,
      billedTokens: row.billedTokens?.toString() ?? null,
      pricePerMillionTokens:
        row.pricePerMillionTokens === null ? null : formatMoney(row.pricePerMillionTokens, scale),
      sloCredit: formatMoney(row.sloCredit, scale),
    };
  },

  adjustment(row: EarningsAdjustmentRecord, scale: number): EarningsAdjustmentResponse {
    return {
      kind: row.kind,
      transferId: row.transferId,
      leaseId: row.leaseId,
      at: row.at.toISOString(),
      currency: row.currency,
      penalty: row.kind === 'PENALTY' ? formatMoney(row.owedChange - row.earningsChange, scale) : null,
      earningsChange: formatMoney(row.earningsChange, scale),
      owedChange: formatMoney(row.owedChange, scale),
    };
  },

  earnings(row: EarningsGroupRecord, scale: number): EarningsGroupResponse {
    return {
      key: row.key,
      leaseId: row.leaseId,
      period: row.period,
      siteId: row.siteId,
      siteName: row.siteName,
      market: row.market,
      currency: row.currency,
      periods: row.periods,
      gpuSeconds: row.gpuSeconds.toString(),
      pricePerGpuHour: row.pricePerGpuHour === null ? null : formatMoney(row.pricePerGpuHour, scale),
      promptTokens: row.promptTokens.toString(),
      outputTokens: row.outputTokens.toString(),
      billedTokens: row.billedTokens.toString(),
      pricePerMillionTokens:
        row.pricePerMillionTokens === null ? null : formatMoney(row.pricePerMillionTokens, scale),
      charged: formatMoney(row.charged, scale),
      spread: formatMoney(row.spread, scale),
      proceeds: formatMoney(row.proceeds, scale),
      fee: formatMoney(row.fee, scale),
      net: formatMoney(row.proceeds - row.fee, scale),
      sloCredits: formatMoney(row.sloCredits, scale),
      netAfterCredits: formatMoney(row.proceeds - row.fee - row.sloCredits, scale),
    };
  },
};
