import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { PageQuery } from '@/infra/pagination/page';
import { ReliabilityResponse } from '@/modules/reliability/dto/reliability.response';
import { DivisionResponse } from './province.dto';
import { SloTermsResponse } from './slo-terms.response';
import { IdleWindowsResponse, WindowTimesResponse } from './idle-windows.response';
import { IsDivisionCode, IsMarketSlug } from '@/infra/http/field-validators';

export class ListingsQuery extends PageQuery {
  @ApiPropertyOptional({ example: 'nvidia-h100-80gb', description: 'Only this market' })
  @IsOptional()
  @IsMarketSlug()
  market?: string;

  @ApiPropertyOptional({ example: '520000', description: 'Only sites in this province (GB/T 2260 code)' })
  @IsOptional()
  @IsDivisionCode()
  province?: string;
}

export class ListingProviderResponse {
  @ApiProperty({ example: 'Guizhou Compute Co.', description: 'Public display name (no ids are shown)' })
  name!: string;
  @ApiProperty({
    type: ReliabilityResponse,
    description: "The provider's reliability score (docs/RELIABILITY.md)",
  })
  reliability!: ReliabilityResponse;
}

export class ListingServingResponse {
  @ApiProperty({ example: 'llama-3.3-70b-instruct', description: 'A catalogue model the offer serves' })
  model!: string;
  @ApiProperty({ example: 4, description: 'GPUs one copy of the model needs (the reference replica)' })
  gpusPerReplica!: number;
  @ApiProperty({
    example: 2600,
    description:
      'Prompt tokens/s per GPU sizing uses: the lower of declared and reference (docs/INFERENCE.md)',
  })
  promptTokensPerSecondPerGpu!: number;
  @ApiProperty({
    example: 400,
    description: 'Output tokens/s per GPU sizing uses: the lower of declared and reference',
  })
  outputTokensPerSecondPerGpu!: number;
  @ApiProperty({
    example: 220,
    description: 'TTFT p95 sizing uses: the higher of declared and reference, ms',
  })
  ttftP95Ms!: number;
  @ApiProperty({
    example: 4,
    description: 'Prompt tokens per output token the figures below are stated at: the reference workload',
  })
  promptToOutputRatio!: number;
  @ApiProperty({
    example: 4,
    description: 'Whole replicas the free GPUs hold (GPUs beyond them serve this model nothing)',
  })
  replicas!: number;
  @ApiProperty({
    example: 4210,
    description: 'Output tokens/s those replicas sustain at the ratio, rounded down',
  })
  outputTokensPerSecond!: number;
  @ApiProperty({ example: 16842, description: 'Prompt tokens/s alongside, rounded down' })
  promptTokensPerSecond!: number;
  @ApiProperty({ example: 21052, description: 'Both: the tokens/s available now' })
  tokensPerSecond!: number;
  @ApiProperty({
    example: '3.86',
    nullable: true,
    type: String,
    description:
      'The ask per GPU-hour per million tokens at the ratio with the GPUs fully used, rounded up: the lowest ' +
      'cap per million tokens an inference bid of that mix needs to reach this offer. Null if it serves no tokens',
  })
  pricePerMillionTokens!: string | null;
}

/** `nextWindowOpensAt` and `windowClosesAt` come from WindowTimesResponse, as on offers. */
export class ListingResponse extends WindowTimesResponse {
  @ApiProperty({ example: 'nvidia-h100-80gb' }) market!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ type: ListingProviderResponse }) provider!: ListingProviderResponse;
  @ApiProperty({ type: DivisionResponse }) province!: DivisionResponse;
  @ApiProperty({ type: DivisionResponse }) city!: DivisionResponse;
  @ApiProperty({ enum: ['TIER_I', 'TIER_II', 'TIER_III', 'TIER_IV'], description: 'Uptime Institute tier' })
  uptimeTier!: string;
  @ApiProperty({ example: 16, description: 'GPUs not held by leases' }) freeGpus!: number;
  @ApiProperty({ example: '18.20', description: 'Ask per GPU-hour, decimal string' })
  pricePerGpuHour!: string;
  @ApiProperty({ format: 'date-time' }) availableFrom!: string;
  @ApiProperty({ format: 'date-time' }) availableUntil!: string;
  @ApiProperty({ example: 1, description: 'Shortest lease the provider accepts, in hours' })
  minLeaseHours!: number;
  @ApiProperty({
    example: 30,
    description: 'Pay-per-use minimum: share of reserved GPU-seconds always billed',
  })
  payPerUseMinPercent!: number;
  @ApiProperty({
    example: 24,
    description:
      'Notice the provider gives before ending an ACTIVE lease early, in hours; ending it sooner pays the buyer a penalty (docs/LEASES.md)',
  })
  terminationNoticeHours!: number;
  @ApiProperty({
    type: [ListingServingResponse],
    description:
      'What the GPUs serve in inference terms: one line per model with a usable serving profile, by model ' +
      '(docs/INFERENCE.md "Market data in inference terms"); empty when the offer declares none',
  })
  serves!: ListingServingResponse[];
  @ApiProperty({
    type: () => SloTermsResponse,
    nullable: true,
    description: 'The service level promised per billing period; a miss credits the buyer (docs/SLO.md)',
  })
  slo!: SloTermsResponse | null;
  @ApiProperty({
    type: IdleWindowsResponse,
    nullable: true,
    description:
      'Recurring idle windows: the GPUs lease only inside them, or, for a bid that accepts ' +
      'interruption, until reclaimed at the notice (docs/LEASES.md "Idle windows"); null: the whole availability window',
  })
  idleWindows!: IdleWindowsResponse | null;
}

export class ListingPageResponse {
  @ApiProperty({ type: [ListingResponse] }) data!: ListingResponse[];
  @ApiProperty({ nullable: true, type: String, description: 'Null on the last page' }) nextCursor!:
    string | null;
}
