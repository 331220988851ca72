import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, Matches } from 'class-validator';
import { IsMarketSlug } from '@/infra/http/field-validators';
import { MODEL_SLUG_PATTERN } from '@/modules/inference/domain/model-slug';
import { ReliabilityResponse } from '@/modules/reliability/dto/reliability.response';
import { STATS_WINDOWS, type StatsWindow } from '../domain/stats-windows';

export class StatsWindowQuery {
  @ApiPropertyOptional({
    enum: STATS_WINDOWS,
    default: 'day',
    description: 'The last complete hour, 24 hours or 168 hours (the hour in progress is not included)',
  })
  @IsOptional()
  @IsIn(STATS_WINDOWS)
  window?: StatsWindow;
}

export class AdminStatsQuery extends StatsWindowQuery {
  @ApiPropertyOptional({ example: 'nvidia-h100-80gb', description: 'One market only' })
  @IsOptional()
  @IsMarketSlug()
  market?: string;
}

export class PriceSuggestionQuery {
  @ApiProperty({ example: 'nvidia-h100-80gb' })
  @IsMarketSlug()
  market!: string;

  @ApiProperty({
    format: 'uuid',
    description: 'One of your sites: comparable offers are those in its province',
  })
  @IsUUID()
  site!: string;

  @ApiPropertyOptional({
    example: 'llama-3.3-70b-instruct',
    description:
      'Also state the suggestion per million tokens of this model: at the offer’s figures when `offer` is given, ' +
      'else at the reference profile of the market’s GPU (concurrency 8)',
  })
  @IsOptional()
  @IsString()
  @Matches(MODEL_SLUG_PATTERN, { message: 'model must be a model slug such as "llama-3.3-70b-instruct"' })
  model?: string;

  @ApiPropertyOptional({
    format: 'uuid',
    description:
      'One of your offers in this market at this site; with `model`, the figures are those sizing trusts for it ' +
      '(the lower of declared and reference)',
  })
  @IsOptional()
  @IsUUID()
  offer?: string;
}

export class SupplyStatsResponse {
  @ApiProperty({ example: 120.5, description: 'GPU-hours inside offers’ availability windows' })
  offeredGpuHours!: number;
  @ApiProperty({ example: 80, description: 'GPU-hours of those windows held by leases (match to end)' })
  leasedGpuHours!: number;
  @ApiProperty({ example: 40.5, description: 'offered - leased' }) idleGpuHours!: number;
  @ApiProperty({
    example: 0.6639,
    nullable: true,
    type: Number,
    description: 'leased / offered; null if nothing offered',
  })
  utilisation!: number | null;
}

export class DemandStatsResponse {
  @ApiProperty({ example: 12, description: 'Bids that filled, expired or were cancelled in the window' })
  closedBids!: number;
  @ApiProperty({ example: 96, description: 'GPU-hours (GPUs x duration) of those bids' })
  closedBidGpuHours!: number;
  @ApiProperty({ example: 72, description: 'Filled GPU-hours of those bids' }) filledGpuHours!: number;
  @ApiProperty({ example: 0.75, nullable: true, type: Number, description: 'filled / closed bid GPU-hours' })
  fillRate!: number | null;
  @ApiProperty({ example: 24, description: 'Unfilled GPU-hours of bids that expired or were cancelled' })
  unmetGpuHours!: number;
  @ApiProperty({ example: 16 }) unmetExpiredGpuHours!: number;
  @ApiProperty({ example: 8 }) unmetCancelledGpuHours!: number;
  @ApiProperty({ example: 2, description: 'Bids whose first fill fell in the window' }) firstFills!: number;
  @ApiProperty({ example: 1, description: 'Bids completely filled in the window' }) fullFills!: number;
  @ApiProperty({
    example: 420,
    nullable: true,
    type: Number,
    description: 'Mean seconds from placement to first fill',
  })
  meanSecondsToFirstFill!: number | null;
  @ApiProperty({
    example: 900,
    nullable: true,
    type: Number,
    description: 'Mean seconds from placement to full fill',
  })
  meanSecondsToFullFill!: number | null;
}

export class PriceStatsResponse {
  @ApiProperty({ example: '18.20' }) open!: string;
  @ApiProperty({ example: '19.00' }) high!: string;
  @ApiProperty({ example: '17.50' }) low!: string;
  @ApiProperty({ example: '18.80' }) close!: string;
  @ApiProperty({ example: '18.41', description: 'Volume-weighted by GPU-hours, rounded down' }) vwap!: string;
}

