/**
 * The seeded generator of the simulated market (docs/SIMULATION.md): data-centre sites with
 * their GPUs, the idle part of them offered on six markets, and SME inference bids arriving
 * over time. Pure: the same seed and options give the same scenario, byte for byte.
 */
import { prng } from '../../test/support/prng';
import { PROVINCES, type Province, type Region } from './geography';

export const HOUR_MS = 3_600_000;

/** The simulation's start instant: the controllable clock is set here before anything happens. */
export const T0 = Date.UTC(2027, 0, 4, 0, 0, 0);

export interface SimMarket {
  readonly slug: string;
  /** Reference price per GPU-hour, minor units (fen). */
  readonly reference: number;
  /** Share of the sites that run this hardware. */
  readonly supply: number;
  /** Share of the bids. */
  readonly demand: number;
}

/** Six of the markets the migrations ship (docs/MARKETS.md), at 2026 rental prices. */
export const SIM_MARKETS: readonly SimMarket[] = [
  { slug: 'nvidia-h100-80gb', reference: 2_400, supply: 0.16, demand: 0.16 },
  { slug: 'nvidia-h800-80gb', reference: 2_100, supply: 0.17, demand: 0.17 },
  { slug: 'nvidia-a100-80gb', reference: 1_200, supply: 0.2, demand: 0.2 },
  { slug: 'nvidia-h20-96gb', reference: 900, supply: 0.19, demand: 0.19 },
  { slug: 'nvidia-rtx-4090-24gb', reference: 300, supply: 0.16, demand: 0.16 },
  { slug: 'huawei-ascend-910b-64gb', reference: 800, supply: 0.12, demand: 0.12 },
];

export interface SimSite {
  readonly key: string;
  /** Index into `providers`. */
  readonly provider: number;
  readonly province: string;
  readonly city: string;
  /** GPUs installed per market slug. */
  readonly gpus: Readonly<Record<string, number>>;
}

export interface SimOffer {
  readonly key: string;
  /** Index into `sites`. */
  readonly site: number;
  readonly market: string;
  readonly gpus: number;
  /** Ask per GPU-hour, minor units. */
  readonly price: number;
  readonly availableFrom: number;
  readonly availableUntil: number;
  readonly minLeaseHours: number;
}

export interface SimBid {
  readonly key: string;
  /** Index into `buyers`. */
  readonly buyer: number;
  readonly market: string;
  readonly gpus: number;
  /** Cap per GPU-hour, minor units. */
  readonly price: number;
  readonly durationHours: number;
  /** Allowed province codes; empty = anywhere. */
  readonly provinces: readonly string[];
  readonly minGpusPerSite: number;
  readonly partialAllowed: boolean;
  /** Simulated instant the bid is placed at (epoch ms). */
  readonly arrival: number;
  readonly expiresAt: number;
}

export interface Scenario {
  readonly name: 'contended' | 'week';
  readonly seed: number;
  readonly t0: number;
  /** End of the simulated horizon: the last arrival (contended) or the week's end. */
  readonly horizonEnd: number;
  readonly providers: number;
  readonly buyers: number;
  readonly markets: readonly SimMarket[];
  readonly sites: readonly SimSite[];
  readonly offers: readonly SimOffer[];
  readonly bids: readonly SimBid[];
}

export interface ScenarioOptions {
  readonly name?: 'contended' | 'week';
  readonly sites?: number;
  readonly bids?: number;
  /** Bids per simulated second (contended scenario). */
  readonly rate?: number;
}

/** The default scenario's size: about 200 sites and 2,000 bids for about 6,000 GPUs at 20/s. */
export const DEFAULT_SIZE = { sites: 200, bids: 2_000, rate: 20 } as const;
/** The CI scenario: a few sites and bids, same shape. */
export const SMALL_SIZE = { sites: 12, bids: 60, rate: 20 } as const;

/** Fixed before any tuning (docs/SIMULATION.md): the targets are checked on these. */
export const DEFAULT_SEEDS: readonly number[] = [20270101, 20270102, 20270103, 20270104, 20270105];

