import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsNumber, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { MODEL_SLUG_PATTERN } from '@/modules/inference/domain/model-slug';
import {
  MAX_INFERENCE_TOKENS_PER_SECOND,
  MAX_PROMPT_TO_OUTPUT_RATIO,
  MAX_TTFT_SLO_MS,
} from '../domain/inference-bid-rules';
import {
  MAX_TAKE_OR_PAY_PERCENT,
  MIN_TAKE_OR_PAY_PERCENT,
  TAKE_OR_PAY_PERCENT,
} from '@/modules/inference/domain/inference-pricing';

/** docs/INFERENCE.md "Inference bids": demand in model terms, sized into GPUs by the exchange. */
export class InferenceBidTermsDto {
  @ApiProperty({ example: 'llama-3.3-70b-instruct', description: 'Model slug (GET /v1/inference/models)' })
  @IsString()
  @MaxLength(64)
  @Matches(MODEL_SLUG_PATTERN, { message: 'model must be a model slug such as "llama-3.3-70b-instruct"' })
  model!: string;

  @ApiProperty({
    minimum: 1,
    maximum: MAX_INFERENCE_TOKENS_PER_SECOND,
    example: 2000,
    description: 'Sustained output tokens per second',
  })
  @IsInt()
  @Min(1)
  @Max(MAX_INFERENCE_TOKENS_PER_SECOND)
  outputTokensPerSecond!: number;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_INFERENCE_TOKENS_PER_SECOND,
    example: 8000,
    description: 'Sustained prompt tokens per second; give this or promptToOutputRatio',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_INFERENCE_TOKENS_PER_SECOND)
  promptTokensPerSecond?: number;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_PROMPT_TO_OUTPUT_RATIO,
    example: 4,
    description:
      'Prompt tokens per output token, up to 2 decimals (4 for 4:1); give this or promptTokensPerSecond. ' +
      'Prompt tokens/s = output x ratio, rounded up',
  })
  @IsOptional()
  @IsNumber({ maxDecimalPlaces: 2, allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(MAX_PROMPT_TO_OUTPUT_RATIO)
  promptToOutputRatio?: number;

  @ApiProperty({
    minimum: 1,
    maximum: MAX_TTFT_SLO_MS,
    example: 300,
    description: 'Latency SLO: time to first token at p95, at most this many milliseconds',
  })
  @IsInt()
  @Min(1)
  @Max(MAX_TTFT_SLO_MS)
  ttftP95Ms!: number;

  @ApiProperty({
    example: '6.00',
    description:
      'Price cap per million tokens (prompt and output alike), decimal string in the market currency (max 1000000.00)',
  })
  @IsString()
  @MaxLength(64)
  maxPricePerMillionTokens!: string;

  @ApiPropertyOptional({
    minimum: MIN_TAKE_OR_PAY_PERCENT,
    maximum: MAX_TAKE_OR_PAY_PERCENT,
    default: TAKE_OR_PAY_PERCENT,
    example: 50,
    description:
      "Per-token billing's take-or-pay share: the percentage of each period's sized capacity you pay for " +
      'whatever you use (docs/INFERENCE.md "Per-token billing"); whole percent, 50 when absent. The bid takes ' +
      'only offers whose payPerUseMinPercent is at most this (quote exclusion TAKE_OR_PAY)',
  })
  @IsOptional()
  @IsInt()
  @Min(MIN_TAKE_OR_PAY_PERCENT)
  @Max(MAX_TAKE_OR_PAY_PERCENT)
  takeOrPayPercent?: number;
}

export class InferenceBidTermsResponse {
  @ApiProperty({ example: 'llama-3.3-70b-instruct' }) model!: string;
  @ApiProperty({ example: 2000 }) outputTokensPerSecond!: number;
  @ApiProperty({ example: 8000, description: 'Given, or output x ratio rounded up' })
  promptTokensPerSecond!: number;
  @ApiProperty({ example: 300 }) ttftP95Ms!: number;
  @ApiProperty({ example: '6.00' }) maxPricePerMillionTokens!: string;
  @ApiProperty({
    nullable: true,
    type: Number,
    example: 4,
    description:
      "The bid's lot: GPUs of one replica of the model. Each site's share of the bid is a whole number " +
      'of lots (docs/MATCHING.md "Lots"); null on a bid placed before lots existed',
  })
  gpusPerReplica!: number | null;
  @ApiProperty({
    example: 50,
    description:
      "Per-token billing's take-or-pay share of each period's sized capacity (the bid's, 50 by default), " +
      'copied onto each lease at match ' +
      '(docs/INFERENCE.md "Per-token billing")',
  })
  takeOrPayPercent!: number;
  @ApiProperty({
    example: '36000000',
    description:
      'Tokens an hour the minimum charges for over the whole sized demand: (prompt + output) x 3,600 x percent / 100',
  })
  minimumTokensPerHour!: string;
}

/** One other bid the exchange could size and fill: the nearest feasible alternatives of a 422. */
export class InferenceAlternativeResponse {
  @ApiProperty({ enum: ['MARKET', 'REGION', 'MODEL', 'THROUGHPUT'], description: 'What it changes' })
  change!: string;
  @ApiProperty({ example: 'llama-3.3-70b-instruct' }) model!: string;
  @ApiProperty({ example: 'nvidia-h100-80gb' }) market!: string;
  @ApiProperty({ type: [String], description: 'Provinces; empty means anywhere' }) provinces!: string[];
  @ApiProperty() outputTokensPerSecond!: number;
  @ApiProperty() promptTokensPerSecond!: number;
  @ApiProperty({ description: 'GPUs it would be sized into' }) gpus!: number;
  @ApiProperty({ description: 'GPUs the supply could fill now at any price' }) fillableGpus!: number;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '5.20',
    description: 'Price per million tokens at the volume-weighted ask of that supply: the cap it needs',
  })
  expectedPricePerMillionTokens!: string | null;
}
