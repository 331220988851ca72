import type { BookBid, BookOffer } from './book';
import { clearCall } from './call-clearing';
import { matchMarket, type MarketRun } from './match-market';
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
 */
export class MarketBook {
  private readonly bids = new Map<string, RunBid>();
  private readonly offers = new Map<string, RunOffer>();
  private view: RunBook | null = null;

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
      if (delta.kind === 'bid') {
        if (delta.bid === null) this.bids.delete(delta.id);
        else this.bids.set(delta.id, delta.bid);
      } else if (delta.offer === null) this.offers.delete(delta.id);
      else this.offers.set(delta.id, delta.offer);
    }
  }

  /** A committed run's fills: bids lose the GPUs filled, offers the GPUs leased. */
  applyRun(run: MarketRun): void {
    this.view = null;
    for (const [id, gpus] of run.bidsFilled) {
      const bid = this.bids.get(id);
      if (bid === undefined) throw new Error(`run filled bid ${id}, which is not in the book`);
      if (bid.remaining > gpus) this.bids.set(id, { ...bid, remaining: bid.remaining - gpus });
      else this.bids.delete(id);
    }
    for (const [id, gpus] of run.offersTaken) {
      const offer = this.offers.get(id);
      if (offer === undefined) throw new Error(`run leased offer ${id}, which is not in the book`);
      if (offer.free > gpus) this.offers.set(id, { ...offer, free: offer.free - gpus });
      else this.offers.delete(id);
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

  /** The allocation of this market's mode over the book at `now`. */
  match(now: number): MarketRun {
    const book = this.snapshot();
    return allocationFor(this.headerRead.mode)(book.bids, book.offers, now);
  }
}
