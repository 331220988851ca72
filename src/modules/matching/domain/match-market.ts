import type { BookBid, BookOffer, Fill } from './book';
import { bidCanTrade, sortBids, tradePrice } from './eligibility';
import { OfferBook } from './offer-book';

export interface MarketRun {
  /** Pass by pass; within a pass bid by bid in bid priority order, within a bid in offer priority order. */
  readonly fills: readonly Fill[];
  /** GPUs filled in this run per bid that filled; persistence adds them to `filledGpus`. */
  readonly bidsFilled: ReadonlyMap<string, number>;
  /** GPUs leased in this run per offer used; persistence takes them from the offer's free GPUs. */
  readonly offersTaken: ReadonlyMap<string, number>;
}

/**
 * One run of docs/MATCHING.md "One run" over one market's book at `now`, epoch ms. Pure and
 * deterministic (seqs are unique, so both sorts are total); the O(n log n) sorts dominate a run
 * that fills little. `MarketBook.match` gives the same run from a book it keeps sorted, reading
 * only the orders that cross.
 */
export function matchMarket(bids: readonly BookBid[], offers: readonly BookOffer[], now: number): MarketRun {
  // The bid-only rules are settled once here, so each walk checks only pair rules.
  return runPasses(new OfferBook(offers, now), sortBids(bids.filter((bid) => bidCanTrade(bid, now))), now);
}

/**
 * The passes of a run over `book` (the tradable offers at `now`, or a prefix of them, see
 * MarketBook.match) and `queue` (bids that can trade at `now`, in priority order; ending it
 * before the first bid priced below the book's best ask changes nothing, since the walk stops
 * there). `book` is used up. `reach.sawQueueEnd` is set when a pass went through the whole
 * queue: a queue of only the first of those bids may then have given another run.
 */
export function runPasses(
  book: OfferBook,
  queue: readonly BookBid[],
  now: number,
  reach: { sawQueueEnd: boolean } = { sawQueueEnd: false },
): MarketRun {
  const run = newRun();
  const { bidsFilled } = run;

  // Passes until one fills nothing: with co-location, capacity taken by later bids can make an
  // earlier bid fillable, and a smaller remainder lowers its site minimum (docs/MATCHING.md).
  let filledInPass = true;
  while (filledInPass) {
    filledInPass = false;
    let stopped = false;
    for (const bid of queue) {
      const left = bid.remaining - (bidsFilled.get(bid.id) ?? 0);
      if (left === 0) continue;
      const best = book.bestPrice();
      if (best === null || best > bid.price) {
        stopped = true;
        break;
      }
      const allocation = book.allocate(bid, now, left);
      if (allocation.gpus === 0) continue;
      // All-or-nothing: the bid rests and the book stays as it was for the bids after it.
      if (!bid.partialAllowed && allocation.gpus < left) continue;
      book.commit(allocation);
      filledInPass = true;
      bidsFilled.set(bid.id, (bidsFilled.get(bid.id) ?? 0) + allocation.gpus);
      for (const { offer, gpus } of allocation.takes) recordTake(run, bid, offer, gpus);
    }
    if (!stopped) reach.sawQueueEnd = true;
  }
  return run;
}

/** A run while it is built. */
interface RunInProgress extends MarketRun {
  readonly fills: Fill[];
  readonly bidsFilled: Map<string, number>;
  readonly offersTaken: Map<string, number>;
}

/** A run with no fill yet. */
export function newRun(): RunInProgress {
  return { fills: [], bidsFilled: new Map(), offersTaken: new Map() };
}

/** `bid` takes `gpus` GPUs of `offer`: a fill at the trade price, and the GPUs the offer gave (`bidsFilled` is the caller's). */
export function recordTake(run: RunInProgress, bid: BookBid, offer: BookOffer, gpus: number): void {
  run.fills.push({
    bidId: bid.id,
    offerId: offer.id,
    siteId: offer.siteId,
    gpus,
    price: tradePrice(bid, offer),
  });
  run.offersTaken.set(offer.id, (run.offersTaken.get(offer.id) ?? 0) + gpus);
}
