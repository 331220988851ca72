import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { IsEmail, IsIn, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { IsInstant, IsSafeText } from '@/infra/http/field-validators';
import { PageQuery } from '@/infra/pagination/page';

export const STATEMENT_FORMATS = ['json', 'csv'] as const;
export type StatementFormat = (typeof STATEMENT_FORMATS)[number];
export const EARNINGS_GROUPINGS = ['lease', 'site', 'day', 'period'] as const;
export const FEE_GROUPINGS = ['market', 'day'] as const;

/** `?format=csv` on every statement: the same rows as the JSON, as an attachment. */
export class StatementFormatQuery {
  @ApiPropertyOptional({ enum: STATEMENT_FORMATS, default: 'json' })
  @IsOptional()
  @IsIn(STATEMENT_FORMATS)
  format?: StatementFormat;
}

export class SetBillingProfileDto {
  @ApiProperty({ example: 'Hangzhou Inference Tech Co., Ltd.', description: 'Legal name on invoices' })
  @IsString()
  @IsSafeText()
  @MinLength(1)
  @MaxLength(200)
  legalName!: string;

  @ApiPropertyOptional({
    example: '91330106MA2B0XXXX1',
    nullable: true,
    type: String,
    description: 'Unified social credit code or another tax/VAT number: 5-32 capital letters and digits',
  })
  @IsOptional()
  @Matches(/^[0-9A-Z]{5,32}$/, { message: 'taxId must be 5-32 capital letters and digits' })
  taxId?: string | null;

  @ApiProperty({ example: '88 Wensan Road, Xihu District, Hangzhou, Zhejiang 310000' })
  @IsString()
  @IsSafeText({ multiline: true })
  @MinLength(1)
  @MaxLength(500)
  address!: string;

  @ApiProperty({ example: 'CN', description: 'ISO 3166-1 alpha-2' })
  @Matches(/^[A-Z]{2}$/, { message: 'countryCode must be an ISO 3166-1 alpha-2 code such as CN' })
  countryCode!: string;

  @ApiPropertyOptional({ example: 'finance@hz-inference.example', nullable: true, type: String })
  @IsOptional()
  @IsEmail()
  @MaxLength(320)
  email?: string | null;
}

export class BillingProfileResponse {
  @ApiProperty() legalName!: string;
  @ApiProperty({ nullable: true, type: String }) taxId!: string | null;
  @ApiProperty() address!: string;
  @ApiProperty({ example: 'CN' }) countryCode!: string;
  @ApiProperty({ nullable: true, type: String }) email!: string | null;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class InvoicePartyResponse {
  @ApiProperty() name!: string;
  @ApiProperty({ nullable: true, type: String }) taxId!: string | null;
  @ApiProperty({ nullable: true, type: String }) address!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, example: 'CN' }) countryCode?: string | null;
}

export class InvoiceLineResponse {
  @ApiProperty({ description: 'Billing period of the lease, 0-based' }) period!: number;
  @ApiProperty({ format: 'date-time' }) startsAt!: string;
  @ApiProperty({ format: 'date-time' }) endsAt!: string;
  @ApiProperty({
    example: '7200',
    description: 'GPU-seconds charged; on a per-token line the GPU-seconds the lease had in the period',
  })
  gpuSeconds!: string;
  @ApiProperty({ enum: ['RESERVED', 'REPORTED', 'MINIMUM', 'ELAPSED', 'MANUAL', 'TOKENS', 'TAKE_OR_PAY'] })
  basis!: string;
  @ApiProperty({ example: '10.00', description: 'Per GPU-hour, VAT-inclusive (the trade price)' })
  unitPrice!: string;
  @ApiProperty({
    example: '20.00',
    description:
      'floor(unit price x GPU-seconds / 3600), VAT-inclusive; on a per-token line ' +
      'floor(billedTokens x pricePerMillionTokens / 1,000,000)',
  })
  amount!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '9400000',
    description: 'Per-token lines: prompt tokens that stood for the period (docs/USAGE.md); null otherwise',
  })
  promptTokens!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '2300000',
    description: 'Per-token lines: output tokens',
  })
  outputTokens!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '11700000',
    description:
      'Per-token lines: tokens charged, at most the sized capacity, at least the take-or-pay minimum',
  })
  billedTokens!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '12.50',
    description: 'Per-token lines: price per million tokens',
  })
  pricePerMillionTokens!: string | null;
  @ApiProperty({
    example: '2.00',
    description: "Credited back for a missed SLO in this period (docs/SLO.md), from the provider's proceeds",
  })
  sloCredit!: string;
}

