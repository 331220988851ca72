/**
 * Solve time of a call clearing (docs/MATCHING.md "Call markets") against window size, on seeded
 * books modelled on the article's market: 200 offers at 200 sites in 28 provinces, and a window of
 * SME inference bids with province preferences, price caps, durations of 1-168 h, some
 * co-location and some all-or-nothing. `measureCallClearing` is what `npm run bench:clearing`
 * prints; another bench may call it too.
 */
import { performance } from 'node:perf_hooks';
import type { BookBid, BookOffer } from '@/modules/matching/domain/book';
import { type CallLimits, solveCall } from '@/modules/matching/domain/call-clearing';
import { loadCallSolver } from '@/modules/matching/domain/highs-runtime';
import { matchMarket } from '@/modules/matching/domain/match-market';

const HOUR = 3_600_000;
const NOW = Date.parse('2026-12-01T00:00:00Z');
const PROVINCES = 28;

/** mulberry32: a small seeded generator, so every run sees the same books. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface ClearingBook {
  readonly bids: BookBid[];
  readonly offers: BookOffer[];
  readonly now: number;
}

/** One seeded book: `offers` resting offers and a window of `bids` bids arriving after them. */
export function clearingBook(seed: number, bids: number, offers = 200): ClearingBook {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const int = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
  // Provinces are not equally supplied: a few hold many sites (Guizhou, Inner Mongolia...).
  const province = (): string => String(Math.floor(PROVINCES * random() ** 1.6) + 1).padStart(2, '0');
  let seq = 0n;
  const bookOffers: BookOffer[] = [];
  for (let i = 0; i < offers; i += 1) {
    seq += 1n;
    bookOffers.push({
      id: `O${i}`,
      organisationId: `P${Math.floor(i / 2)}`,
      verified: true,
      siteId: `S${i}`,
      province: province(),
      price: BigInt(int(1500, 2500)),
      free: pick([4, 8, 8, 16, 16, 32, 64]),
      seq,
      availableFrom: NOW - HOUR,
      availableUntil: NOW + pick([72, 168, 24 * 30, 24 * 90]) * HOUR,
      minLeaseHours: pick([1, 1, 1, 4, 24]),
      payPerUseMinPercent: 0,
    });
  }
  const bookBids: BookBid[] = [];
  for (let i = 0; i < bids; i += 1) {
    seq += 1n;
    const remaining = pick([1, 1, 2, 2, 4, 4, 8, 16]);
    const coLocated = random() < 0.2;
    const anywhere = random() < 0.3;
    bookBids.push({
      id: `B${i}`,
      organisationId: `C${i}`,
      verified: true,
      price: BigInt(int(1600, 2800)),
      remaining,
      seq,
      durationHours: pick([1, 2, 4, 8, 24, 24, 72, 168]),
      provinces: anywhere ? [] : Array.from({ length: int(1, 3) }, province),
      minGpusPerSite: coLocated ? Math.min(remaining, pick([2, 4, 8])) : 1,
      partialAllowed: random() < 0.7,
      expiresAt: NOW + 7 * 24 * HOUR,
    });
  }
  return { bids: bookBids, offers: bookOffers, now: NOW };
}

export interface ClearingFigures {
  readonly windowOrders: number;
  readonly clearings: number;
  /** CPU time of the solve (user + system, this process), ms: independent of the machine's load. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Wall-clock p50, ms: above the CPU figure when other processes share the cores. */
  readonly wallP50Ms: number;
  /** Mean components per book, and how many solves stopped at a work limit in all. */
  readonly components: number;
  readonly limited: number;
  /** Σ GPU-hours cleared / Σ GPU-hours of continuous matching (`matchMarket`) on the same books. */
  readonly gpuHoursVsContinuous: number;
}

/**
 * Times `clearings` clearings of seeded books per window size (the solve alone, books built
 * first), after `warmUp` untimed clearings of each size so the JIT and the wasm module are warm.
 */
export async function measureCallClearing(
  windows: readonly number[] = [10, 100, 1_000],
  clearings: (window: number) => number = (window) => (window >= 1_000 ? 10 : 30),
  limits?: CallLimits,
  warmUp = 3,
): Promise<ClearingFigures[]> {
  await loadCallSolver();
  const figures: ClearingFigures[] = [];
  for (const window of windows) {
    const count = clearings(window);
    const books = Array.from({ length: count }, (_, i) =>
      clearingBook(20_261_205 + 7919 * i + window, window),
    );
    for (let i = 0; i < warmUp; i += 1) {
      const book = clearingBook(1 + i + window, window);
      solveCall(book.bids, book.offers, book.now, limits);
    }
    const times: number[] = [];
    const walls: number[] = [];
    let components = 0;
    let limited = 0;
    let cleared = 0;
    let continuous = 0;
    for (const book of books) {
      const start = performance.now();
      const cpu = process.cpuUsage();
      const solved = solveCall(book.bids, book.offers, book.now, limits);
      const used = process.cpuUsage(cpu);
      walls.push(performance.now() - start);
      times.push((used.user + used.system) / 1000);
      components += solved.components;
      limited += solved.limited;
      cleared += solved.score.gpuHours;
      const greedy = matchMarket(book.bids, book.offers, book.now);
      const duration = new Map(book.bids.map((b) => [b.id, b.durationHours]));
      continuous += greedy.fills.reduce((sum, f) => sum + f.gpus * duration.get(f.bidId)!, 0);
    }
    times.sort((a, b) => a - b);
    walls.sort((a, b) => a - b);
    figures.push({
      windowOrders: window,
      clearings: count,
      p50Ms: quantile(times, 0.5),
      p99Ms: quantile(times, 0.99),
      maxMs: times[times.length - 1]!,
      wallP50Ms: quantile(walls, 0.5),
      components: components / count,
      limited,
      gpuHoursVsContinuous: continuous === 0 ? 1 : cleared / continuous,
    });
  }
  return figures;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
