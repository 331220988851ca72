import { Injectable } from '@nestjs/common';
import type { KeysetPosition } from '@/infra/pagination/cursor-codec';
import { Tx } from '@/infra/prisma/tx';

export interface BillingProfileRecord {
  legalName: string;
  taxId: string | null;
  address: string;
  countryCode: string;
  email: string | null;
  updatedAt: Date;
}

export type BillingProfileInput = Omit<BillingProfileRecord, 'updatedAt'>;

export interface InvoiceLineRecord {
  index: number;
  startsAt: Date;
  endsAt: Date;
  gpuSeconds: bigint;
  basis: string;
  unitPrice: bigint;
  amount: bigint;
  promptTokens: bigint | null;
  outputTokens: bigint | null;
  billedTokens: bigint | null;
  pricePerMillionTokens: bigint | null;
  /** What a missed SLO credited the buyer for the period (docs/SLO.md). */
  sloCredit: bigint;
}

export interface InvoiceRecord {
  id: string;
  number: string;
  leaseId: string;
  buyerOrganisationId: string;
  market: string;
  currency: string;
  sellerName: string;
  sellerTaxId: string;
  sellerAddress: string;
  buyerName: string;
  buyerTaxId: string | null;
  buyerAddress: string | null;
  buyerCountryCode: string | null;
  net: bigint;
  vatRateBps: number;
  vat: bigint;
  gross: bigint;
  sloCredits: bigint;
  penaltyCredit: bigint;
  timeZone: string;
  issueDate: Date;
  supplyFrom: Date;
  supplyTo: Date;
  issuedAt: Date;
}

/** A penalty or recovery on a provider's statement (docs/STATEMENTS.md "Penalties and receivables"). */
export interface EarningsAdjustmentRecord {
  transferId: string;
  kind: 'PENALTY' | 'RECOVERY';
  leaseId: string | null;
  at: Date;
  currency: string;
  /** Signed change of the provider's earnings (<= 0). */
  earningsChange: bigint;
  /** Signed change of what the provider owes: + a penalty's unpaid rest, - a recovery. */
  owedChange: bigint;
}

export interface NewInvoice extends Omit<InvoiceRecord, 'id'> {
  issuer: string;
  year: number;
  sequence: number;
  providerOrganisationId: string;
  lines: InvoiceLineRecord[];
}

export interface SettledPeriodRecord {
  index: number;
  startsAt: Date;
  endsAt: Date;
  gpuSeconds: bigint;
  basis: string;
  cost: bigint;
  promptTokens: bigint | null;
  outputTokens: bigint | null;
  billedTokens: bigint | null;
  pricePerMillionTokens: bigint | null;
  sloCredit: bigint;
}

export type EarningsGrouping = 'lease' | 'site' | 'day' | 'period';
/** Groupings of settled periods: a provider's earnings, or the platform's fees (market, day). */
export type PeriodGrouping = EarningsGrouping | 'market';

export interface EarningsGroupRecord {
  key: string;
  leaseId: string | null;
  period: number | null;
  siteId: string | null;
  siteName: string | null;
  market: string | null;
  currency: string;
  periods: number;
  gpuSeconds: bigint;
  pricePerGpuHour: bigint | null;
  promptTokens: bigint;
  outputTokens: bigint;
  billedTokens: bigint;
  pricePerMillionTokens: bigint | null;
  charged: bigint;
  spread: bigint;
  proceeds: bigint;
  fee: bigint;
  sloCredits: bigint;
}

const INVOICE_SELECT = {
  id: true,
  number: true,
  leaseId: true,
  buyerOrganisationId: true,
  market: true,
  currency: true,
  sellerName: true,
  sellerTaxId: true,
  sellerAddress: true,
  buyerName: true,
  buyerTaxId: true,
  buyerAddress: true,
  buyerCountryCode: true,
  net: true,
  vatRateBps: true,
  vat: true,
  gross: true,
  sloCredits: true,
  penaltyCredit: true,
  timeZone: true,
  issueDate: true,
  supplyFrom: true,
  supplyTo: true,
  issuedAt: true,
} as const;

const PROFILE_SELECT = {
  legalName: true,
  taxId: true,
  address: true,
  countryCode: true,
  email: true,
  updatedAt: true,
} as const;

