/**
 * The statistics formulas over hourly snapshot buckets (docs/STATS.md). Pure:
 * the refresh job fills buckets with sums and counts; these turn any run of buckets into rates,
 * means and candles, so every window is exactly the sum of its hours.
 */

export interface SupplyBucket {
  offeredGpuSeconds: bigint;
  leasedGpuSeconds: bigint;
}

export interface SupplySummary {
  offeredGpuHours: number;
  leasedGpuHours: number;
  idleGpuHours: number;
  /** leased / offered GPU-hours, 0..1; null when nothing was offered. */
  utilisation: number | null;
}

export interface DemandBucket {
  closedBids: number;
  closedBidGpuHours: bigint;
  closedFilledGpuHours: bigint;
  unmetExpiredGpuHours: bigint;
  unmetCancelledGpuHours: bigint;
  firstFills: number;
  firstFillWaitSeconds: bigint;
  fullFills: number;
  fullFillWaitSeconds: bigint;
}

export interface DemandSummary {
  closedBids: number;
  closedBidGpuHours: number;
  filledGpuHours: number;
  /** Filled / demanded GPU-hours of the bids that closed in the window; null when none closed. */
  fillRate: number | null;
  unmetGpuHours: number;
  unmetExpiredGpuHours: number;
  unmetCancelledGpuHours: number;
  /** Mean wait from a bid's placement to its first fill, over first fills in the window. */
  meanSecondsToFirstFill: number | null;
  meanSecondsToFullFill: number | null;
  firstFills: number;
  fullFills: number;
}

export interface TradeBucket {
  bucketStart: Date;
  trades: number;
  tradedGpuHours: bigint;
  tradeProviders: number;
  priceOpen: bigint | null;
  priceHigh: bigint | null;
  priceLow: bigint | null;
  priceClose: bigint | null;
  notionalMinor: bigint;
}

export interface PriceSummary {
  open: bigint;
  high: bigint;
  low: bigint;
  close: bigint;
  /** Volume-weighted average price, floor of notional / GPU-hours. */
  vwap: bigint;
}

export interface TradeSummary {
  trades: number;
  volumeGpuHours: number;
  prices: PriceSummary | null;
}

/** GPU-seconds as GPU-hours, rounded to 3 decimals for display. */
export function gpuHours(gpuSeconds: bigint): number {
  return Math.round(Number(gpuSeconds) / 3.6) / 1000;
}

/** A share rounded to 4 decimals; null when the denominator is 0. */
export function ratio(numerator: bigint | number, denominator: bigint | number): number | null {
  const d = Number(denominator);
  if (d === 0) return null;
  return Math.round((Number(numerator) / d) * 10_000) / 10_000;
}

const sum = <T>(rows: readonly T[], pick: (row: T) => bigint): bigint =>
  rows.reduce((total, row) => total + pick(row), 0n);

/** utilisation = leased / offered GPU-hours; idle = offered - leased (never below 0). */
export function summariseSupply(buckets: readonly SupplyBucket[]): SupplySummary {
  const offered = sum(buckets, (b) => b.offeredGpuSeconds);
  const leased = sum(buckets, (b) => b.leasedGpuSeconds);
  const idle = offered > leased ? offered - leased : 0n;
  return {
    offeredGpuHours: gpuHours(offered),
    leasedGpuHours: gpuHours(leased),
    idleGpuHours: gpuHours(idle),
    utilisation: ratio(leased, offered),
  };
}

/** Fill rate by GPU-hours, unmet demand and mean times to first and full fill. */
export function summariseDemand(buckets: readonly DemandBucket[]): DemandSummary {
  const closed = sum(buckets, (b) => b.closedBidGpuHours);
  const filled = sum(buckets, (b) => b.closedFilledGpuHours);
  const expired = sum(buckets, (b) => b.unmetExpiredGpuHours);
  const cancelled = sum(buckets, (b) => b.unmetCancelledGpuHours);
  const firstFills = buckets.reduce((n, b) => n + b.firstFills, 0);
  const fullFills = buckets.reduce((n, b) => n + b.fullFills, 0);
  const mean = (seconds: bigint, count: number): number | null =>
    count === 0 ? null : Math.round(Number(seconds) / count);
  return {
    closedBids: buckets.reduce((n, b) => n + b.closedBids, 0),
    closedBidGpuHours: Number(closed),
    filledGpuHours: Number(filled),
    fillRate: ratio(filled, closed),
    unmetGpuHours: Number(expired + cancelled),
    unmetExpiredGpuHours: Number(expired),
    unmetCancelledGpuHours: Number(cancelled),
    meanSecondsToFirstFill: mean(
      sum(buckets, (b) => b.firstFillWaitSeconds),
      firstFills,
    ),
    meanSecondsToFullFill: mean(
      sum(buckets, (b) => b.fullFillWaitSeconds),
      fullFills,
    ),
    firstFills,
    fullFills,
  };
}

interface PricedBucket {
  bucketStart: Date;
  open: bigint;
  high: bigint;
  low: bigint;
  close: bigint;
}

const priced = (b: TradeBucket): PricedBucket[] =>
  b.trades > 0 && b.priceOpen !== null && b.priceHigh !== null && b.priceLow !== null && b.priceClose !== null
    ? [
        {
          bucketStart: b.bucketStart,
          open: b.priceOpen,
          high: b.priceHigh,
          low: b.priceLow,
          close: b.priceClose,
        },
      ]
    : [];

/**
 * Window OHLC from hourly candles: open of the first hour with trades, close of the last,
 * extremes over all; VWAP = floor(sum(price x GPU-hours) / GPU-hours).
 */
export function summariseTrades(buckets: readonly TradeBucket[]): TradeSummary {
  const candles = buckets.flatMap(priced).sort((a, b) => a.bucketStart.getTime() - b.bucketStart.getTime());
  const volume = sum(buckets, (b) => b.tradedGpuHours);
  const trades = buckets.reduce((n, b) => n + b.trades, 0);
  const first = candles[0];
  const last = candles[candles.length - 1];
  if (first === undefined || last === undefined || volume === 0n) {
    return { trades, volumeGpuHours: Number(volume), prices: null };
  }
  return {
    trades,
    volumeGpuHours: Number(volume),
    prices: {
      open: first.open,
      high: candles.reduce((m, c) => (c.high > m ? c.high : m), first.high),
      low: candles.reduce((m, c) => (c.low < m ? c.low : m), first.low),
      close: last.close,
      vwap: sum(buckets, (b) => b.notionalMinor) / volume,
    },
  };
}

/** An open offer with idle windows, inside its availability window now. */
export interface WindowedFree {
  freeGpus: number;
  schedule: { isOpenAt(instant: number): boolean } | null;
}

/**
 * docs/STATS.md: free GPUs now of a site's open offers. An offer with idle windows counts only
 * while one of its windows is open; `alwaysFree` is the sum of the offers without windows.
 */
export function freeGpusNow(alwaysFree: number, windowed: readonly WindowedFree[], now: number): number {
  return windowed.reduce(
    (sum, offer) => (offer.schedule === null || offer.schedule.isOpenAt(now) ? sum + offer.freeGpus : sum),
    alwaysFree,
  );
}
