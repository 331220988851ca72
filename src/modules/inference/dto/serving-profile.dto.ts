import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { PageQuery } from '@/infra/pagination/page';
import { IsSafeText } from '@/infra/http/field-validators';
import { MAX_CONCURRENCY } from '../domain/reference-profile';
import { MODEL_SLUG_PATTERN } from './inference-model.dto';
import { ReferenceFiguresResponse } from './reference-profile.dto';

export const MAX_PROFILES_PER_OFFER = 32;
/** Ten million tokens/s per GPU: far beyond any GPU, so a typo cannot overflow a product. */
export const MAX_TOKENS_PER_SECOND = 10_000_000;
/** Ten minutes. */
export const MAX_TTFT_MS = 600_000;

const REVIEW_STATES = ['NOT_FLAGGED', 'PENDING_REVIEW', 'ACCEPTED', 'REJECTED'] as const;
const FLAGS = [
  'PROMPT_THROUGHPUT_ABOVE_REFERENCE',
  'OUTPUT_THROUGHPUT_ABOVE_REFERENCE',
  'TTFT_P50_BELOW_REFERENCE',
  'TTFT_P95_BELOW_REFERENCE',
  'MODEL_DOES_NOT_FIT',
  'NO_GPU_SPEC',
] as const;

export class ServingProfileDeclarationDto {
  @ApiProperty({ example: 'llama-3.3-70b-instruct', description: 'A model of GET /v1/inference/models' })
  @IsString()
  @Matches(MODEL_SLUG_PATTERN, { message: 'model must be a model slug such as "llama-3.3-70b-instruct"' })
  model!: string;

  @ApiProperty({
    example: 8,
    minimum: 1,
    maximum: MAX_CONCURRENCY,
    description: 'Concurrent requests per GPU the figures were measured at',
  })
  @IsInt()
  @Min(1)
  @Max(MAX_CONCURRENCY)
  concurrency!: number;

  @ApiProperty({
    example: 2600,
    minimum: 0.1,
    maximum: MAX_TOKENS_PER_SECOND,
    description: 'Measured prefill (prompt) tokens/s per GPU, reference workload of docs/INFERENCE.md',
  })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.1)
  @Max(MAX_TOKENS_PER_SECOND)
  promptTokensPerSecondPerGpu!: number;

  @ApiProperty({
    example: 400,
    minimum: 0.1,
    maximum: MAX_TOKENS_PER_SECOND,
    description: 'Measured decode (output) tokens/s per GPU at that concurrency',
  })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.1)
  @Max(MAX_TOKENS_PER_SECOND)
  outputTokensPerSecondPerGpu!: number;

  @ApiProperty({
    example: 120,
    minimum: 1,
    maximum: MAX_TTFT_MS,
    description: 'Time to first token, p50, ms',
  })
  @IsInt()
  @Min(1)
  @Max(MAX_TTFT_MS)
  ttftP50Ms!: number;

  @ApiProperty({
    example: 220,
    minimum: 1,
    maximum: MAX_TTFT_MS,
    description: 'Time to first token, p95, ms; at least ttftP50Ms',
  })
  @IsInt()
  @Min(1)
  @Max(MAX_TTFT_MS)
  ttftP95Ms!: number;
}

export class PutServingProfilesDto {
  @ApiProperty({
    type: [ServingProfileDeclarationDto],
    maxItems: MAX_PROFILES_PER_OFFER,
    description: 'The whole set for the offer, one per model; an empty list removes them all',
  })
  @IsArray()
  @ArrayMaxSize(MAX_PROFILES_PER_OFFER)
  @ValidateNested({ each: true })
  @Type(() => ServingProfileDeclarationDto)
  profiles!: ServingProfileDeclarationDto[];
}

/** What delivered usage confirmed of a declaration (docs/INFERENCE.md "Delivery confirms a declaration"). */
export class ServingDeliveryResponse {
  @ApiProperty({
    type: [Number],
    example: [1.31, 1.24, 1.18],
    description:
      'The best delivered multiples of the reference throughput, highest first: one per period whose token counts both sides agreed on or an admin decided (at most 3 kept)',
  })
  deliveredScales!: number[];
  @ApiProperty({
    example: 1.18,
    minimum: 1,
    description:
      'The multiple of the reference throughput sizing trusts, up to the declaration: the lowest of the best 3 periods once there are 3, else 1',
  })
  confirmedScale!: number;
}

export class ServingProfileResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) offerId!: string;
  @ApiProperty({ example: 'llama-3.3-70b-instruct' }) model!: string;
  @ApiProperty({ example: 8 }) concurrency!: number;
  @ApiProperty({ example: 2600 }) promptTokensPerSecondPerGpu!: number;
  @ApiProperty({ example: 400 }) outputTokensPerSecondPerGpu!: number;
  @ApiProperty({ example: 120 }) ttftP50Ms!: number;
  @ApiProperty({ example: 220 }) ttftP95Ms!: number;
  @ApiProperty({
    type: ReferenceFiguresResponse,
    nullable: true,
    description: 'The reference at the declared concurrency in the offer’s market; null when there is none',
  })
  reference!: ReferenceFiguresResponse | null;
  @ApiProperty({
    enum: FLAGS,
    isArray: true,
    description: 'Why the declaration is outside the review band of docs/INFERENCE.md; empty when within',
  })
  flags!: string[];
  @ApiProperty({ type: ServingDeliveryResponse })
  delivery!: ServingDeliveryResponse;
  @ApiProperty({
    enum: REVIEW_STATES,
    description:
      'NOT_FLAGGED and ACCEPTED profiles are used for sizing: per throughput the declaration capped by the reference times delivery.confirmedScale, per latency the higher of declared and reference',
  })
  review!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) reviewedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) reviewReason!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class ServingProfileListResponse {
  @ApiProperty({ type: [ServingProfileResponse] }) data!: ServingProfileResponse[];
}

export class AdminServingProfileResponse extends ServingProfileResponse {
  @ApiProperty({ format: 'uuid' }) organisationId!: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) reviewedByUserId!: string | null;
}

export class AdminServingProfilePageResponse {
  @ApiProperty({ type: [AdminServingProfileResponse] }) data!: AdminServingProfileResponse[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class AdminListServingProfilesQuery extends PageQuery {
  @ApiPropertyOptional({ enum: REVIEW_STATES, description: 'Absent: PENDING_REVIEW' })
  @IsOptional()
  @IsIn(REVIEW_STATES)
  review?: (typeof REVIEW_STATES)[number];
}

export class ReviewServingProfileDto {
  @ApiProperty({
    enum: ['ACCEPT', 'REJECT'],
    description: 'ACCEPT: sizing may use the profile; REJECT: it may not until the provider declares again',
  })
  @IsIn(['ACCEPT', 'REJECT'])
  decision!: 'ACCEPT' | 'REJECT';

  @ApiProperty({ example: 'Measured on site: 610 tokens/s per GPU with FP8 KV cache' })
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  @IsSafeText({ multiline: true })
  reason!: string;
}