export class TradeStatsResponse {
  @ApiProperty({ example: 5, description: 'Leases created in the window' }) trades!: number;
  @ApiProperty({ example: 40, description: 'GPU-hours (GPUs x duration) of those leases' })
  volumeGpuHours!: number;
  @ApiProperty({
    type: PriceStatsResponse,
    nullable: true,
    description:
      'Trade prices per GPU-hour; null without trades (or, in public, behind fewer providers than the minimum)',
  })
  prices!: PriceStatsResponse | null;
}

export class CandleResponse {
  @ApiProperty({ format: 'date-time' }) start!: string;
  @ApiProperty({ example: 2 }) trades!: number;
  @ApiProperty({ example: 16 }) volumeGpuHours!: number;
  @ApiProperty({ example: '18.20', nullable: true, type: String }) open!: string | null;
  @ApiProperty({ example: '19.00', nullable: true, type: String }) high!: string | null;
  @ApiProperty({ example: '17.50', nullable: true, type: String }) low!: string | null;
  @ApiProperty({ example: '18.80', nullable: true, type: String }) close!: string | null;
}

export class ModelSupplyFiguresResponse {
  @ApiProperty({ example: 3, description: 'Distinct providers with at least one whole replica free' })
  providers!: number;
  @ApiProperty({ example: 4, description: 'Their offers' }) offers!: number;
  @ApiProperty({ example: 26, description: 'Free GPUs of those offers' }) freeGpus!: number;
  @ApiProperty({ example: 24, description: 'Of those, GPUs in whole replicas of the model' })
  servingGpus!: number;
  @ApiProperty({ example: 6300, description: 'Output tokens/s the serving GPUs sustain at the ratio' })
  outputTokensPerSecond!: number;
  @ApiProperty({ example: 25200, description: 'Prompt tokens/s alongside' }) promptTokensPerSecond!: number;
  @ApiProperty({ example: 31500, description: 'Both: tokens/s available now' }) tokensPerSecond!: number;
  @ApiProperty({ example: '17.50', description: 'The cheapest ask per GPU-hour among them' })
  lowestPricePerGpuHour!: string;
  @ApiProperty({
    example: '3.71',
    description: 'The cheapest offer’s ask per million tokens at the ratio, GPUs fully used, rounded up',
  })
  lowestPricePerMillionTokens!: string;
  @ApiProperty({
    example: '3.98',
    description:
      'Every serving GPU’s ask per hour over the tokens they serve in an hour, per million, rounded up: the price ' +
      'per million tokens of all of it',
  })
  meanPricePerMillionTokens!: string;
}

export class ModelProvinceSupplyResponse extends ModelSupplyFiguresResponse {
  @ApiProperty({ example: '520000' }) provinceCode!: string;
}

export class ModelSupplyResponse extends ModelSupplyFiguresResponse {
  @ApiProperty({ example: 'llama-3.3-70b-instruct' }) model!: string;
  @ApiProperty({ type: [ModelProvinceSupplyResponse], description: 'The same by province of the site' })
  provinces!: ModelProvinceSupplyResponse[];
}

export class ModelSupplyListResponse {
  @ApiProperty({ format: 'date-time', description: 'The instant described: live offers, not the window' })
  asOf!: string;
  @ApiProperty({
    example: 4,
    description: 'Prompt tokens per output token the token figures are stated at: the reference workload',
  })
  promptToOutputRatio!: number;
  @ApiProperty({
    type: [ModelSupplyResponse],
    description: 'Models served by at least one whole free replica, by slug',
  })
  models!: ModelSupplyResponse[];
}

export class TradedPriceRangeResponse {
  @ApiProperty({ example: '7.49', description: 'Volume-weighted mean, rounded down' }) vwap!: string;
  @ApiProperty({ example: '6.66' }) low!: string;
  @ApiProperty({ example: '8.33' }) high!: string;
}

