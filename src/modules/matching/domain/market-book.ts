import type { BookBid, BookOffer } from './book';
import { clearCall } from './call-clearing';
import { bidCanTrade, sortBids, sortOffers, termsCompatible } from './eligibility';
import { matchMarket, newRun, recordTake, runPasses, type MarketRun } from './match-market';
import { isPlainBid, OfferBook, offerCanTrade } from './offer-book';
import { RankedList } from './ranked-list';
import type { RunBid, RunBook, RunOffer, RunOrders } from './run-book';

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
  /** A CALL market's window, ms: its clearings run at the multiples of it plus the phase (`nextClearingAt`). */
  readonly callWindowMs: number;
  /** A CALL market's phase in its window, ms (markets.call_phase_ms). */
  readonly callPhaseMs: number;
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
export class MarketBook implements RunOrders {
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
  // plainRun's scratch, reset before it returns: GPUs taken per offer rank, the ranks taken
  // from, and one bid's walk as (rank, GPUs) pairs.
  private taken = new Float64Array(64);
  private readonly touched: number[] = [];
  private readonly pending: number[] = [];

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
    for (let i = 0; i < deltas.length; i += 1) {
      const delta = deltas[i]!;
      if (delta.kind === 'bid') this.setOrder(this.bids, this.rankedBids, delta.id, delta.bid);
      else this.setOrder(this.offers, this.rankedOffers, delta.id, delta.offer);
    }
  }

  /** A committed run's fills: bids lose the GPUs filled, offers the GPUs leased. */
  applyRun(run: MarketRun): void {
    this.view = null;
    // forEach rather than destructuring for-of: no entry arrays before the code is optimised.
    run.bidsFilled.forEach((gpus, id) => this.applyBidFill(gpus, id));
    run.offersTaken.forEach((gpus, id) => this.applyOfferTake(gpus, id));
  }

  /** One bid of a committed run: `gpus` fewer wanted, out of the book when none are left. */
  private applyBidFill(gpus: number, id: string): void {
    const bid = this.bids.get(id);
    if (bid === undefined) throw new Error(`run filled bid ${id}, which is not in the book`);
    const left = bid.remaining > gpus ? withRemaining(bid, bid.remaining - gpus) : null;
    this.setOrder(this.bids, this.rankedBids, id, left, bid);
  }

  /** One offer of a committed run: `gpus` fewer free, out of the book when none are left. */
  private applyOfferTake(gpus: number, id: string): void {
    const offer = this.offers.get(id);
    if (offer === undefined) throw new Error(`run leased offer ${id}, which is not in the book`);
    const left = offer.free > gpus ? withFree(offer, offer.free - gpus) : null;
    this.setOrder(this.offers, this.rankedOffers, id, left, offer);
  }

  /** A live bid by id (what a commit reads of the orders its run filled), without a snapshot. */
  bid(id: string): RunBid | undefined {
    return this.bids.get(id);
  }

  /** A live offer by id, as `bid`. */
  offer(id: string): RunOffer | undefined {
    return this.offers.get(id);
  }

  /** The whole book as arrays: what a CALL clearing solves over (a copy of every order, per change). */
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
   * book that does not cross costs a look at the head of each list. A run whose bids are all
   * plain is one walk down the lists (`plainRun`); any other goes through `runPasses`
   * (`crossingRun`). Nothing here changes the book.
   */
  match(now: number): MarketRun {
    if (this.headerRead.mode !== 'CONTINUOUS' || !this.rank()) {
      const book = this.snapshot();
      return allocationFor(this.headerRead.mode)(book.bids, book.offers, now);
    }
    const bids = this.rankedBids;
    const offers = this.rankedOffers;
    const bidCount = bids.size;
    const offerCount = offers.size;
    let first = 0;
    while (first < bidCount && !bidCanTrade(bids.at(first), now)) first += 1;
    if (first === bidCount) return NO_RUN;
    let best = 0;
    while (best < offerCount && !offerCanTrade(offers.at(best), now)) best += 1;
    if (best === offerCount || offers.priceAt(best) > bids.priceAt(first)) return NO_RUN;
    return this.plainRun(first, best, now) ?? this.crossingRun(first, best, now);
  }

  /**
   * The run when every bid it serves is plain (`isPlainBid`); null as soon as it meets one that
   * is not. A plain bid's allocation is a walk of the offers in priority order taking what each
   * compatible one has left, and within a run capacity only shrinks, so `runPasses`' second pass
   * fills nothing: one pass straight down the ranked lists is the whole run, with no `OfferBook`.
   * `first` and `best` are the ranks of the first bid and offer that can trade at `now`.
   */
  private plainRun(first: number, best: number, now: number): MarketRun | null {
    const bids = this.rankedBids;
    const offers = this.rankedOffers;
    const bidCount = bids.size;
    const offerCount = offers.size;
    const taken = this.takenScratch(offerCount);
    const { touched, pending } = this;
    const run = newRun();
    let plain = true;
    // The best offer with GPUs left: the ranks before it can give no bid anything.
    let head = best;
    for (let rank = first; rank < bidCount; rank += 1) {
      const bid = bids.at(rank);
      if (!bidCanTrade(bid, now)) continue;
      while (
        head < offerCount &&
        !(offers.at(head).free > taken[head]! && offerCanTrade(offers.at(head), now))
      ) {
        head += 1;
      }
      // The pass ends at the first bid priced below the best offer left, as in runPasses.
      const price = bids.priceAt(rank);
      if (head === offerCount || offers.priceAt(head) > price) break;
      if (!isPlainBid(bid)) {
        plain = false;
        break;
      }
      let need = bid.remaining;
      pending.length = 0;
      for (let at = head; at < offerCount && need > 0 && offers.priceAt(at) <= price; at += 1) {
        const offer = offers.at(at);
        const left = offer.free - taken[at]!;
        if (left <= 0 || !offerCanTrade(offer, now) || !termsCompatible(bid, offer, now)) continue;
        const gpus = Math.min(left, need);
        pending.push(at, gpus);
        need -= gpus;
      }
      // All-or-nothing: the bid rests and the book stays as it was for the bids after it.
      if (need === bid.remaining || (!bid.partialAllowed && need > 0)) continue;
      run.bidsFilled.set(bid.id, bid.remaining - need);
      for (let k = 0; k < pending.length; k += 2) {
        const at = pending[k]!;
        const gpus = pending[k + 1]!;
        if (taken[at] === 0) touched.push(at);
        taken[at] = taken[at]! + gpus;
        recordTake(run, bid, offers.at(at), gpus);
      }
    }
    for (let k = 0; k < touched.length; k += 1) taken[touched[k]!] = 0;
    touched.length = 0;
    return plain ? run : null;
  }

  /**
   * The run through `runPasses`, for a run with a bid that is not plain. It reads the first few
   * crossing orders of each side, and again with more when the run read to the end of either
   * (`sawEnd`, `sawQueueEnd`): until then it has done what it would have done with all of them.
   */
  private crossingRun(first: number, best: number, now: number): MarketRun {
    const bids = this.rankedBids;
    const offers = this.rankedOffers;
    const ceiling = bids.priceAt(first);
    const bestAsk = offers.priceAt(best);
    // Most runs reach only the first few crossing orders: take that many, and read further only
    // when the run went on to the end of what it was given.
    let offerLimit = FIRST_READ;
    let bidLimit = FIRST_READ;
    for (;;) {
      const read: RunOffer[] = [];
      let i = best;
      for (; i < offers.size && read.length < offerLimit; i += 1) {
        if (offers.priceAt(i) > ceiling) break;
        const offer = offers.at(i);
        if (offerCanTrade(offer, now)) read.push(offer);
      }
      const offersCut = read.length === offerLimit && i < offers.size;
      const queue: RunBid[] = [];
      let j = first;
      for (; j < bids.size && queue.length < bidLimit; j += 1) {
        if (bids.priceAt(j) < bestAsk) break;
        const bid = bids.at(j);
        if (bidCanTrade(bid, now)) queue.push(bid);
      }
      const bidsCut = queue.length === bidLimit && j < bids.size;
      const book = new OfferBook(read, now, true);
      const reach = { sawQueueEnd: false };
      const run = runPasses(book, queue, now, reach);
      const moreOffers = offersCut && book.sawEnd;
      const moreBids = bidsCut && reach.sawQueueEnd;
      if (!moreOffers && !moreBids) return run;
      if (moreOffers) offerLimit *= 4;
      if (moreBids) bidLimit *= 4;
    }
  }

  /** `plainRun`'s GPUs taken per offer rank, all 0 between runs; grown with the book. */
  private takenScratch(size: number): Float64Array {
    if (this.taken.length < size) this.taken = new Float64Array(Math.max(size, 2 * this.taken.length));
    return this.taken;
  }

  /** Sets (or, given null, removes) one order in its map and its ranked list; `held` is its entry there. */
  private setOrder<T extends RunBid | RunOffer>(
    orders: Map<string, T>,
    ranked: RankedList<T>,
    id: string,
    order: T | null,
    held: T | undefined = orders.get(id),
  ): void {
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

/** A copy being built: writable, so that optional fields are set only when present. */
type Building<T> = { -readonly [K in keyof T]: T[K] };

/**
 * `bid` with `remaining` GPUs left, written out field by field: V8 clones a spread
 * (`{ ...bid, remaining }`) on a slow path, and a spread of a spread (an order filled in part
 * twice) on a far slower one. Optional fields stay absent when absent, as the reads make them;
 * market-book.spec.ts fails to compile when a field is added to the order types and not here.
 */
function withRemaining(bid: RunBid, remaining: number): RunBid {
  const copy: Building<RunBid> = {
    id: bid.id,
    organisationId: bid.organisationId,
    verified: bid.verified,
    price: bid.price,
    remaining,
    seq: bid.seq,
    durationHours: bid.durationHours,
    provinces: bid.provinces,
    minGpusPerSite: bid.minGpusPerSite,
    partialAllowed: bid.partialAllowed,
    expiresAt: bid.expiresAt,
    billingMode: bid.billingMode,
  };
  if (bid.inference !== undefined) copy.inference = bid.inference;
  if (bid.inferenceModel !== undefined) copy.inferenceModel = bid.inferenceModel;
  if (bid.minProviderScore !== undefined) copy.minProviderScore = bid.minProviderScore;
  if (bid.interruptible !== undefined) copy.interruptible = bid.interruptible;
  return copy;
}

/** `offer` with `free` GPUs left, field by field like `withRemaining`. */
function withFree(offer: RunOffer, free: number): RunOffer {
  const copy: Building<RunOffer> = {
    id: offer.id,
    organisationId: offer.organisationId,
    verified: offer.verified,
    siteId: offer.siteId,
    province: offer.province,
    price: offer.price,
    free,
    seq: offer.seq,
    availableFrom: offer.availableFrom,
    availableUntil: offer.availableUntil,
    minLeaseHours: offer.minLeaseHours,
    payPerUseMinPercent: offer.payPerUseMinPercent,
  };
  if (offer.serving !== undefined) copy.serving = offer.serving;
  if (offer.providerScore !== undefined) copy.providerScore = offer.providerScore;
  if (offer.idle !== undefined) copy.idle = offer.idle;
  return copy;
}