// The group key and its descriptive columns per grouping; `$4` is the time zone (days only).
const GROUPINGS: Record<PeriodGrouping, { key: string; columns: string; groupBy: string }> = {
  lease: {
    key: 'l.id::text',
    columns: `l.id::text AS lease_id, NULL::int AS period, s.id::text AS site_id, s.name AS site_name,
      m.slug AS market`,
    groupBy: 'l.id, s.id, s.name, m.slug',
  },
  // One line per settled period (docs/STATEMENTS.md): tokens, price per million, GPU-seconds and ask.
  period: {
    key: `l.id::text || ':' || lpad(p.index::text, 5, '0')`,
    columns: `l.id::text AS lease_id, p.index AS period, s.id::text AS site_id, s.name AS site_name,
      m.slug AS market`,
    groupBy: 'l.id, p.index, s.id, s.name, m.slug',
  },
  site: {
    key: 's.id::text',
    columns: `NULL::text AS lease_id, NULL::int AS period, s.id::text AS site_id, s.name AS site_name,
      NULL::text AS market`,
    groupBy: 's.id, s.name',
  },
  market: {
    key: 'm.slug',
    columns: `NULL::text AS lease_id, NULL::int AS period, NULL::text AS site_id, NULL::text AS site_name,
      m.slug AS market`,
    groupBy: 'm.slug',
  },
  day: {
    key: `to_char(p.settled_at AT TIME ZONE $4, 'YYYY-MM-DD')`,
    columns: `NULL::text AS lease_id, NULL::int AS period, NULL::text AS site_id, NULL::text AS site_name,
      NULL::text AS market`,
    groupBy: '1',
  },
};

// What a period paid its provider per GPU-hour: the trade price, or a per-token payout's ask.
const PAID_AT = `CASE WHEN p.payout IS NOT NULL THEN l.provider_ask_per_gpu_hour ELSE l.price_per_gpu_hour END`;

interface EarningsRow {
  key: string;
  lease_id: string | null;
  period: number | null;
  site_id: string | null;
  site_name: string | null;
  market: string | null;
  currency: string;
  periods: number;
  gpu_seconds: bigint;
  price_per_gpu_hour: bigint | null;
  prompt_tokens: bigint;
  output_tokens: bigint;
  billed_tokens: bigint;
  price_per_million_tokens: bigint | null;
  charged: bigint;
  spread: bigint;
  proceeds: bigint;
  fee: bigint;
  slo_credits: bigint;
}

/**
 * Statements' tables: billing profiles, invoices with their lines and counters, and the
 * settled periods earnings are summed from. Owned reads take the organisation's id; the
 * issuing path runs in settlement (worker), hence `system…`.
 */
