import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  MaxLength,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { IsMarketSlug } from '@/infra/http/field-validators';
import { PageQuery } from '@/infra/pagination/page';
import { SloTermsResponse } from '@/modules/markets/dto/slo-terms.response';

export const LEASE_STATUSES = ['SCHEDULED', 'ACTIVE', 'ENDED', 'TERMINATED'] as const;

export const TERMINATION_REASONS = [
  'PROVIDER_FAILURE',
  'BUYER_REQUEST',
  'PROVIDER_REQUEST',
  'PROVIDER_NOTICE',
  'ADMIN',
  'RECLAIMED',
] as const;

export const LEASE_SIDES = ['BUYER', 'PROVIDER', 'ADMIN'] as const;
export const PROVIDER_END_MODES = ['NOTICE', 'IMMEDIATE', 'RECLAIM'] as const;

export class LeasePlaceResponse {
  @ApiProperty({ example: '520000', description: 'GB/T 2260 code' }) code!: string;
  @ApiProperty({ example: '贵州省' }) nameZh!: string;
  @ApiProperty({ example: 'Guizhou' }) namePinyin!: string;
}

export class LeaseSiteResponse {
  @ApiProperty({ type: LeasePlaceResponse }) province!: LeasePlaceResponse;
  @ApiProperty({ type: LeasePlaceResponse }) city!: LeasePlaceResponse;
}

export class LeasePartyResponse {
  @ApiProperty({ example: 'Guizhou Compute Co.', description: 'The organisation’s display name' })
  name!: string;
}

/**
 * What both sides of a lease see (docs/EVENTS.md, "Who sees whom"): the counterparty only by
 * display name, the site only by province and city.
 */
export class LeaseCommonResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'nvidia-h100-80gb' }) market!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ type: LeaseSiteResponse, description: 'Where the GPUs are' }) site!: LeaseSiteResponse;
  @ApiProperty({ example: 4 }) gpus!: number;
  @ApiProperty({ example: '18.20', description: 'Trade price per GPU-hour' }) pricePerGpuHour!: string;
  @ApiProperty({ example: 24, description: 'Hours bought, the buyer’s extensions included' })
  durationHours!: number;
  @ApiProperty({
    example: 0,
    description:
      'Hours the buyer’s extensions added (POST /v1/leases/{id}/extend); included in durationHours',
  })
  extendedHours!: number;
  @ApiProperty({ enum: ['RESERVED', 'PAY_PER_USE'] }) billingMode!: string;
  @ApiProperty({
    enum: ['GPU_HOURS', 'PER_TOKEN'],
    description:
      'How the buyer is billed, fixed at match (docs/INFERENCE.md "Billing basis"). GPU_HOURS: by GPU-seconds ' +
      '(every GPU lease, and inference leases matched before per-token billing). PER_TOKEN: per million tokens ' +
      'over a take-or-pay minimum; the provider is still paid per GPU-hour',
  })
  billingBasis!: 'GPU_HOURS' | 'PER_TOKEN';
  @ApiProperty({ example: 30 }) payPerUseMinPercent!: number;
  @ApiProperty({ example: 3600 }) periodSeconds!: number;
  @ApiProperty({
    enum: LEASE_STATUSES,
    description: 'SCHEDULED -> ACTIVE (access handed over) -> ENDED | TERMINATED (reason)',
  })
  status!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    enum: TERMINATION_REASONS,
    description:
      'PROVIDER_FAILURE: no access by the deadline; BUYER_REQUEST, PROVIDER_REQUEST: a side ended it ' +
      '(the provider without notice, see `penalty`); PROVIDER_NOTICE: it reached the end of the provider’s ' +
      'notice; ADMIN: a platform admin ended it (POST /admin/leases/{id}/terminate); RECLAIMED: the provider ' +
      'reclaimed an interruptible lease on idle windows at the reclaim notice, no penalty',
  })
  terminationReason!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    enum: LEASE_SIDES,
    description:
      'Who ended (or, under notice, is ending) the lease before its term: PROVIDER for a provider’s notice, ' +
      'end or provisioning failure; null when it ran to its end',
  })
  endedBy!: string | null;
  @ApiProperty({
    example: 24,
    description:
      'The offer’s notice, hours: what the provider owes before ending the lease early (docs/LEASES.md)',
  })
  terminationNoticeHours!: number;
  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description:
      'When the provider gave notice; the lease then ends at `endsAt`, TERMINATED(PROVIDER_NOTICE)',
  })
  noticeGivenAt!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '145.60',
    description:
      'What the provider paid the buyer for ending the lease without notice (credited to the buyer)',
  })
  penalty!: string | null;
  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description:
      'Leases on idle windows: when the window opens; the lease is SCHEDULED until then and access is handed ' +
      'over from then. Null: at once',
  })
  startsAt!: string | null;
  @ApiProperty({
    description:
      'The provider may reclaim it at `reclaimNoticeMinutes` without penalty (an interruptible bid on idle windows)',
  })
  reclaimable!: boolean;
  @ApiProperty({
    nullable: true,
    type: Number,
    example: 60,
    description: 'The offer’s reclaim notice, minutes; null without idle windows',
  })
  reclaimNoticeMinutes!: number | null;
  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'When the provider reclaimed it; it then ends at `endsAt`, TERMINATED(RECLAIMED)',
  })
  reclaimedAt!: string | null;
  @ApiProperty({ format: 'date-time', description: 'Access must be handed over by then' })
  provisioningDeadline!: string;
  @ApiProperty({ description: 'The provider has handed over access details' }) accessReady!: boolean;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) startedAt!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) endsAt!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) endedAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({
    type: () => LeaseInferenceResponse,
    nullable: true,
    description: 'Leases of inference bids only (docs/INFERENCE.md "Inference bids"); null otherwise',
  })
  inference!: LeaseInferenceResponse | null;
  @ApiProperty({
    type: () => SloTermsResponse,
    nullable: true,
    description:
      'The SLO the lease carries, copied from its offer at match (docs/SLO.md); its evidence and credits are at ' +
      'GET /v1/leases/{id}/slo. Null when none was promised',
  })
  slo!: SloTermsResponse | null;
}

