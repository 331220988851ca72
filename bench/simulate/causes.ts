/**
 * Why demand went unmet (docs/SIMULATION.md): each bid's unfilled GPU-hours get the first rule
 * of docs/MATCHING.md "Eligibility of a pair" that leaves it no supply in the scenario's book as
 * it was before any bid arrived, or, when some eligible supply existed, "capacity taken".
 */
import type { BookBid, BookOffer, Fill } from '@/modules/matching/domain/book';
import { pairIneligibility } from '@/modules/matching/domain/eligibility';

export const CAUSES = ['PRICE', 'PROVINCE', 'WINDOW', 'CAPACITY_TAKEN'] as const;
export type Cause = (typeof CAUSES)[number];

export const CAUSE_LABELS: Readonly<Record<Cause, string>> = {
  PRICE: 'price (no ask at or under the cap)',
  PROVINCE: 'province (none in the provinces asked for)',
  WINDOW: 'window (none free for the whole lease, or minimum lease longer)',
  CAPACITY_TAKEN: 'capacity taken (eligible supply existed but went to other bids)',
};

/** The cause of a bid's unmet demand against `offers` at `now` (offers at their initial free GPUs). */
export function causeOf(bid: BookBid, offers: readonly BookOffer[], now: number): Cause {
  let best: Cause = 'PRICE';
  const rank: Record<Cause, number> = { PRICE: 0, PROVINCE: 1, WINDOW: 2, CAPACITY_TAKEN: 3 };
  for (const offer of offers) {
    const reason = pairIneligibility(bid, offer, now);
    let cause: Cause;
    switch (reason) {
      case null:
        return 'CAPACITY_TAKEN';
      case 'PRICE':
        cause = 'PRICE';
        break;
      case 'PROVINCE':
        cause = 'PROVINCE';
        break;
      case 'WINDOW':
      case 'MIN_LEASE':
        cause = 'WINDOW';
        break;
      // MODEL, TTFT_SLO, THROUGHPUT and TAKE_OR_PAY: the simulation places GPU bids only, with no score minimum.
      case 'RELIABILITY':
      case 'UNVERIFIED':
      case 'SAME_ORGANISATION':
      case 'EXPIRED':
      case 'NO_CAPACITY':
      case 'MODEL':
      case 'TTFT_SLO':
      case 'THROUGHPUT':
      case 'TAKE_OR_PAY':
        continue;
    }
    if (rank[cause] > rank[best]) best = cause;
  }
  return best;
}

/** Unmet GPU-hours per cause, given the fills of a run over `bids` and `offers` (same market keys). */
export function unmetByCause(
  bids: readonly BookBid[],
  offers: readonly BookOffer[],
  fills: readonly Fill[],
  now: number,
  marketOf: ReadonlyMap<string, string>,
): Record<Cause, number> {
  const filled = new Map<string, number>();
  for (const fill of fills) filled.set(fill.bidId, (filled.get(fill.bidId) ?? 0) + fill.gpus);
  const offersByMarket = new Map<string, BookOffer[]>();
  for (const offer of offers) {
    const market = marketOf.get(offer.id)!;
    offersByMarket.set(market, [...(offersByMarket.get(market) ?? []), offer]);
  }
  const out: Record<Cause, number> = { PRICE: 0, PROVINCE: 0, WINDOW: 0, CAPACITY_TAKEN: 0 };
  for (const bid of bids) {
    const unmet = bid.remaining - (filled.get(bid.id) ?? 0);
    if (unmet <= 0) continue;
    out[causeOf(bid, offersByMarket.get(marketOf.get(bid.id)!) ?? [], now)] += unmet * bid.durationHours;
  }
  return out;
}
