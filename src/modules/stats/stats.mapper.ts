import { formatMoney } from '@/shared/money';
import type { ModelSupply } from './domain/model-supply';
import type { ModelTradesRecord } from './stats-reads.repository';
import type { DemandSummary, SupplySummary, TradeBucket, TradeSummary } from './domain/stats-formulas';
import type {
  CandleResponse,
  DemandStatsResponse,
  ModelSupplyFiguresResponse,
  ModelTradesResponse,
  TradedPriceRangeResponse,
  SupplyStatsResponse,
  TradeStatsResponse,
} from './dto/stats.dto';

/** Statistics summaries into response bodies: money as decimal strings in the market currency. */
export class StatsMapper {
  static supply(s: SupplySummary): SupplyStatsResponse {
    return {
      offeredGpuHours: s.offeredGpuHours,
      leasedGpuHours: s.leasedGpuHours,
      idleGpuHours: s.idleGpuHours,
      utilisation: s.utilisation,
    };
  }

  static modelSupply(m: ModelSupply, scale: number): ModelSupplyFiguresResponse {
    return {
      providers: m.providers,
      offers: m.offers,
      freeGpus: m.freeGpus,
      servingGpus: m.servingGpus,
      outputTokensPerSecond: m.outputTokensPerSecond,
      promptTokensPerSecond: m.promptTokensPerSecond,
      tokensPerSecond: m.tokensPerSecond,
      lowestPricePerGpuHour: formatMoney(m.lowestPricePerGpuHour, scale),
      lowestPricePerMillionTokens: formatMoney(m.lowestPricePerMillionTokens, scale),
      meanPricePerMillionTokens: formatMoney(m.meanPricePerMillionTokens, scale),
    };
  }

  /** `showPrices` false hides prices (the public minimum-providers rule) but keeps counts. */
  static modelTrades(t: ModelTradesRecord, scale: number, showPrices: boolean): ModelTradesResponse {
    const range = (r: { vwap: bigint; low: bigint; high: bigint }): TradedPriceRangeResponse | null =>
      showPrices
        ? {
            vwap: formatMoney(r.vwap, scale),
            low: formatMoney(r.low, scale),
            high: formatMoney(r.high, scale),
          }
        : null;
    return {
      model: t.model,
      trades: t.trades,
      gpus: t.gpus,
      volumeGpuHours: Number(t.gpuHours),
      outputTokensPerSecond: Number(t.outputTokensPerSecond),
      promptTokensPerSecond: Number(t.promptTokensPerSecond),
      pricePerMillionTokens: range(t.pricePerMillionTokens),
      pricePerGpuHour: range(t.pricePerGpuHour),
    };
  }

  static demand(d: DemandSummary): DemandStatsResponse {
    return { ...d };
  }

  /** `showPrices` false hides prices (the public minimum-providers rule) but keeps counts. */
  static trades(t: TradeSummary, scale: number, showPrices: boolean): TradeStatsResponse {
    const p = showPrices ? t.prices : null;
    return {
      trades: t.trades,
      volumeGpuHours: t.volumeGpuHours,
      prices:
        p === null
          ? null
          : {
              open: formatMoney(p.open, scale),
              high: formatMoney(p.high, scale),
              low: formatMoney(p.low, scale),
              close: formatMoney(p.close, scale),
              vwap: formatMoney(p.vwap, scale),
            },
    };
  }

  static candle(b: TradeBucket, scale: number, showPrices: boolean): CandleResponse {
    const price = (v: bigint | null): string | null =>
      showPrices && v !== null ? formatMoney(v, scale) : null;
    return {
      start: b.bucketStart.toISOString(),
      trades: b.trades,
      volumeGpuHours: Number(b.tradedGpuHours),
      open: price(b.priceOpen),
      high: price(b.priceHigh),
      low: price(b.priceLow),
      close: price(b.priceClose),
    };
  }
}