class Random {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = prng(seed);
  }

  float(): number {
    return this.next();
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  weighted<T>(items: readonly T[], weight: (item: T) => number): T {
    const total = items.reduce((sum, item) => sum + weight(item), 0);
    let r = this.next() * total;
    for (const item of items) {
      r -= weight(item);
      if (r < 0) return item;
    }
    return items[items.length - 1]!;
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** `count` distinct items. */
  sample<T>(items: readonly T[], count: number): T[] {
    const pool = [...items];
    const out: T[] = [];
    while (out.length < count && pool.length > 0)
      out.push(pool.splice(Math.floor(this.next() * pool.length), 1)[0]!);
    return out;
  }
}

const round = (value: number): number => Math.max(1, Math.round(value));

/** A price around `reference × factor`, at whole fen, never below 1. */
const price = (reference: number, factor: number): number => Math.max(1, Math.round(reference * factor));

/**
 * Sites: the first ones cover every city once (the article's 81), the rest follow the provinces'
 * weight of projects. A site runs one or two of the markets; 8-GPU servers, 16 to ~500 GPUs.
 */
function generateSites(random: Random, count: number): { sites: SimSite[]; providers: number } {
  const cities = PROVINCES.flatMap((province) => province.cities.map((city) => ({ province, city })));
  const sites: SimSite[] = [];
  let providers = 0;
  for (let i = 0; i < count; i += 1) {
    const place =
      i < cities.length && count >= cities.length
        ? cities[i]!
        : (() => {
            const province = random.weighted(PROVINCES, (p) => p.sites);
            return { province, city: random.pick(province.cities) };
          })();
    const first = random.weighted(SIM_MARKETS, (m) => m.supply);
    const markets = random.chance(0.35)
      ? [
          first,
          random.weighted(
            SIM_MARKETS.filter((m) => m !== first),
            (m) => m.supply,
          ),
        ]
      : [first];
    const gpus: Record<string, number> = {};
    for (const market of markets) {
      // Hubs built big; servers hold 8 GPUs.
      const servers = round(random.exponential(place.province.hub ? 14 : 10) + 1);
      gpus[market.slug] = servers * 8;
    }
    // Operators run several sites: about 2.5 sites per provider.
    const provider = providers > 0 && random.chance(0.6) ? random.int(0, providers - 1) : providers++;
    sites.push({ key: `site-${i}`, provider, province: place.province.code, city: place.city, gpus });
  }
  return { sites, providers };
}

/** Idle share of a site's GPUs in a market: hubs stand mostly idle, eastern sites less. */
function idleShare(random: Random, province: Province): number {
  return province.hub ? random.uniform(0.55, 0.9) : random.uniform(0.3, 0.7);
}

/** Hub power is cheap: offers there ask less; eastern capacity near the buyers asks more. */
function regionalFactor(province: Province): number {
  if (province.hub && ['NORTHWEST', 'SOUTHWEST'].includes(province.region)) return 0.85;
  return ['EAST', 'SOUTH', 'NORTH'].includes(province.region) ? 1.05 : 0.95;
}

/**
 * Offers: each site offers its idle GPUs per market, split into one to three offers with their
 * own windows (idle for a day, a few days, or the next weeks) and asks.
 */
function generateOffers(random: Random, sites: readonly SimSite[], t0: number): SimOffer[] {
  const offers: SimOffer[] = [];
  const provinces = new Map(PROVINCES.map((p) => [p.code, p]));
  for (const [index, site] of sites.entries()) {
    const province = provinces.get(site.province)!;
    for (const [slug, installed] of Object.entries(site.gpus)) {
      const market = SIM_MARKETS.find((m) => m.slug === slug)!;
      let idle = Math.round(installed * idleShare(random, province));
      const parts = Math.min(idle, random.int(1, 3));
      for (let part = 0; part < parts && idle > 0; part += 1) {
        const gpus = part === parts - 1 ? idle : round(idle * random.uniform(0.3, 0.6));
        idle -= gpus;
        // Windows end on the half hour so that a bid placed during the arrivals sees the same
        // window whichever second it arrives in (the arrivals take minutes, not half an hour).
        const windowHours = random.weighted(
          [24, 72, 168, 336],
          (h) => ({ 24: 1, 72: 1, 168: 3, 336: 5 })[h]!,
        );
        offers.push({
          key: `offer-${offers.length}`,
          site: index,
          market: slug,
          gpus,
          price: price(market.reference, regionalFactor(province) * random.uniform(0.8, 1.15)),
          availableFrom: t0 - HOUR_MS,
          availableUntil: t0 + windowHours * HOUR_MS + HOUR_MS / 2,
          minLeaseHours: random.chance(0.2) ? random.pick([2, 4, 8]) : 1,
        });
      }
    }
  }
  return offers;
}

/** The provinces a bid accepts: anywhere, its region (latency), or its own province (data rules). */
function bidProvinces(random: Random, home: Province): string[] {
  const r = random.float();
  if (r < 0.5) return [];
  if (r < 0.85) {
    const region: Region = home.region;
    return PROVINCES.filter((p) => p.region === region).map((p) => p.code);
  }
  return [home.code];
}

/** Lease lengths of inference demand: many short bursts, days of serving, some week-long runs. */
function duration(random: Random): number {
  const r = random.float();
  if (r < 0.35) return random.int(1, 8);
  if (r < 0.7) return random.pick([12, 24, 24, 48]);
  return random.pick([72, 96, 120, 168]);
}

function bidGpus(random: Random): number {
  return random.weighted([1, 2, 4, 8, 16, 32], (g) => ({ 1: 4, 2: 3, 4: 2, 8: 1, 16: 0.4, 32: 0.1 })[g]!);
}

function generateBid(
  random: Random,
  index: number,
  buyers: readonly Province[],
  arrival: number,
  expiresAt: number,
): SimBid {
  const buyer = random.int(0, buyers.length - 1);
  const home = buyers[buyer]!;
  const market = random.weighted(SIM_MARKETS, (m) => m.demand);
  const gpus = bidGpus(random);
  // Model sharding: some multi-GPU bids need their GPUs on one site, all at once.
  const colocated = gpus >= 8 && random.chance(0.7);
  return {
    key: `bid-${index}`,
    buyer,
    market: market.slug,
    gpus,
    // A few bargain hunters bid under every ask.
    price: price(
      market.reference,
      random.chance(0.05) ? random.uniform(0.5, 0.65) : random.uniform(0.8, 1.3),
    ),
    durationHours: duration(random),
    provinces: bidProvinces(random, home),
    minGpusPerSite: colocated ? (gpus === 8 ? 4 : 8) : 1,
    partialAllowed: colocated ? false : random.chance(0.7),
    arrival,
    expiresAt,
  };
}

/** Buyers: SMEs placed by where inference demand is. */
function generateBuyers(random: Random, count: number): Province[] {
  return Array.from({ length: count }, () => random.weighted(PROVINCES, (p) => p.demand));
}

/** The scenario of `seed`: `contended` (the default) or `week`. */
export function generateScenario(seed: number, options: ScenarioOptions = {}): Scenario {
  const name = options.name ?? 'contended';
  const siteCount = options.sites ?? DEFAULT_SIZE.sites;
  const bidCount = options.bids ?? DEFAULT_SIZE.bids;
  const rate = options.rate ?? DEFAULT_SIZE.rate;
  const random = new Random(seed);
  const { sites, providers } = generateSites(random, siteCount);
  const offers = generateOffers(random, sites, T0);
  const buyerHomes = generateBuyers(random, Math.max(2, Math.round(bidCount / 25)));
  const bids: SimBid[] = [];
  if (name === 'contended') {
    // Poisson arrivals at `rate` per second, all placed after every offer.
    let at = T0;
    for (let i = 0; i < bidCount; i += 1) {
      at += random.exponential(1_000 / rate);
      const arrival = Math.round(at);
      bids.push(generateBid(random, i, buyerHomes, arrival, T0 + 24 * HOUR_MS));
    }
    const horizonEnd = bids.length > 0 ? bids[bids.length - 1]!.arrival : T0;
    return {
      name,
      seed,
      t0: T0,
      horizonEnd,
      providers,
      buyers: buyerHomes.length,
      markets: SIM_MARKETS,
      sites,
      offers,
      bids,
    };
  }
  // A week: arrivals per hour follow a daily curve (busy office hours, quiet nights).
  const horizonEnd = T0 + 7 * 24 * HOUR_MS;
  const weights = Array.from({ length: 7 * 24 }, (_, h) => dailyDemand(h % 24));
  const total = weights.reduce((a, b) => a + b, 0);
  let index = 0;
  for (const [hour, weight] of weights.entries()) {
    const count = Math.round((weight / total) * bidCount);
    const times = Array.from({ length: count }, () => random.uniform(0, HOUR_MS)).sort((a, b) => a - b);
    for (const offset of times) {
      const arrival = T0 + hour * HOUR_MS + Math.round(offset);
      bids.push(generateBid(random, index, buyerHomes, arrival, arrival + 2 * HOUR_MS));
      index += 1;
    }
  }
  return {
    name,
    seed,
    t0: T0,
    horizonEnd,
    providers,
    buyers: buyerHomes.length,
    markets: SIM_MARKETS,
    sites,
    offers,
    bids,
  };
}

/** Relative demand by hour of the day (China Standard Time is UTC+8). */
export function dailyDemand(utcHour: number): number {
  const local = (utcHour + 8) % 24;
  if (local < 7) return 0.25;
  if (local < 9) return 0.7;
  if (local < 12) return 1.4;
  if (local < 14) return 1;
  if (local < 18) return 1.5;
  if (local < 22) return 1.1;
  return 0.5;
}

/** Summary figures of a scenario (installed, offered, wanted). */
export function scenarioTotals(scenario: Scenario): {
  installed: number;
  offered: number;
  wanted: number;
  provinces: number;
  cities: number;
} {
  const installed = scenario.sites.reduce(
    (sum, site) => sum + Object.values(site.gpus).reduce((a, b) => a + b, 0),
    0,
  );
  const offered = scenario.offers.reduce((sum, offer) => sum + offer.gpus, 0);
  const wanted = scenario.bids.reduce((sum, bid) => sum + bid.gpus, 0);
  return {
    installed,
    offered,
    wanted,
    provinces: new Set(scenario.sites.map((s) => s.province)).size,
    cities: new Set(scenario.sites.map((s) => s.city)).size,
  };
}
