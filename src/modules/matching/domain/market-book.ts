import type { BookBid, BookOffer } from './book';
import { clearCall } from './call-clearing';
import { bidCanTrade, sortBids, sortOffers } from './eligibility';
import { matchMarket, runPasses, type MarketRun } from './match-market';
import { OfferBook, offerCanTrade } from './offer-book';
import { RankedList } from './ranked-list';
import type { RunBid, RunBook, RunOffer } from './run-book';

/**
 * How a market allocates: `CONTINUOUS` is price-time (docs/MATCHING.md "One run"), `CALL` a
 * clearing of the whole book once per window (docs/MATCHING.md "Call markets").
 */
export type MatchingMode = 'CONTINUOUS' | 'CALL';

/** An allocation over one market's book at `now` (epoch ms); pure, like `matchMarket`. */
export type Allocate = (bids: readonly BookBid[], offers: readonly BookOffer[], now: number) => MarketRun;

/** The allocation each matching mode runs; the engine around it is the same for every mode. */
export const ALLOCATORS: Readonly<Record<MatchingMode, Allocate>> = {
  CONTINUOUS: matchMarket,
  // The solver with its greedy fallback per component; needs `loadCallSolver()` done first.
  CALL: (bids, offers, now) => clearCall(bids, offers, now),
};

/** The allocation a market of this mode runs. */
export function allocationFor(mode: MatchingMode): Allocate {
  return ALLOCATORS[mode];
}

/** The market row as a run reads it: everything of the book but the orders. */
export interface BookHeader {
  readonly marketId: string;
  readonly market: string;
  readonly currency: string;
  readonly currencyScale: number;
  readonly paused: boolean;
  readonly feeBps: number;
  readonly mode: MatchingMode;
  /** A CALL market's window, ms: its clearings run at the multiples of it (`nextClearingAt`). */
  readonly callWindowMs: number;
}

/**
 * One order as the database holds it now: its current row when it can still trade (live, with
 * GPUs left), null when it left the book (filled, cancelled, expired, deleted).
 */
export type BookDelta =
  | { readonly kind: 'bid'; readonly id: string; readonly bid: RunBid | null }
  | { readonly kind: 'offer'; readonly id: string; readonly offer: RunOffer | null };

/**
 * A market's whole live book in a worker's memory, as of the epoch it last read at
 * (docs/MATCHING.md "Runs in the exchange"). Complete: it holds orders that cannot trade now
 * (unverified owners, windows not open yet, bids below the best ask); the allocation filters by
 * `now`. Changes arrive as deltas that replace an order's state whole, so applying one twice,
 * or one older than the state held, is harmless as long as the newest is applied last.
 *
 * Besides the orders by id it keeps them in priority order (bids by `compareBids`, offers by
 * `compareOffers`), updated with each delta and each applied run, so that a CONTINUOUS run reads
 * only the orders that cross (`match`).
 */
export class MarketBook {
  private readonly bids = new Map<string, RunBid>();
  private readonly offers = new Map<string, RunOffer>();
  private view: RunBook | null = null;
  private readonly rankedBids = new RankedList<RunBid>(-1);
  private readonly rankedOffers = new RankedList<RunOffer>(1);
  /**
   * Whether the ranked lists hold the book. False after two orders of one side ranked the same
   * (one seq twice, which the database's sequence rules out): `match` then sorts the whole book
   * as `matchMarket` does, whose stable sort keeps such orders in the snapshot's order.
   */
  private ranked = true;

  constructor(
    private headerRead: BookHeader,
    private epochRead: bigint,
  ) {}

  get marketId(): string {
    return this.headerRead.marketId;
  }

  get header(): BookHeader {
    return this.headerRead;
  }

  /** The epoch of this worker's last read: the only one its commit may find. */
  get epoch(): bigint {
    return this.epochRead;
  }

  get size(): { bids: number; offers: number } {
    return { bids: this.bids.size, offers: this.offers.size };
  }

  /** A read's result: the market row at the new epoch, and the orders that changed. */
  refresh(header: BookHeader, epoch: bigint, deltas: readonly BookDelta[]): void {
    this.headerRead = header;
    this.epochRead = epoch;
    this.view = null;
    for (const delta of deltas) {
      if (delta.kind === 'bid') this.setOrder(this.bids, this.rankedBids, delta.id, delta.bid);
      else this.setOrder(this.offers, this.rankedOffers, delta.id, delta.offer);
    }
  }

  /** A committed run's fills: bids lose the GPUs filled, offers the GPUs leased. */
  applyRun(run: MarketRun): void {
    this.view = null;
    for (const [id, gpus] of run.bidsFilled) {
      const bid = this.bids.get(id);
      if (bid === undefined) throw new Error(`run filled bid ${id}, which is not in the book`);
      this.setOrder(
        this.bids,
        this.rankedBids,
        id,
        bid.remaining > gpus ? { ...bid, remaining: bid.remaining - gpus } : null,
      );
    }
    for (const [id, gpus] of run.offersTaken) {
      const offer = this.offers.get(id);
      if (offer === undefined) throw new Error(`run leased offer ${id}, which is not in the book`);
      this.setOrder(
        this.offers,
        this.rankedOffers,
        id,
        offer.free > gpus ? { ...offer, free: offer.free - gpus } : null,
      );
    }
  }

