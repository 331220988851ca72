import { Injectable } from '@nestjs/common';
import type { BookOffer } from './domain/book';
import { nextClearingAt } from './domain/call-window';
import type { MatchingMode } from './domain/market-book';
import { quoteBid, type Quote } from './domain/quote';
import type { BidTerms } from './domain/eligibility';
import { OrderBookRepository } from './order-book.repository';

/** The book as the matching core sees it, for quotes now and for matching runs next. */
@Injectable()
export class OrderBookService {
  constructor(private readonly book: OrderBookRepository) {}

  /**
   * What `bid` would fill now against the market's live offers, placing nothing. Every offer
   * is loaded (not only those at or below the bid's price) so the quote can name what the
   * price excluded and the cheapest such offer. An inference bid's terms read what each offer
   * serves too, as a run does.
   */
  async quote(marketId: string, bid: BidTerms, now: Date): Promise<Quote> {
    const withServing = bid.inference !== undefined;
    const offers: BookOffer[] = await this.book.systemFindLiveOffers(marketId, now, undefined, withServing);
    return quoteBid(bid, offers, now.getTime());
  }

  /**
   * The market's live offers with what each serves (docs/INFERENCE.md "Inference bids"), for
   * sizing an inference bid: its caller runs quoteBid over them once per candidate size.
   */
  async inferenceOffers(marketId: string, now: Date): Promise<BookOffer[]> {
    return this.book.systemFindLiveOffers(marketId, now, undefined, true);
  }

  /**
   * When a market next clears after `now`: a CALL market's next multiple of its window plus its
   * phase, null for a CONTINUOUS market (it matches as orders arrive).
   */
  nextClearing(
    market: { matchingMode: MatchingMode; callWindowMs: number; callPhaseMs: number },
    now: Date,
  ): Date | null {
    if (market.matchingMode !== 'CALL') return null;
    return new Date(nextClearingAt(now.getTime(), market.callWindowMs, market.callPhaseMs));
  }
}