export class LeaseInferenceResponse {
  @ApiProperty({ example: 'llama-3.3-70b-instruct' }) model!: string;
  @ApiProperty({
    example: '5.05',
    description:
      'Price per million tokens (prompt and output alike) the trade price implies: price per GPU-hour x the ' +
      "bid's sized GPUs x 1,000,000 / its tokens per hour, rounded down",
  })
  pricePerMillionTokens!: string;
  @ApiProperty({
    example: 666,
    description: "This lease's share of the bid's sized output tokens/s, rounded down",
  })
  outputTokensPerSecond!: number;
  @ApiProperty({
    enum: ['PER_TOKEN', 'GPU_HOURS'],
    description:
      'PER_TOKEN: the buyer pays per token each period, at least the take-or-pay minimum, and the ' +
      'provider is paid per GPU-hour used (docs/INFERENCE.md "Per-token billing"). GPU_HOURS: a lease ' +
      "matched before per-token billing, billed as a RESERVED GPU lease. Always equal to the lease's billingBasis",
  })
  billing!: 'PER_TOKEN' | 'GPU_HOURS';
  @ApiProperty({
    nullable: true,
    type: Number,
    example: 50,
    description:
      "Share of each period's sized capacity (prompt + output tokens/s x its seconds) the buyer pays for whatever it uses",
  })
  takeOrPayPercent!: number | null;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '5994000',
    description:
      'Tokens an hour the take-or-pay minimum charges for: (prompt + output tokens/s) x 3,600 x takeOrPayPercent / 100, rounded down',
  })
  minimumTokensPerHour!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '74.92',
    description: 'What that minimum costs an hour at pricePerMillionTokens, rounded down',
  })
  minimumChargePerHour!: string | null;
  @ApiProperty({
    example: 2666,
    description: "This lease's share of the bid's sized prompt tokens/s, rounded down",
  })
  promptTokensPerSecond!: number;
}

/** The buyer's view: its own bid, the provider by name; no offer, site or provider ids, no fee. */
export class BuyerLeaseResponse extends LeaseCommonResponse {
  @ApiProperty({ enum: ['buyer'], description: 'Whose view this is' }) view!: 'buyer';
  @ApiProperty({ format: 'uuid' }) bidId!: string;
  @ApiProperty({ format: 'uuid' }) buyerOrganisationId!: string;
  @ApiProperty({ type: LeasePartyResponse }) provider!: LeasePartyResponse;
}

/** The provider's view: its own offer and site and the fee; the buyer by name only. */
export class ProviderLeaseResponse extends LeaseCommonResponse {
  @ApiProperty({ enum: ['provider'], description: 'Whose view this is' }) view!: 'provider';
  @ApiProperty({ format: 'uuid' }) offerId!: string;
  @ApiProperty({ format: 'uuid' }) siteId!: string;
  @ApiProperty({ format: 'uuid' }) providerOrganisationId!: string;
  @ApiProperty({ example: 300, description: "The market's fee at match, basis points" }) feeBps!: number;
  @ApiProperty({ type: LeasePartyResponse }) buyer!: LeasePartyResponse;
}

