/**
 * The scenario as the matching core sees it, and in-process replays of it: continuous matching
 * (`matchMarket` on every arrival) and call clearings (an allocation per window). The tool uses
 * them to predict what the exchange should do and to tune a scenario in seconds; the report's
 * figures come from the exchange itself (docs/SIMULATION.md).
 */
import type { BookBid, BookOffer, Fill } from '@/modules/matching/domain/book';
import { clearCall } from '@/modules/matching/domain/call-clearing';
import { loadCallSolver } from '@/modules/matching/domain/highs-runtime';
import { matchMarket } from '@/modules/matching/domain/match-market';
import { offlineOptimum } from './optimum';
import type { Scenario } from './scenario';

export interface Book {
  readonly bids: readonly BookBid[];
  readonly offers: readonly BookOffer[];
  /** Market slug of each order id. */
  readonly marketOf: ReadonlyMap<string, string>;
}

export const providerId = (index: number): string => `provider-${index}`;
export const buyerId = (index: number): string => `buyer-${index}`;

/** Offers first (seq 1..), then bids in arrival order, every organisation verified. */
export function toBook(scenario: Scenario): Book {
  const marketOf = new Map<string, string>();
  const offers: BookOffer[] = scenario.offers.map((offer, i) => {
    marketOf.set(offer.key, offer.market);
    const site = scenario.sites[offer.site]!;
    return {
      id: offer.key,
      organisationId: providerId(site.provider),
      verified: true,
      siteId: site.key,
      province: site.province,
      price: BigInt(offer.price),
      free: offer.gpus,
      seq: BigInt(i + 1),
      availableFrom: offer.availableFrom,
      availableUntil: offer.availableUntil,
      minLeaseHours: offer.minLeaseHours,
      payPerUseMinPercent: 0,
    };
  });
  const bids: BookBid[] = scenario.bids.map((bid, i) => {
    marketOf.set(bid.key, bid.market);
    return {
      id: bid.key,
      organisationId: buyerId(bid.buyer),
      verified: true,
      price: BigInt(bid.price),
      remaining: bid.gpus,
      seq: BigInt(offers.length + i + 1),
      durationHours: bid.durationHours,
      provinces: bid.provinces,
      minGpusPerSite: bid.minGpusPerSite,
      partialAllowed: bid.partialAllowed,
      expiresAt: bid.expiresAt,
    };
  });
  return { bids, offers, marketOf };
}

export interface Allocation {
  readonly fills: readonly Fill[];
  readonly gpuHours: number;
}

function gpuHoursOf(fills: readonly Fill[], bids: readonly BookBid[]): number {
  const duration = new Map(bids.map((b) => [b.id, b.durationHours]));
  return fills.reduce((sum, fill) => sum + fill.gpus * duration.get(fill.bidId)!, 0);
}

/** The book of one market after `fills`: offers' free GPUs and bids' remaining GPUs lowered. */
class LiveBook {
  readonly free = new Map<string, number>();
  readonly remaining = new Map<string, number>();

  constructor(
    private readonly offers: readonly BookOffer[],
    private readonly bids: readonly BookBid[],
  ) {
    for (const offer of offers) this.free.set(offer.id, offer.free);
  }

  arrive(bid: BookBid): void {
    this.remaining.set(bid.id, bid.remaining);
  }

  liveOffers(): BookOffer[] {
    return this.offers
      .filter((o) => this.free.get(o.id)! > 0)
      .map((o) => ({ ...o, free: this.free.get(o.id)! }));
  }

  liveBids(): BookBid[] {
    return this.bids
      .filter((b) => (this.remaining.get(b.id) ?? 0) > 0)
      .map((b) => ({ ...b, remaining: this.remaining.get(b.id)! }));
  }

  apply(fills: readonly Fill[]): void {
    for (const fill of fills) {
      this.free.set(fill.offerId, this.free.get(fill.offerId)! - fill.gpus);
      this.remaining.set(fill.bidId, this.remaining.get(fill.bidId)! - fill.gpus);
    }
  }
}

/** Continuous matching: a run of `matchMarket` on each market's book at every arrival, at `now`. */
export function replayContinuous(book: Book, now: number): Allocation {
  const fills: Fill[] = [];
  const books = new Map<string, LiveBook>();
  const bookOf = (market: string): LiveBook => {
    let live = books.get(market);
    if (live === undefined) {
      live = new LiveBook(
        book.offers.filter((o) => book.marketOf.get(o.id) === market),
        book.bids.filter((b) => book.marketOf.get(b.id) === market),
      );
      books.set(market, live);
    }
    return live;
  };
  for (const bid of book.bids) {
    const live = bookOf(book.marketOf.get(bid.id)!);
    live.arrive(bid);
    const run = matchMarket(live.liveBids(), live.liveOffers(), now);
    live.apply(run.fills);
    fills.push(...run.fills);
  }
  return { fills, gpuHours: gpuHoursOf(fills, book.bids) };
}

/**
 * Call clearings: every `windowMs` of arrivals, each market's resting and new bids are cleared at
 * once by the engine's `clearCall` (docs/MATCHING.md "Call markets").
 */
export async function replayCall(
  book: Book,
  arrivals: readonly number[],
  windowMs: number,
  now: number,
): Promise<Allocation> {
  await loadCallSolver();
  const fills: Fill[] = [];
  const markets = [...new Set(book.marketOf.values())].sort();
  const live = new Map(
    markets.map((m) => [
      m,
      new LiveBook(
        book.offers.filter((o) => book.marketOf.get(o.id) === m),
        book.bids.filter((b) => book.marketOf.get(b.id) === m),
      ),
    ]),
  );
  let i = 0;
  const start = arrivals[0] ?? 0;
  while (i < book.bids.length) {
    const windowEnd = start + (Math.floor((arrivals[i]! - start) / windowMs) + 1) * windowMs;
    const touched = new Set<string>();
    while (i < book.bids.length && arrivals[i]! < windowEnd) {
      const bid = book.bids[i]!;
      const market = book.marketOf.get(bid.id)!;
      live.get(market)!.arrive(bid);
      touched.add(market);
      i += 1;
    }
    for (const market of touched) {
      const lb = live.get(market)!;
      const run = clearCall(lb.liveBids(), lb.liveOffers(), now);
      lb.apply(run.fills);
      fills.push(...run.fills);
    }
  }
  return { fills, gpuHours: gpuHoursOf(fills, book.bids) };
}

/** The offline optimum of the whole scenario at `now`. */
export async function optimumOf(
  book: Book,
  now: number,
): Promise<Allocation & { bound: number; optimal: boolean }> {
  const run = await offlineOptimum(book.bids, book.offers, now, (order) => book.marketOf.get(order.id)!);
  return { fills: run.fills, gpuHours: run.gpuHours, bound: run.bound, optimal: run.optimal };
}
