import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { PlaceBidDto } from './place-bid.dto';
import { PublicProviderResponse } from '@/modules/reliability/dto/public-provider.response';
import { InferenceAlternativeResponse } from './inference-bid.dto';
import { WindowTimesResponse } from '@/modules/markets/dto/idle-windows.response';

/** A bid as it would be placed, without expiry: a quote is for now. */
export class QuoteBidDto extends OmitType(PlaceBidDto, ['expiresAt'] as const) {}

/** `nextWindowOpensAt` and `windowClosesAt`: the site's offers this quote takes, combined. */
export class QuotedSiteResponse extends WindowTimesResponse {
  @ApiProperty({ example: '520000', description: 'GB/T 2260 province code; sites stay anonymous' })
  province!: string;

  @ApiProperty({ example: 8 })
  gpus!: number;

  @ApiProperty({
    type: PublicProviderResponse,
    description:
      "The site's provider: display name and reliability score with its components (docs/RELIABILITY.md); " +
      'the site itself stays anonymous',
  })
  provider!: PublicProviderResponse;
}

export class QuoteExclusionResponse {
  @ApiProperty({
    enum: [
      'MODEL',
      'TTFT_SLO',
      'THROUGHPUT',
      'TAKE_OR_PAY',
      'PRICE',
      'PROVINCE',
      'RELIABILITY',
      'WINDOW',
      'MIN_LEASE',
      'CO_LOCATION',
    ],
    description:
      'MODEL, TTFT_SLO, THROUGHPUT and TAKE_OR_PAY only for inference bids: the offer does not serve the model, ' +
      'not within the TTFT p95 SLO, at figures that would need more GPUs than the bid is sized into, or with a ' +
      "pay-per-use floor (payPerUseMinPercent) above the bid's takeOrPayPercent",
  })
  constraint!: string;

  @ApiProperty({ description: 'Free GPUs of offers excluded by this constraint (each offer counted once)' })
  gpus!: number;
}

export class CheapestExcludedResponse {
  @ApiProperty({ example: '18.20', description: 'Ask per GPU-hour in the market currency' })
  price!: string;

  @ApiProperty({ example: '520000' })
  province!: string;
}

export class InferenceMarketRankResponse {
  @ApiProperty({ example: 'nvidia-h100-80gb' }) market!: string;
  @ApiProperty() gpus!: number;
  @ApiProperty({ description: 'GPUs fillable now at the implied GPU-hour cap' }) fillableGpus!: number;
  @ApiProperty({ nullable: true, type: String, example: '5.20' })
  expectedPricePerMillionTokens!: string | null;
}

/** Per-token billing's take-or-pay minimum of the sized demand (docs/INFERENCE.md "Per-token billing"). */
export class TakeOrPayResponse {
  @ApiProperty({
    example: 50,
    description:
      "Share of each period's sized capacity (prompt + output tokens/s x its seconds) the buyer pays for whatever it uses",
  })
  percent!: number;
  @ApiProperty({
    example: '18000000',
    description: '(prompt + output tokens/s) x 3,600 x percent / 100, rounded down',
  })
  minimumTokensPerHour!: string;
  @ApiProperty({
    example: '108.00',
    description: 'What those tokens cost at the cap per million, rounded down',
  })
  minimumChargePerHourAtCap!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '93.60',
    description: 'What they cost at expectedPricePerMillionTokens; null when it is',
  })
  expectedMinimumChargePerHour!: string | null;
}

export class InferenceQuoteResponse {
  @ApiProperty({ example: 'llama-3.3-70b-instruct' }) model!: string;
  @ApiProperty({ description: 'GPUs the bid is sized into in this market', example: 12 }) gpus!: number;
  @ApiProperty({ description: 'GPUs of one replica of the model; each site takes at least one', example: 4 })
  gpusPerReplica!: number;
  @ApiProperty({ description: 'Co-location minimum the bid trades with', example: 4 })
  minGpusPerSite!: number;
  @ApiProperty({ example: 2000 }) outputTokensPerSecond!: number;
  @ApiProperty({ example: 8000 }) promptTokensPerSecond!: number;
  @ApiProperty({
    example: '10.00',
    description: 'The GPU-hour price cap the per-million-token cap implies on these GPUs, rounded down',
  })
  maxPricePerGpuHour!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '5.20',
    description:
      "Price per million tokens at the quote's volume-weighted ask (or, when nothing fills at the cap, at the ask of the supply that would)",
  })
  expectedPricePerMillionTokens!: string | null;
  @ApiProperty({ description: 'GPUs the supply could fill at any price' }) supplyGpus!: number;
  @ApiProperty({
    type: TakeOrPayResponse,
    description: 'The take-or-pay minimum every lease of the bid will carry; billing is per token above it',
  })
  takeOrPay!: TakeOrPayResponse;
  @ApiProperty({
    type: [InferenceMarketRankResponse],
    description: 'Markets that could take the bid, best first',
  })
  markets!: InferenceMarketRankResponse[];
}

/** The body of a 422 MODEL_NOT_SERVED or THROUGHPUT_UNREACHABLE, as `details`. */
export class InferenceRefusalDetails {
  @ApiProperty({ type: [InferenceAlternativeResponse] }) alternatives!: InferenceAlternativeResponse[];
}

export class QuoteResponse {
  @ApiProperty({ example: 'nvidia-h100-80gb' }) market!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({
    description: 'GPUs a match would fill now (0 for an all-or-nothing bid that cannot fill whole)',
  })
  fillableGpus!: number;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '18.33',
    description: 'Volume-weighted price, rounded down',
  })
  vwap!: string | null;
  @ApiProperty({ type: [QuotedSiteResponse] }) sites!: QuotedSiteResponse[];
  @ApiProperty({ type: [QuoteExclusionResponse] }) excluded!: QuoteExclusionResponse[];
  @ApiPropertyOptional({ type: CheapestExcludedResponse, nullable: true })
  cheapestExcluded!: CheapestExcludedResponse | null;
  @ApiProperty({
    example: 'No offer in your provinces at or below your price; cheapest 18.20 CNY/GPU-h in 520000.',
    description: 'One sentence for people',
  })
  summary!: string;
  @ApiProperty({
    enum: ['CONTINUOUS', 'CALL'],
    description: 'How the market matches: CONTINUOUS as orders arrive, CALL once per window',
  })
  matchingMode!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '2026-12-01T00:00:01.000Z',
    description:
      'CALL markets: when the market next clears, the next multiple of its window plus its phase (a bid placed now ' +
      'is in that clearing, or the one a window later when the exchange learns of it after the ' +
      'instant). The fill above is what the book could give it now; a clearing may allocate ' +
      'differently (docs/MATCHING.md "What a buyer observes"). Null for CONTINUOUS markets.',
  })
  nextClearingAt!: string | null;
  @ApiPropertyOptional({
    type: InferenceQuoteResponse,
    nullable: true,
    description: 'Inference bids only: the sizing and the price per million tokens',
  })
  inference?: InferenceQuoteResponse | null;
}
