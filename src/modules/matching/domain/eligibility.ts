import { sizeDemand } from '@/modules/inference/domain/sizing';
import { type BookBid, type BookOffer, HOUR_MS, type InferenceDemandTerms } from './book';

/**
 * What a bid brings to matching besides its identity and place in the queue. A quoted bid has
 * no id or seq yet, so allocation and eligibility take only these fields.
 */
export type BidTerms = Omit<BookBid, 'id' | 'seq'>;

/** Why a pair may not trade, one per rule of docs/MATCHING.md "Eligibility of a pair", in its order. */
export const INELIGIBLE_REASONS = [
  'UNVERIFIED',
  'SAME_ORGANISATION',
  'EXPIRED',
  'MODEL',
  'TTFT_SLO',
  'THROUGHPUT',
  'TAKE_OR_PAY',
  'PRICE',
  'PROVINCE',
  'RELIABILITY',
  'WINDOW',
  'MIN_LEASE',
  'NO_CAPACITY',
] as const;

export type IneligibleReason = (typeof INELIGIBLE_REASONS)[number];

/** The ordering fields shared by bids and offers. */
export type Ranked = Pick<BookBid, 'price' | 'seq'>;

/**
 * The first rule of docs/MATCHING.md "Eligibility of a pair" that bid and offer break at `now`
 * (epoch ms), checked in the documented order, or null when they may trade.
 */
export function pairIneligibility(bid: BidTerms, offer: BookOffer, now: number): IneligibleReason | null {
  if (!bid.verified || !offer.verified) return 'UNVERIFIED';
  if (bid.organisationId === offer.organisationId) return 'SAME_ORGANISATION';
  if (now >= bid.expiresAt) return 'EXPIRED';
  if (bid.inference !== undefined) {
    const serving = servingIneligibility(bid.inference, offer);
    if (serving !== null) return serving;
  }
  if (offer.price > bid.price) return 'PRICE';
  if (!inProvinces(bid, offer)) return 'PROVINCE';
  if (!reliableEnough(bid, offer)) return 'RELIABILITY';
  if (!fitsWindow(bid, offer, now)) return 'WINDOW';
  if (bid.durationHours < offer.minLeaseHours) return 'MIN_LEASE';
  if (offer.free <= 0 || bid.remaining <= 0) return 'NO_CAPACITY';
  return null;
}

/**
 * Rules 2, 4 and 6-9 only: what the matching walk still has to check per offer once the
 * bid-only rules (verified, expiry, remaining), the offer-only ones (verified, availableFrom,
 * free) and the price (offers are walked cheapest first) are settled elsewhere.
 */
export function termsCompatible(bid: BidTerms, offer: BookOffer, now: number): boolean {
  return (
    bid.organisationId !== offer.organisationId &&
    inProvinces(bid, offer) &&
    reliableEnough(bid, offer) &&
    bid.durationHours >= offer.minLeaseHours &&
    (bid.inference === undefined || servingIneligibility(bid.inference, offer) === null) &&
    (offer.idle === undefined
      ? now + bid.durationHours * HOUR_MS <= offer.availableUntil
      : leaseStartOf(bid, offer, now) !== null)
  );
}

/**
 * Rule 8's instant: when a lease of `bid` on `offer` matched at `now` starts, or null (docs/MATCHING.md
 * "Eligibility of a pair"). A function of the pair and `now` alone, so runs and clearings agree.
 */
export function leaseStartOf(bid: BidTerms, offer: BookOffer, now: number): number | null {
  if (offer.availableFrom > now) return null;
  const durationMs = bid.durationHours * HOUR_MS;
  if (offer.idle === undefined) return now + durationMs <= offer.availableUntil ? now : null;
  const before = Math.min(bid.expiresAt, offer.availableUntil - durationMs + 1);
  return offer.idle.leaseStart(now, durationMs, bid.interruptible === true, before);
}

/**
 * Rule 4, an inference bid's (docs/MATCHING.md): the offer serves the model (`MODEL`), within
 * the TTFT p95 SLO (`TTFT_SLO`), and at figures that sustain the demand on the GPUs the bid was
 * sized into (`THROUGHPUT`: a slower profile would need more GPUs than the bid holds funds for);
 * and the bid's take-or-pay share is at least the offer's pay-per-use floor (`TAKE_OR_PAY`):
 * per-token billing caps the provider's payout by the buyer's charge, so a share below the
 * floor would let the cap pay the provider less than the floor it offered at
 * (docs/INFERENCE.md "Per-token billing").
 */