@Injectable()
export class StatementsRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  async findProfile(organisationId: string): Promise<BillingProfileRecord | null> {
    return this.tx.billingProfile.findUnique({ where: { organisationId }, select: PROFILE_SELECT });
  }

  async saveProfile(
    organisationId: string,
    profile: BillingProfileInput,
    at: Date,
  ): Promise<BillingProfileRecord> {
    return this.tx.billingProfile.upsert({
      where: { organisationId },
      create: { organisationId, ...profile, createdAt: at, updatedAt: at },
      update: { ...profile, updatedAt: at },
      select: PROFILE_SELECT,
    });
  }

  async systemOrganisationName(organisationId: string): Promise<string> {
    const org = await this.tx.organisation.findUniqueOrThrow({
      where: { id: organisationId },
      select: { name: true },
    });
    return org.name;
  }

  /** What the provider's early end without notice credited the lease's buyer; 0 when none. */
  async systemLeasePenalty(leaseId: string): Promise<bigint> {
    const lease = await this.tx.lease.findUnique({ where: { id: leaseId }, select: { penalty: true } });
    return lease?.penalty ?? 0n;
  }

  /**
   * The provider's penalties and recoveries posted in [from, to), oldest first, each with what it
   * moved on the provider's earnings and receivable (docs/STATEMENTS.md), in posting order; at
   * most `limit` rows.
   */
  async sumAdjustments(
    providerOrganisationId: string,
    range: { from: Date; to: Date },
    limit: number,
  ): Promise<EarningsAdjustmentRecord[]> {
    const rows = await this.tx.$queryRaw<
      Array<{
        id: string;
        kind: 'PENALTY' | 'RECOVERY';
        lease_id: string | null;
        created_at: Date;
        currency: string;
        earnings: bigint;
        receivable: bigint;
      }>
    >`
      SELECT t.id::text, t.kind::text AS kind, t.lease_id::text, t.created_at, t.currency,
             COALESCE(SUM(e.amount) FILTER (WHERE a.kind = 'PROVIDER_EARNINGS'), 0)::bigint AS earnings,
             COALESCE(SUM(e.amount) FILTER (WHERE a.kind = 'PROVIDER_RECEIVABLE'), 0)::bigint AS receivable
      FROM ledger_transfers t
      JOIN ledger_entries e ON e.transfer_id = t.id
      JOIN ledger_accounts a ON a.id = e.account_id AND a.organisation_id = t.organisation_id
      WHERE t.organisation_id = ${providerOrganisationId}::uuid
        AND t.kind IN ('PENALTY', 'RECOVERY')
        AND t.created_at >= ${range.from} AND t.created_at < ${range.to}
      GROUP BY t.id
      -- Posting order: entries are numbered as written (two postings can share an instant).
      ORDER BY min(e.id)
      LIMIT ${limit}`;
    return rows.map((row) => ({
      transferId: row.id,
      kind: row.kind,
      leaseId: row.lease_id,
      at: row.created_at,
      currency: row.currency,
      earningsChange: row.earnings,
      // A receivable is a negative balance: what is owed moves opposite to it.
      owedChange: -row.receivable,
    }));
  }

  async systemInvoiceExists(leaseId: string): Promise<boolean> {
    return (await this.tx.invoice.count({ where: { leaseId } })) > 0;
  }

  /** The lease's settled periods with what a missed SLO credited for each (docs/SLO.md). */
  async systemSettledPeriods(leaseId: string): Promise<SettledPeriodRecord[]> {
    const periods = await this.tx.leasePeriod.findMany({
      where: { leaseId },
      select: {
        index: true,
        startsAt: true,
        endsAt: true,
        gpuSeconds: true,
        basis: true,
        cost: true,
        promptTokens: true,
        outputTokens: true,
        billedTokens: true,
        pricePerMillionTokens: true,
      },
      orderBy: { index: 'asc' },
    });
    const credits = await this.tx.sloPeriodOutcome.findMany({
      where: { leaseId, credit: { gt: 0 } },
      select: { periodIndex: true, credit: true },
    });
    const creditOf = new Map(credits.map((row) => [row.periodIndex, row.credit]));
    return periods.map((period) => ({ ...period, sloCredit: creditOf.get(period.index) ?? 0n }));
  }

  /**
   * The next number of the issuer's year. The counter row stays locked until the transaction
   * ends, so concurrent issuers queue for it and a rollback leaves no gap.
   */
  async systemNextInvoiceSequence(issuer: string, year: number): Promise<number> {
    const rows = await this.tx.$queryRaw<Array<{ last_number: number }>>`
      INSERT INTO invoice_counters (issuer, year, last_number) VALUES (${issuer}, ${year}, 1)
      ON CONFLICT (issuer, year) DO UPDATE SET last_number = invoice_counters.last_number + 1
      RETURNING last_number`;
    const next = rows[0]?.last_number;
    if (next === undefined) throw new Error('invoice counter returned no row');
    return next;
  }

  async systemCreateInvoice(invoice: NewInvoice): Promise<void> {
    const { lines, ...header } = invoice;
    await this.tx.invoice.create({ data: { ...header, lines: { createMany: { data: lines } } } });
  }

  /** The buyer's invoices issued in [from, to), newest first, keyset-paginated on (issuedAt, id). */
  async listInvoices(
    buyerOrganisationId: string,
    range: { from?: Date; to?: Date },
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<InvoiceRecord[]> {
    return this.tx.invoice.findMany({
      where: {
        buyerOrganisationId,
        issuedAt: { ...(range.from ? { gte: range.from } : {}), ...(range.to ? { lt: range.to } : {}) },
        ...(after === undefined
          ? {}
          : {
              OR: [
                { issuedAt: { lt: after.createdAt } },
                { issuedAt: after.createdAt, id: { lt: after.id } },
              ],
            }),
      },
      select: INVOICE_SELECT,
      orderBy: [{ issuedAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
    });
  }

  async findInvoice(
    buyerOrganisationId: string,
    id: string,
  ): Promise<(InvoiceRecord & { lines: InvoiceLineRecord[] }) | null> {
    return this.tx.invoice.findFirst({
      where: { id, buyerOrganisationId },
      select: {
        ...INVOICE_SELECT,
        lines: {
          select: {
            index: true,
            startsAt: true,
            endsAt: true,
            gpuSeconds: true,
            basis: true,
            unitPrice: true,
            amount: true,
            promptTokens: true,
            outputTokens: true,
            billedTokens: true,
            pricePerMillionTokens: true,
            sloCredit: true,
          },
          orderBy: { index: 'asc' },
        },
      },
    });
  }

  /**
   * The provider's settled periods in [from, to) of their settlement time, summed per group and
   * currency, in key order; at most `limit` rows. `scope` is one of two fixed fragments.
   */
  sumEarnings(
    providerOrganisationId: string,
    groupBy: EarningsGrouping,
    range: { from: Date; to: Date },
    timeZone: string,
    limit: number,
  ): Promise<EarningsGroupRecord[]> {
    return this.sumPeriods(
      'l.provider_organisation_id = $1::uuid',
      providerOrganisationId,
      groupBy,
      range,
      timeZone,
      limit,
    );
  }

  /** Every provider's settled periods in the range: the platform's fees, per market or day. */
  adminSumPeriods(
    groupBy: PeriodGrouping,
    range: { from: Date; to: Date },
    timeZone: string,
    limit: number,
  ): Promise<EarningsGroupRecord[]> {
    return this.sumPeriods('$1::uuid IS NULL', null, groupBy, range, timeZone, limit);
  }

  private async sumPeriods(
    scope: string,
    providerOrganisationId: string | null,
    groupBy: PeriodGrouping,
    range: { from: Date; to: Date },
    timeZone: string,
    limit: number,
  ): Promise<EarningsGroupRecord[]> {
    const grouping = GROUPINGS[groupBy];
    // Only the fixed fragments above are interpolated; every value is a parameter.
    const rows = await this.tx.$queryRawUnsafe<EarningsRow[]>(
      `SELECT ${grouping.key} AS key, ${grouping.columns}, m.currency,
              COUNT(*)::int AS periods, SUM(p.gpu_seconds)::bigint AS gpu_seconds,
              -- A price shows when the whole group has one (a lease or a period always does): the
              -- provider's ask, on a per-token period the offer's own (docs/INFERENCE.md).
              CASE WHEN MIN(${PAID_AT}) = MAX(${PAID_AT}) THEN MIN(${PAID_AT}) END AS price_per_gpu_hour,
              COALESCE(SUM(p.prompt_tokens), 0)::bigint AS prompt_tokens,
              COALESCE(SUM(p.output_tokens), 0)::bigint AS output_tokens,
              COALESCE(SUM(p.billed_tokens), 0)::bigint AS billed_tokens,
              CASE WHEN COUNT(p.price_per_million_tokens) = COUNT(*)
                        AND MIN(p.price_per_million_tokens) = MAX(p.price_per_million_tokens)
                   THEN MIN(p.price_per_million_tokens) END AS price_per_million_tokens,
              SUM(p.cost)::bigint AS charged, SUM(p.spread)::bigint AS spread,
              SUM(p.cost - p.spread)::bigint AS proceeds, SUM(p.fee)::bigint AS fee,
              COALESCE(SUM(o.credit), 0)::bigint AS slo_credits
       FROM lease_periods p
       JOIN leases l ON l.id = p.lease_id
       -- SLO credits are recorded in the period's settling transaction (docs/SLO.md).
       LEFT JOIN slo_period_outcomes o ON o.lease_id = p.lease_id AND o.period_index = p.index
       JOIN markets m ON m.id = l.market_id
       JOIN sites s ON s.id = l.site_id
       WHERE ${scope} AND p.settled_at >= $2 AND p.settled_at < $3
         -- Keeps $4 typed when the grouping does not cut days (pg refuses an untyped parameter).
         AND ($4::text IS NOT NULL)
       GROUP BY ${grouping.groupBy}, m.currency
       ORDER BY 1, m.currency
       LIMIT $5`,
      providerOrganisationId,
      range.from,
      range.to,
      timeZone,
      limit,
    );
    return rows.map((row) => ({
      key: row.key,
      leaseId: row.lease_id,
      period: row.period,
      siteId: row.site_id,
      siteName: row.site_name,
      market: row.market,
      currency: row.currency,
      periods: row.periods,
      gpuSeconds: row.gpu_seconds,
      pricePerGpuHour: row.price_per_gpu_hour,
      promptTokens: row.prompt_tokens,
      outputTokens: row.output_tokens,
      billedTokens: row.billed_tokens,
      pricePerMillionTokens: row.price_per_million_tokens,
      charged: row.charged,
      spread: row.spread,
      proceeds: row.proceeds,
      fee: row.fee,
      sloCredits: row.slo_credits,
    }));
  }
}
