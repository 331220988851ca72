/**
 * Seeded order streams for bench/matching.bench.ts: the same seed gives the same orders on every
 * machine (mulberry32, no Math.random). Engine-neutral: sides, prices and quantities in typed
 * arrays, plus the constraints only the exchange's core understands; the bench turns them into
 * each engine's input outside the timed region.
 */

/** Mid price, minor units per GPU-hour (20.00 CNY). */
export const MID_PRICE = 2000;
/** Stream prices are uniform in MID_PRICE ± PRICE_SPREAD. */
export const PRICE_SPREAD = 100;
export const MAX_QTY = 32;

/** GB/T 2260 province codes of the constrained stream's sites. */
export const PROVINCES = [
  '110000',
  '310000',
  '320000',
  '330000',
  '440000',
  '510000',
  '520000',
  '150000',
] as const;
export const SITE_COUNT = 48;

/** Site `s` is `site-s`, in province PROVINCES[s % 8]. */
export function siteProvince(site: number): string {
  return PROVINCES[site % PROVINCES.length]!;
}

/**
 * Allowed province sets of bids: 0 is anywhere, 1-8 one province, 9-16 two neighbouring ones.
 * Shared arrays, so every bid with the same set points at the same array.
 */
export const PROVINCE_SETS: readonly (readonly string[])[] = [
  [],
  ...PROVINCES.map((p) => [p]),
  ...PROVINCES.map((p, i) => [p, PROVINCES[(i + 1) % PROVINCES.length]!]),
];

export interface OrderStream {
  readonly count: number;
  /** 1 for a bid (buy), 0 for an offer (sell). */
  readonly isBid: Uint8Array;
  readonly price: Int32Array;
  readonly qty: Int32Array;
  /** Offers: index of the site. */
  readonly site: Int32Array;
  /** Bids: index into PROVINCE_SETS. */
  readonly provinceSet: Int32Array;
  readonly minGpusPerSite: Int32Array;
  readonly partialAllowed: Uint8Array;
  readonly durationHours: Int32Array;
  readonly minLeaseHours: Int32Array;
  /** Bids: expiry after arrival; offers: availableUntil after arrival. */
  readonly lifetimeMs: Float64Array;
  /** Offers: availableFrom after arrival (0 = open on arrival). */
  readonly opensAfterMs: Float64Array;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Long enough that nothing of the plain stream expires or closes while it runs. */
const FOREVER = 365 * DAY;

/** mulberry32: a 32-bit seeded PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function emptyStream(count: number): OrderStream {
  return {
    count,
    isBid: new Uint8Array(count),
    price: new Int32Array(count),
    qty: new Int32Array(count),
    site: new Int32Array(count),
    provinceSet: new Int32Array(count),
    minGpusPerSite: new Int32Array(count).fill(1),
    partialAllowed: new Uint8Array(count).fill(1),
    durationHours: new Int32Array(count).fill(1),
    minLeaseHours: new Int32Array(count).fill(1),
    lifetimeMs: new Float64Array(count).fill(FOREVER),
    opensAfterMs: new Float64Array(count),
  };
}

function between(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** Picks values[i] with probability weights[i] / sum(weights). */
function weighted(random: () => number, values: readonly number[], weights: readonly number[]): number {
  let r = random() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < values.length; i += 1) {
    r -= weights[i]!;
    if (r < 0) return values[i]!;
  }
  return values[values.length - 1]!;
}

/**
 * Plain limit orders: buy or sell with equal odds, price uniform in MID_PRICE ± PRICE_SPREAD,
 * 1-32 GPUs; anywhere, one GPU per site, partial fills, windows and expiry beyond the run.
 */
export function plainStream(count: number, seed: number): OrderStream {
  const random = mulberry32(seed);
  const stream = emptyStream(count);
  for (let i = 0; i < count; i += 1) {
    stream.isBid[i] = random() < 0.5 ? 1 : 0;
    stream.price[i] = between(random, MID_PRICE - PRICE_SPREAD, MID_PRICE + PRICE_SPREAD);
    stream.qty[i] = between(random, 1, MAX_QTY);
    stream.site[i] = between(random, 0, SITE_COUNT - 1);
  }
  return stream;
}

/**
 * The plain stream's sides, prices and quantities (same seed, same values) with the exchange's
 * constraints drawn on top: provinces (30% of bids name one or two), co-location (40% of bids
 * ask 2-8 GPUs per site), all-or-nothing (10%), leases of 1-24 h against offers' minimum
 * leases of 1 or 4 h, offers open for a day to a month (5% open up to a minute after they
 * arrive), bids expiring 1-10 minutes after they arrive.
 */
export function constrainedStream(count: number, seed: number): OrderStream {
  const stream = plainStream(count, seed);
  const random = mulberry32(seed ^ 0x5bd1e995);
  for (let i = 0; i < count; i += 1) {
    if (stream.isBid[i] === 1) {
      stream.provinceSet[i] = weighted(random, [0, 1, 2], [70, 20, 10]) === 0 ? 0 : between(random, 1, 16);
      stream.minGpusPerSite[i] = weighted(random, [1, 2, 4, 8], [60, 20, 15, 5]);
      stream.partialAllowed[i] = random() < 0.9 ? 1 : 0;
      stream.durationHours[i] = weighted(random, [1, 4, 8, 24], [40, 25, 20, 15]);
      stream.lifetimeMs[i] = between(random, MINUTE, 10 * MINUTE);
    } else {
      stream.minLeaseHours[i] = random() < 0.8 ? 1 : 4;
      stream.opensAfterMs[i] = random() < 0.05 ? between(random, 1, MINUTE) : 0;
      stream.lifetimeMs[i] = weighted(random, [DAY, 7 * DAY, 30 * DAY], [20, 40, 40]);
    }
  }
  return stream;
}

/**
 * Resting orders that cross neither each other nor any stream order: bids below and offers
 * above the stream's price range, 500 price levels each side, plain terms.
 */
export function restingOrders(count: number, seed: number): OrderStream {
  const random = mulberry32(seed);
  const stream = emptyStream(count);
  for (let i = 0; i < count; i += 1) {
    const isBid = i % 2 === 0;
    const depth = between(random, 1, 500);
    stream.isBid[i] = isBid ? 1 : 0;
    stream.price[i] = isBid ? MID_PRICE - PRICE_SPREAD - depth : MID_PRICE + PRICE_SPREAD + depth;
    stream.qty[i] = between(random, 1, MAX_QTY);
    stream.site[i] = between(random, 0, SITE_COUNT - 1);
  }
  return stream;
}