export class InvoiceResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'CX-2026-000001', description: 'Consecutive per issuer and year, no gaps' })
  number!: string;
  @ApiProperty({ format: 'uuid' }) leaseId!: string;
  @ApiProperty({ example: 'nvidia-l40s-48gb' }) market!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ type: InvoicePartyResponse, description: 'The platform (it sells the compute)' })
  seller!: InvoicePartyResponse;
  @ApiProperty({ type: InvoicePartyResponse, description: 'From the billing profile at issue' })
  buyer!: InvoicePartyResponse;
  @ApiProperty({ example: '54.72', description: 'gross - vat' }) net!: string;
  @ApiProperty({ example: 600, description: 'VAT rate at issue, basis points' }) vatRateBps!: number;
  @ApiProperty({ example: '3.28', description: 'round_half_up(gross x rate / (10,000 + rate))' })
  vat!: string;
  @ApiProperty({
    example: '58.00',
    description: "What the buyer paid: the lines' amounts less their SLO credits (VAT-inclusive)",
  })
  gross!: string;
  @ApiProperty({ example: '0.00', description: "SLO credits: the sum of the lines' sloCredit (docs/SLO.md)" })
  sloCredits!: string;
  @ApiProperty({
    example: '0.00',
    description:
      'What the provider’s early end without notice credited you for this lease (a credit to available funds, not part of gross; docs/STATEMENTS.md)',
  })
  penaltyCredit!: string;
  @ApiProperty({ example: '2026-12-02', description: 'Date of issue in timeZone' }) issueDate!: string;
  @ApiProperty({ example: 'Asia/Shanghai' }) timeZone!: string;
  @ApiProperty({ format: 'date-time' }) issuedAt!: string;
  @ApiProperty({ format: 'date-time', description: 'Start of the first period supplied' })
  supplyFrom!: string;
  @ApiProperty({ format: 'date-time', description: 'End of the last period supplied' }) supplyTo!: string;
  @ApiPropertyOptional({ type: [InvoiceLineResponse], description: 'On GET /v1/invoices/{id}' })
  lines?: InvoiceLineResponse[];
}

export class InvoicePageResponse {
  @ApiProperty({ type: [InvoiceResponse] }) data!: InvoiceResponse[];
  @ApiProperty({ nullable: true, type: String, description: 'Null on the last page' }) nextCursor!:
    string | null;
}

export class ListInvoicesQuery extends IntersectionType(PageQuery, StatementFormatQuery) {
  @ApiPropertyOptional({
    description: 'Issued at or after this instant',
    example: '2026-12-01T00:00:00+08:00',
  })
  @IsOptional()
  @IsInstant()
  from?: string;

  @ApiPropertyOptional({ description: 'Issued before this instant', example: '2027-01-01T00:00:00+08:00' })
  @IsOptional()
  @IsInstant()
  to?: string;
}

/** A statement over settled periods: [from, to) of their settlement time, days cut in `tz`. */
export class SettledRangeQuery extends StatementFormatQuery {
  @ApiPropertyOptional({ description: 'Settled at or after; default `to` less 30 days' })
  @IsOptional()
  @IsInstant()
  from?: string;

  @ApiPropertyOptional({ description: 'Settled before; default now. At most 366 days after `from`' })
  @IsOptional()
  @IsInstant()
  to?: string;

  @ApiPropertyOptional({
    example: 'Asia/Shanghai',
    default: 'Asia/Shanghai',
    description: 'IANA zone days are cut in',
  })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  tz?: string;
}

export class EarningsQuery extends SettledRangeQuery {
  @ApiProperty({ enum: EARNINGS_GROUPINGS })
  @IsIn(EARNINGS_GROUPINGS)
  groupBy!: (typeof EARNINGS_GROUPINGS)[number];
}

export class PlatformFeesQuery extends SettledRangeQuery {
  @ApiProperty({ enum: FEE_GROUPINGS })
  @IsIn(FEE_GROUPINGS)
  groupBy!: (typeof FEE_GROUPINGS)[number];
}