export class ModelTradesResponse {
  @ApiProperty({ example: 'qwen2.5-7b-instruct' }) model!: string;
  @ApiProperty({ example: 2, description: 'Leases of inference bids for the model created in the window' })
  trades!: number;
  @ApiProperty({ example: 4, description: 'Their GPUs' }) gpus!: number;
  @ApiProperty({ example: 4, description: 'GPU-hours (GPUs x duration) of those leases' })
  volumeGpuHours!: number;
  @ApiProperty({ example: 2000, description: 'Output tokens/s those leases were sized for, summed' })
  outputTokensPerSecond!: number;
  @ApiProperty({ example: 2000, description: 'Prompt tokens/s alongside' }) promptTokensPerSecond!: number;
  @ApiProperty({
    type: TradedPriceRangeResponse,
    nullable: true,
    description:
      'The leases’ prices per million tokens (prompt and output alike), the mean weighted by the tokens each ' +
      'was sized for over its duration; null behind fewer providers than minProviders',
  })
  pricePerMillionTokens!: TradedPriceRangeResponse | null;
  @ApiProperty({
    type: TradedPriceRangeResponse,
    nullable: true,
    description:
      'Their trade prices per GPU-hour, the mean weighted by GPU-hours; null behind fewer providers than minProviders',
  })
  pricePerGpuHour!: TradedPriceRangeResponse | null;
}

export class MarketStatsResponse {
  @ApiProperty({ example: 'nvidia-h100-80gb' }) market!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ enum: STATS_WINDOWS }) window!: StatsWindow;
  @ApiProperty({ format: 'date-time', description: 'Start of the first hour covered' }) from!: string;
  @ApiProperty({ format: 'date-time', description: 'End of the last hour covered (exclusive)' }) to!: string;
  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'When the newest snapshot of the window was computed; null if none yet',
  })
  computedAt!: string | null;
  @ApiProperty({
    example: 2,
    description: 'Public figures on supply and prices need at least this many distinct providers behind them',
  })
  minProviders!: number;
  @ApiProperty({
    type: SupplyStatsResponse,
    nullable: true,
    description: 'Null when fewer providers than minProviders offered',
  })
  supply!: SupplyStatsResponse | null;
  @ApiProperty({ type: DemandStatsResponse }) demand!: DemandStatsResponse;
  @ApiProperty({ type: TradeStatsResponse }) trades!: TradeStatsResponse;
  @ApiProperty({
    type: [CandleResponse],
    description:
      'Hourly candles with trades, oldest first; prices null when behind fewer providers than minProviders',
  })
  candles!: CandleResponse[];
  @ApiProperty({
    type: ModelSupplyListResponse,
    description:
      'Supply now in inference terms, per model and province: tokens/s available and prices per million tokens ' +
      'beside asks per GPU-hour (docs/STATS.md "Supply by model"). The offers public listings show, summed',
  })
  supplyByModel!: ModelSupplyListResponse;
  @ApiProperty({
    type: [ModelTradesResponse],
    description:
      'Trades of inference bids in the window per model, by slug: counts, throughput bought and prices per ' +
      'million tokens beside prices per GPU-hour (docs/STATS.md "Trades by model"). Read from the leases at ' +
      'the request; prices null when fewer than `minProviders` distinct providers are behind the model’s trades',
  })
  tradesByModel!: ModelTradesResponse[];
}

export class ProvinceStatsResponse extends SupplyStatsResponse {
  @ApiProperty({ example: '520000' }) provinceCode!: string;
  @ApiProperty({ example: 3, description: 'Distinct providers with capacity offered' }) providers!: number;
}

export class StaleBidsResponse {
  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'End of the newest hour counted',
  })
  asOf!: string | null;
  @ApiProperty({ example: 3, description: 'Bids open for more than an hour at that instant' }) bids!: number;
  @ApiProperty({ example: 24, description: 'Their unfilled GPU-hours' }) unfilledGpuHours!: number;
}

export class AdminMarketStatsResponse {
  @ApiProperty({ example: 'nvidia-h100-80gb' }) market!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ type: SupplyStatsResponse }) supply!: SupplyStatsResponse;
  @ApiProperty({ type: [ProvinceStatsResponse], description: 'Supply by province of the offering site' })
  provinces!: ProvinceStatsResponse[];
  @ApiProperty({ type: DemandStatsResponse }) demand!: DemandStatsResponse;
  @ApiProperty({
    type: StaleBidsResponse,
    description: 'Open bids older than an hour, at the end of the window',
  })
  openBidsOlderThanAnHour!: StaleBidsResponse;
  @ApiProperty({ type: TradeStatsResponse }) trades!: TradeStatsResponse;
  @ApiProperty({ type: [CandleResponse] }) candles!: CandleResponse[];
}

export class AdminStatsResponse {
  @ApiProperty({ enum: STATS_WINDOWS }) window!: StatsWindow;
  @ApiProperty({ format: 'date-time' }) from!: string;
  @ApiProperty({ format: 'date-time' }) to!: string;
  @ApiProperty({ type: [AdminMarketStatsResponse] }) markets!: AdminMarketStatsResponse[];
}