export function servingIneligibility(
  demand: InferenceDemandTerms,
  offer: BookOffer,
): 'MODEL' | 'TTFT_SLO' | 'THROUGHPUT' | 'TAKE_OR_PAY' | null {
  const serving = offer.serving?.[demand.modelId];
  if (serving === undefined) return 'MODEL';
  const sized = sizeDemand(demand, { reference: serving, gpusPerReplica: serving.gpusPerReplica });
  if (!sized.feasible) return 'TTFT_SLO';
  if (sized.gpus > demand.sizedGpus) return 'THROUGHPUT';
  return demand.takeOrPayPercent < offer.payPerUseMinPercent ? 'TAKE_OR_PAY' : null;
}

/** The bid-only rules (1, 3 and 8): verified, unexpired, wanting GPUs. */
export function bidCanTrade(bid: BidTerms, now: number): boolean {
  return bid.verified && now < bid.expiresAt && bid.remaining > 0;
}

/** A new provider's score, for an offer read without one (docs/RELIABILITY.md). */
const NEW_PROVIDER_SCORE = 80;

function reliableEnough(bid: BidTerms, offer: BookOffer): boolean {
  return (
    bid.minProviderScore === undefined || (offer.providerScore ?? NEW_PROVIDER_SCORE) >= bid.minProviderScore
  );
}

function inProvinces(bid: BidTerms, offer: BookOffer): boolean {
  return bid.provinces.length === 0 || bid.provinces.includes(offer.province);
}

function fitsWindow(bid: BidTerms, offer: BookOffer, now: number): boolean {
  return leaseStartOf(bid, offer, now) !== null;
}

/** Bid priority: higher price first, then lower seq. Negative when `a` is served before `b`. */
export function compareBids(a: Ranked, b: Ranked): number {
  if (a.price !== b.price) return a.price > b.price ? -1 : 1;
  return compareSeq(a, b);
}

/** Offer priority: lower price first, then lower seq. Negative when `a` is taken before `b`. */
export function compareOffers(a: Ranked, b: Ranked): number {
  if (a.price !== b.price) return a.price < b.price ? -1 : 1;
  return compareSeq(a, b);
}

/** A new array of the bids in bid priority order (compareBids). */
export function sortBids<T extends Ranked>(bids: readonly T[]): T[] {
  return sortRanked(bids, -1, compareBids);
}

/** A new array of the offers in offer priority order (compareOffers). */
export function sortOffers<T extends Ranked>(offers: readonly T[]): T[] {
  return sortRanked(offers, 1, compareOffers);
}

/**
 * Bigint comparisons make sorting the largest cost of a big run, so when every price and seq is
 * exact as a double (any realistic book) the sort compares numbers; `compare` defines the order
 * and is the fallback. Both sorts are stable, so they agree even on (invalid) equal keys.
 */
function sortRanked<T extends Ranked>(
  items: readonly T[],
  priceSign: 1 | -1,
  compare: (a: T, b: T) => number,
): T[] {
  const n = items.length;
  const prices = new Float64Array(n);
  const seqs = new Float64Array(n);
  for (let i = 0; i < n; i += 1) {
    const item = items[i]!;
    const price = Number(item.price);
    const seq = Number(item.seq);
    if (!Number.isSafeInteger(price) || !Number.isSafeInteger(seq)) return [...items].sort(compare);
    prices[i] = priceSign * price;
    seqs[i] = seq;
  }
  const order: number[] = new Array<number>(n);
  for (let i = 0; i < n; i += 1) order[i] = i;
  order.sort((a, b) => prices[a]! - prices[b]! || seqs[a]! - seqs[b]!);
  return order.map((i) => items[i]!);
}

function compareSeq(a: Ranked, b: Ranked): number {
  if (a.seq === b.seq) return 0;
  return a.seq < b.seq ? -1 : 1;
}

/**
 * Price per GPU-hour of a fill: that of the order with the lower seq, the one that was resting.
 * Equal seqs cannot happen: offers and bids draw them from one database sequence.
 */
export function tradePrice(bid: Ranked, offer: Ranked): bigint {
  return bid.seq < offer.seq ? bid.price : offer.price;
}