export class EarningsGroupResponse {
  @ApiProperty({
    description:
      'The lease id, the site id, the day (YYYY-MM-DD in tz), or `<lease id>:<period>` (period, 0-based, 5 digits)',
  })
  key!: string;
  @ApiProperty({ nullable: true, type: String, format: 'uuid', description: 'groupBy=lease and period' })
  leaseId!: string | null;
  @ApiProperty({ nullable: true, type: Number, description: 'groupBy=period: the period, 0-based' })
  period!: number | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) siteId!: string | null;
  @ApiProperty({ nullable: true, type: String }) siteName!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'groupBy=lease' }) market!: string | null;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ description: 'Settled periods summed' }) periods!: number;
  @ApiProperty({
    example: '7200',
    description:
      'GPU-seconds paid for: charged, or on per-token periods used (at least the pay-per-use floor)',
  })
  gpuSeconds!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '10.00',
    description:
      'The ask per GPU-hour the periods were paid at (the trade price; on per-token periods the ' +
      "offer's own ask, which is lower when the bid rested first) when the group has one, else null",
  })
  pricePerGpuHour!: string | null;
  @ApiProperty({ example: '0', description: 'Prompt tokens that stood for the per-token periods' })
  promptTokens!: string;
  @ApiProperty({ example: '0', description: 'Output tokens that stood for the per-token periods' })
  outputTokens!: string;
  @ApiProperty({ example: '0', description: 'Tokens buyers were charged for (take-or-pay included)' })
  billedTokens!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '12.50',
    description:
      'Price per million tokens when every period of the group is per-token at one price, else null',
  })
  pricePerMillionTokens!: string | null;
  @ApiProperty({ example: '20.00', description: 'What buyers were charged for the periods' })
  charged!: string;
  @ApiProperty({
    example: '0.00',
    description: 'charged - proceeds: what per-token periods charged beyond their payout (PLATFORM_SPREAD)',
  })
  spread!: string;
  @ApiProperty({
    example: '20.00',
    description:
      'Paid to the provider before the fee: what buyers paid, or on per-token periods the payout ' +
      '(GPU-seconds x ask, capped by the charge)',
  })
  proceeds!: string;
  @ApiProperty({ example: '0.60', description: 'Platform fee' }) fee!: string;
  @ApiProperty({ example: '19.40', description: 'proceeds - fee: credited to your earnings' }) net!: string;
  @ApiProperty({
    example: '2.00',
    description: "Credited to buyers from these periods' proceeds for missed SLOs (docs/SLO.md)",
  })
  sloCredits!: string;
  @ApiProperty({ example: '17.40', description: 'net - sloCredits: what the periods left in your earnings' })
  netAfterCredits!: string;
}

/** A penalty or recovery posted to a provider (docs/STATEMENTS.md "Penalties and receivables"). */
export class EarningsAdjustmentResponse {
  @ApiProperty({
    enum: ['PENALTY', 'RECOVERY'],
    description:
      'PENALTY: an early end without notice; RECOVERY: an unpaid penalty netted from later proceeds',
  })
  kind!: 'PENALTY' | 'RECOVERY';
  @ApiProperty({ format: 'uuid' }) transferId!: string;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) leaseId!: string | null;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '45.00',
    description:
      'PENALTY: what the buyer was credited (earningsChange and owedChange cover it); null for RECOVERY',
  })
  penalty!: string | null;
  @ApiProperty({ example: '-30.00', description: 'Change of your earnings' })
  earningsChange!: string;
  @ApiProperty({
    example: '15.00',
    description: 'Change of what you owe: + a penalty your earnings did not cover, - a recovery of it',
  })
  owedChange!: string;
}

export class EarningsResponse {
  @ApiProperty({ enum: EARNINGS_GROUPINGS }) groupBy!: string;
  @ApiProperty({ example: 'Asia/Shanghai' }) timeZone!: string;
  @ApiProperty({ format: 'date-time' }) from!: string;
  @ApiProperty({ format: 'date-time' }) to!: string;
  @ApiProperty({ type: [EarningsGroupResponse], description: 'In key order; at most 5,000 groups' })
  groups!: EarningsGroupResponse[];
  @ApiProperty({
    type: [EarningsAdjustmentResponse],
    description: 'Penalties and recoveries posted in [from, to), oldest first; at most 5,000',
  })
  adjustments!: EarningsAdjustmentResponse[];
}

export class PlatformFeesResponse {
  @ApiProperty({ enum: FEE_GROUPINGS }) groupBy!: string;
  @ApiProperty({ example: 'Asia/Shanghai' }) timeZone!: string;
  @ApiProperty({ format: 'date-time' }) from!: string;
  @ApiProperty({ format: 'date-time' }) to!: string;
  @ApiProperty({
    type: [EarningsGroupResponse],
    description: 'Per market or day: what buyers paid, the platform fee, and net credited to providers',
  })
  groups!: EarningsGroupResponse[];
}

export class TrialBalanceRowResponse {
  @ApiProperty({ example: 'PLATFORM_FEES' }) kind!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ description: 'Accounts of this kind' }) accounts!: number;
  @ApiProperty({ example: '1500.00', description: 'Sum of their balances (signed as their entries)' })
  balance!: string;
}

export class TrialBalanceTotalResponse {
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ example: '0.00', description: 'Zero on a balanced ledger' }) balance!: string;
}

export class TrialBalanceResponse {
  @ApiProperty({ type: [TrialBalanceRowResponse] }) accounts!: TrialBalanceRowResponse[];
  @ApiProperty({ type: [TrialBalanceTotalResponse] }) totals!: TrialBalanceTotalResponse[];
}