export class SiteStatsResponse extends SupplyStatsResponse {
  @ApiProperty({ format: 'uuid' }) siteId!: string;
  @ApiProperty({ example: 'Guiyang hall 1' }) siteName!: string;
  @ApiProperty({ example: '520000' }) provinceCode!: string;
  @ApiProperty({ example: 'nvidia-h100-80gb' }) market!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({
    example: 6,
    description:
      'Free GPUs of your open offers inside their availability window right now; an offer with idle ' +
      'windows counts only while one is open (docs/STATS.md)',
  })
  freeGpusNow!: number;
  @ApiProperty({
    example: '1164.00',
    description:
      'Your proceeds (cost - platform fee) of periods settled in the window; statements: GET /v1/billing/earnings',
  })
  proceeds!: string;
}

export class ProviderStatsResponse {
  @ApiProperty({ enum: STATS_WINDOWS }) window!: StatsWindow;
  @ApiProperty({ format: 'date-time' }) from!: string;
  @ApiProperty({ format: 'date-time' }) to!: string;
  @ApiProperty({
    type: ReliabilityResponse,
    description:
      'Your reliability score now, as buyers see it on listings, the book and quotes, with its components ' +
      '(docs/RELIABILITY.md; also GET /v1/providers/reliability)',
  })
  reliability!: ReliabilityResponse;
  @ApiProperty({ type: [SiteStatsResponse], description: 'One row per site and market' })
  sites!: SiteStatsResponse[];
}

export class PriceSuggestionInferenceResponse {
  @ApiProperty({ example: 'llama-3.3-70b-instruct' }) model!: string;
  @ApiProperty({
    enum: ['OFFER', 'REFERENCE'],
    description:
      'OFFER: the offer’s figures as sizing trusts them (lower of declared and reference); REFERENCE: the ' +
      'reference profile of the market’s GPU at concurrency 8',
  })
  basis!: 'OFFER' | 'REFERENCE';
  @ApiProperty({ example: 2600 }) promptTokensPerSecondPerGpu!: number;
  @ApiProperty({ example: 400 }) outputTokensPerSecondPerGpu!: number;
  @ApiProperty({ example: 4, description: 'Prompt tokens per output token: the reference workload' })
  promptToOutputRatio!: number;
  @ApiProperty({ example: 4726492, description: 'Tokens one GPU-hour serves at the ratio, rounded down' })
  tokensPerGpuHour!: number;
  @ApiProperty({
    example: '3.92',
    nullable: true,
    type: String,
    description:
      'The suggested ask per million tokens at the ratio, GPUs fully used, rounded up; null with no suggestion',
  })
  suggestedPricePerMillionTokens!: string | null;
}

export class PriceSuggestionResponse {
  @ApiProperty({ example: 'nvidia-h100-80gb' }) market!: string;
  @ApiProperty({ format: 'uuid' }) siteId!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({
    enum: ['province', 'market'],
    description: 'Comparable offers: the site’s province, or the whole market when the province has too few',
  })
  scope!: 'province' | 'market';
  @ApiProperty({ example: 0.8, description: 'The 24 h lease chance the suggestion aims for' })
  target!: number;
  @ApiProperty({ example: 20, description: 'Fewest comparable offers behind a chance' }) minSample!: number;
  @ApiProperty({ example: 30 }) lookbackDays!: number;
  @ApiProperty({ description: 'True when fewer than minSample comparable offers exist' })
  insufficientData!: boolean;
  @ApiProperty({ example: '18.50', nullable: true, type: String }) suggestedAsk!: string | null;
  @ApiProperty({
    example: 0.82,
    nullable: true,
    type: Number,
    description:
      'Chance that an offer at the suggested ask is leased within 24 h: the fitted share of comparable offers ' +
      'priced around it (not of all cheaper ones)',
  })
  chance!: number | null;
  @ApiProperty({
    example: 57,
    description: 'Comparable offers the chance is pooled from (all comparable ones if insufficient)',
  })
  sampleSize!: number;
  @ApiProperty({ nullable: true, type: Boolean, description: 'False when no ask reached the target' })
  meetsTarget!: boolean | null;
  @ApiPropertyOptional({
    type: PriceSuggestionInferenceResponse,
    nullable: true,
    description: 'With `model`: the suggestion per million tokens of that model; absent without',
  })
  inference?: PriceSuggestionInferenceResponse;
}
