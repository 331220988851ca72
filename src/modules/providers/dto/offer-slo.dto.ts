import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsNumber, IsOptional, Max, Min } from 'class-validator';
import {
  DEFAULT_CREDIT_PERCENT,
  MAX_OUTPUT_TOKENS_PER_SECOND_PER_GPU,
  MAX_TTFT_MS,
} from '@/modules/providers/domain/offer-slo';

/** An offer's SLO as placed (docs/SLO.md); slo-rules' parseOfferSlo checks it again. */
export class OfferSloDto {
  @ApiProperty({
    minimum: 90,
    maximum: 99.99,
    example: 99.5,
    description: 'Availability promised per billing period, percent, at most two decimals (90.00..99.99)',
  })
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 })
  @Min(90)
  @Max(99.99)
  availabilityPercent!: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_TTFT_MS,
    example: 500,
    description: 'Inference leases: time to first token at p95 at most this, ms',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_TTFT_MS)
  ttftP95Ms?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_OUTPUT_TOKENS_PER_SECOND_PER_GPU,
    example: 250,
    description: 'Inference leases: sustained output tokens/s per leased GPU at least this',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_OUTPUT_TOKENS_PER_SECOND_PER_GPU)
  outputTokensPerSecondPerGpu?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 100,
    default: DEFAULT_CREDIT_PERCENT,
    description:
      "Share of a missed period's charge credited to the buyer, percent (at most the period's proceeds)",
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  creditPercent?: number;
}