/** A platform admin's view: both sides in full. */
export class AdminLeaseResponse extends LeaseCommonResponse {
  @ApiProperty({ enum: ['admin'], description: 'Whose view this is' }) view!: 'admin';
  @ApiProperty({ format: 'uuid' }) bidId!: string;
  @ApiProperty({ format: 'uuid' }) offerId!: string;
  @ApiProperty({ format: 'uuid' }) siteId!: string;
  @ApiProperty({ format: 'uuid' }) buyerOrganisationId!: string;
  @ApiProperty({ format: 'uuid' }) providerOrganisationId!: string;
  @ApiProperty({ example: 300, description: "The market's fee at match, basis points" }) feeBps!: number;
  @ApiProperty({ type: LeasePartyResponse }) buyer!: LeasePartyResponse;
  @ApiProperty({ type: LeasePartyResponse }) provider!: LeasePartyResponse;
}

/** A lease as one of its sides sees it; `view` says which. */
export type LeaseResponse = BuyerLeaseResponse | ProviderLeaseResponse;

/** OpenAPI schema of LeaseResponse: one of the two views, told apart by `view`. */
export const LEASE_RESPONSE_SCHEMA = {
  oneOf: [{ $ref: getSchemaPath(BuyerLeaseResponse) }, { $ref: getSchemaPath(ProviderLeaseResponse) }],
  discriminator: {
    propertyName: 'view',
    mapping: { buyer: getSchemaPath(BuyerLeaseResponse), provider: getSchemaPath(ProviderLeaseResponse) },
  },
};

export class LeasePageResponse {
  @ApiProperty({ type: 'array', items: LEASE_RESPONSE_SCHEMA, description: 'Each in the caller’s view' })
  data!: LeaseResponse[];
  @ApiProperty({ nullable: true, type: String, description: 'Null on the last page' }) nextCursor!:
    string | null;
}

export class TerminateLeaseDto {
  @ApiPropertyOptional({
    enum: PROVIDER_END_MODES,
    description:
      'Providers, ACTIVE leases: NOTICE (default) ends the lease at now + the offer’s notice; IMMEDIATE ends ' +
      'it now and credits the buyer the penalty in docs/LEASES.md; RECLAIM (reclaimable leases only) ends it at ' +
      'now + the offer’s reclaim notice, no penalty. Not for buyers',
  })
  @IsOptional()
  @IsIn(PROVIDER_END_MODES)
  mode?: (typeof PROVIDER_END_MODES)[number];
}

export class TerminateLeaseAdminDto {
  @ApiProperty({
    example: 'Site lost power; provider cannot restore service this week',
    description: 'Why the lease is ended; kept in the audit log',
  })
  @IsString()
  @MinLength(3)
  @MaxLength(1000)
  reason!: string;
}

export class ListLeasesQuery extends PageQuery {
  @ApiPropertyOptional({ example: 'nvidia-h100-80gb' })
  @IsOptional()
  @IsMarketSlug()
  market?: string;

  @ApiPropertyOptional({ enum: LEASE_STATUSES })
  @IsOptional()
  @IsIn(LEASE_STATUSES)
  status?: (typeof LEASE_STATUSES)[number];
}

export class AccessCredentialDto {
  @ApiProperty({
    example: 'api_key',
    description: 'What the value is: api_key, token, username, password, ssh_key',
  })
  @IsString()
  @Matches(/^[a-z][a-z0-9_]{0,31}$/, { message: 'name must be a short snake_case word' })
  name!: string;

  @ApiProperty({ example: 'sk-live-…' })
  @IsString()
  @MaxLength(8192)
  value!: string;
}

export class HandOverAccessDto {
  @ApiProperty({ example: 'https://inference.gz-dc.example/v1', description: 'Where the buyer connects' })
  @IsString()
  @MaxLength(2048)
  @IsUrl({ protocols: ['https', 'http', 'ssh', 'grpc', 'grpcs'], require_protocol: true, require_tld: false })
  endpoint!: string;

  @ApiProperty({ type: [AccessCredentialDto], description: 'Secrets the buyer needs; stored encrypted' })
  @IsArray()
  @ArrayMaxSize(16)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => AccessCredentialDto)
  credentials!: AccessCredentialDto[];

  @ApiPropertyOptional({ example: 'Models preloaded: qwen2.5-72b; rate limit 200 rps' })
  @IsOptional()
  @IsString()
  @MaxLength(4000)
  instructions?: string;
}

export class AccessDetailsResponse {
  @ApiProperty({ format: 'uuid' }) leaseId!: string;
  @ApiProperty() endpoint!: string;
  @ApiProperty({ type: [AccessCredentialDto] }) credentials!: AccessCredentialDto[];
  @ApiProperty({ nullable: true, type: String }) instructions!: string | null;
  @ApiProperty({ format: 'date-time' }) handedOverAt!: string;
}
