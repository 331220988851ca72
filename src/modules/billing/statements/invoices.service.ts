import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { isUUID } from 'class-validator';
import { AppConfig } from '@/infra/config/app-config';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import type { Page } from '@/infra/pagination/page';
import { DomainError } from '@/shared/domain-error';
import { localDate } from '@/shared/time-zone';
import type { OrganisationContext } from '@/infra/auth/principal';
import { Currencies } from '@/modules/billing/currencies/currencies.service';
import { invoiceNumber, splitVatInclusive } from './domain/statement-rules';
import type { InvoiceResponse, ListInvoicesQuery } from './dto/statement.dto';
import { StatementsMapper } from './statements.mapper';
import { StatementsRepository } from './statements.repository';

/** What issuing needs of a lease whose settlement has just completed. */
export interface InvoicedLease {
  id: string;
  market: string;
  currency: string;
  buyerOrganisationId: string;
  providerOrganisationId: string;
  pricePerGpuHour: bigint;
  gpus: number;
}

/**
 * Buyers' invoices (docs/STATEMENTS.md): one per lease, issued in the transaction that settles
 * the lease's last period, numbered from a locked counter per issuer and year, immutable.
 */
@Injectable()
export class InvoicesService {
  constructor(
    private readonly statements: StatementsRepository,
    private readonly currencies: Currencies,
    private readonly cursors: CursorCodec,
    private readonly config: AppConfig,
  ) {}

  /**
   * Issues the lease's invoice, joining the caller's transaction (the last settlement step);
   * nothing when it has one already or its periods charged nothing. Returns the number issued.
   */
  @Transactional()
  async issueForLease(lease: InvoicedLease, at: Date): Promise<string | null> {
    if (await this.statements.systemInvoiceExists(lease.id)) return null;
    const periods = await this.statements.systemSettledPeriods(lease.id);
    const charged = periods.reduce((sum, period) => sum + period.cost, 0n);
    // A missed SLO's credit reduces what the buyer paid for the supply (docs/SLO.md).
    const sloCredits = periods.reduce((sum, period) => sum + period.sloCredit, 0n);
    const gross = charged - sloCredits;
    const first = periods[0];
    const last = periods[periods.length - 1];
    if (charged === 0n || first === undefined || last === undefined) return null;

    const env = this.config.env;
    const timeZone = env.INVOICE_TIME_ZONE;
    const issueDate = localDate(at, timeZone);
    const year = Number(issueDate.slice(0, 4));
    const sequence = await this.statements.systemNextInvoiceSequence(env.INVOICE_NUMBER_PREFIX, year);
    const number = invoiceNumber(env.INVOICE_NUMBER_PREFIX, year, sequence);
    const profile = await this.statements.findProfile(lease.buyerOrganisationId);
    // A provider's early end without notice credited the buyer; shown, not deducted (docs/STATEMENTS.md).
    const penaltyCredit = await this.statements.systemLeasePenalty(lease.id);
    const { net, vat } = splitVatInclusive(gross, env.INVOICE_VAT_BPS);
    await this.statements.systemCreateInvoice({
      number,
      issuer: env.INVOICE_NUMBER_PREFIX,
      year,
      sequence,
      leaseId: lease.id,
      buyerOrganisationId: lease.buyerOrganisationId,
      providerOrganisationId: lease.providerOrganisationId,
      market: lease.market,
      currency: lease.currency,
      sellerName: env.INVOICE_SELLER_NAME,
      sellerTaxId: env.INVOICE_SELLER_TAX_ID,
      sellerAddress: env.INVOICE_SELLER_ADDRESS,
      buyerName:
        profile?.legalName ?? (await this.statements.systemOrganisationName(lease.buyerOrganisationId)),
      buyerTaxId: profile?.taxId ?? null,
      buyerAddress: profile?.address ?? null,
      buyerCountryCode: profile?.countryCode ?? null,
      net,
      vatRateBps: env.INVOICE_VAT_BPS,
      vat,
      gross,
      sloCredits,
      penaltyCredit,
      timeZone,
      issueDate: new Date(`${issueDate}T00:00:00Z`),
      supplyFrom: first.startsAt,
      supplyTo: last.endsAt,
      issuedAt: at,
      lines: periods.map((period) => ({
        index: period.index,
        startsAt: period.startsAt,
        endsAt: period.endsAt,
        // A per-token line shows the GPU-seconds the lease had, not what its provider was paid for.
        gpuSeconds:
          period.billedTokens === null
            ? period.gpuSeconds
            : (BigInt(lease.gpus) * BigInt(period.endsAt.getTime() - period.startsAt.getTime())) / 1000n,
        basis: period.basis,
        unitPrice: lease.pricePerGpuHour,
        amount: period.cost,
        promptTokens: period.promptTokens,
        outputTokens: period.outputTokens,
        billedTokens: period.billedTokens,
        pricePerMillionTokens: period.pricePerMillionTokens,
        sloCredit: period.sloCredit,
      })),
    });
    return number;
  }

  async listInvoices(org: OrganisationContext, query: ListInvoicesQuery): Promise<Page<InvoiceResponse>> {
    const limit = this.cursors.limit(query.limit);
    const from = query.from === undefined ? undefined : new Date(query.from);
    const to = query.to === undefined ? undefined : new Date(query.to);
    if (from !== undefined && to !== undefined && from.getTime() >= to.getTime()) {
      throw new DomainError('VALIDATION_FAILED', 'from must be before to.', { field: 'from' });
    }
    const rows = await this.statements.listInvoices(
      org.organisationId,
      { from, to },
      limit,
      this.cursors.decode(query.cursor),
    );
    const scaleOf = await this.currencies.scalesOf(rows);
    return this.cursors.page(
      rows.map((row) => ({ ...row, createdAt: row.issuedAt })),
      limit,
      (row) => StatementsMapper.invoice(row, scaleOf(row.currency)),
    );
  }

  async getInvoice(org: OrganisationContext, id: string): Promise<InvoiceResponse> {
    // Not an id at all answers as a missing one does: the same 404 body (DESIGN invariant 6).
    const row = isUUID(id) ? await this.statements.findInvoice(org.organisationId, id) : null;
    if (row === null) throw new DomainError('NOT_FOUND', 'Invoice not found.');
    return StatementsMapper.invoice(row, await this.currencies.scaleOf(row.currency), row.lines);
  }
}