  /** The book as the allocation and the commit read it. */
  snapshot(): RunBook {
    this.view ??= {
      ...this.headerRead,
      epoch: this.epochRead,
      bids: [...this.bids.values()],
      offers: [...this.offers.values()],
    };
    return this.view;
  }

  /**
   * The allocation of this market's mode over the book at `now`. CONTINUOUS: exactly
   * `matchMarket(snapshot.bids, snapshot.offers, now)` (the same fills in the same order), from
   * the ranked lists: the first bid that can trade at `now` bounds the offers a run can reach
   * (every walk stops at an ask above its bid's price) and the best ask that can trade bounds the
   * bids (the passes stop at the first bid priced below it), so the run reads only those, and a
   * book that does not cross costs a look at the head of each list. Of those it reads the first
   * few of each side, and again with more when the run read to the end of either (`sawEnd`,
   * `sawQueueEnd`): until then it has done what it would have done with all of them. Nothing
   * here changes the book.
   */
  match(now: number): MarketRun {
    if (this.headerRead.mode !== 'CONTINUOUS' || !this.rank()) {
      const book = this.snapshot();
      return allocationFor(this.headerRead.mode)(book.bids, book.offers, now);
    }
    const bids = this.rankedBids.items;
    let first = 0;
    while (first < bids.length && !bidCanTrade(bids[first]!, now)) first += 1;
    if (first === bids.length) return NO_RUN;
    const ceiling = bids[first]!.price;
    const ranked = this.rankedOffers.items;
    let best = 0;
    while (best < ranked.length && !offerCanTrade(ranked[best]!, now)) best += 1;
    if (best === ranked.length || ranked[best]!.price > ceiling) return NO_RUN;
    const bestAsk = ranked[best]!.price;
    // Most runs reach only the first few crossing orders: take that many, and read further only
    // when the run went on to the end of what it was given.
    let offerLimit = FIRST_READ;
    let bidLimit = FIRST_READ;
    for (;;) {
      const offers: RunOffer[] = [];
      let i = best;
      for (; i < ranked.length && offers.length < offerLimit; i += 1) {
        const offer = ranked[i]!;
        if (offer.price > ceiling) break;
        if (offerCanTrade(offer, now)) offers.push(offer);
      }
      const offersCut = offers.length === offerLimit && i < ranked.length;
      const queue: RunBid[] = [];
      let j = first;
      for (; j < bids.length && queue.length < bidLimit; j += 1) {
        const bid = bids[j]!;
        if (bid.price < bestAsk) break;
        if (bidCanTrade(bid, now)) queue.push(bid);
      }
      const bidsCut = queue.length === bidLimit && j < bids.length;
      const book = new OfferBook(offers, now, true);
      const reach = { sawQueueEnd: false };
      const run = runPasses(book, queue, now, reach);
      const moreOffers = offersCut && book.sawEnd;
      const moreBids = bidsCut && reach.sawQueueEnd;
      if (!moreOffers && !moreBids) return run;
      if (moreOffers) offerLimit *= 4;
      if (moreBids) bidLimit *= 4;
    }
  }

  /** Sets (or, given null, removes) one order in its map and its ranked list. */
  private setOrder<T extends RunBid | RunOffer>(
    orders: Map<string, T>,
    ranked: RankedList<T>,
    id: string,
    order: T | null,
  ): void {
    const held = orders.get(id);
    if (order === null) orders.delete(id);
    else orders.set(id, order);
    if (!this.ranked) return;
    if (held !== undefined && order !== null && held.price === order.price && held.seq === order.seq) {
      ranked.replace(held, order);
      return;
    }
    if (held !== undefined) ranked.remove(held);
    if (order !== null && !ranked.insert(order)) this.ranked = false;
  }

  /** Whether the ranked lists hold the book, ranking it again after two orders ranked the same. */
  private rank(): boolean {
    if (this.ranked) return true;
    this.ranked =
      this.rankedBids.reset(sortBids([...this.bids.values()])) &&
      this.rankedOffers.reset(sortOffers([...this.offers.values()]));
    return this.ranked;
  }
}

/** Crossing orders of each side a run reads first (MarketBook.match); four times as many each time it needs more. */
const FIRST_READ = 4;

/** The run of a book that does not cross, shared: a run is read, never changed. */
const NO_RUN: MarketRun = Object.freeze({
  fills: Object.freeze([]),
  bidsFilled: new Map(),
  offersTaken: new Map(),
});
