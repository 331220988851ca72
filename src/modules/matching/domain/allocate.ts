import type { BookOffer } from './book';
import {
  bidCanTrade,
  type BidTerms,
  compareOffers,
  type IneligibleReason,
  pairIneligibility,
} from './eligibility';
import { OfferBook, type PendingAllocation } from './offer-book';

/** GPUs one allocation takes from one offer. */
export interface Allocation {
  readonly offerId: string;
  readonly siteId: string;
  readonly province: string;
  /** The offer's ask per GPU-hour, minor units (the trade price depends on seqs; see tradePrice). */
  readonly ask: bigint;
  readonly gpus: number;
}

/** The constraints a quote reports, in the order of docs/MATCHING.md "Quotes". */
export const EXCLUSION_CONSTRAINTS = [
  'MODEL',
  'TTFT_SLO',
  'THROUGHPUT',
  'TAKE_OR_PAY',
  'PRICE',
  'PROVINCE',
  'RELIABILITY',
  'WINDOW',
  'MIN_LEASE',
  'CO_LOCATION',
] as const;

export type ExclusionConstraint = (typeof EXCLUSION_CONSTRAINTS)[number];

export interface ExcludedOffer {
  /** Ask per GPU-hour, minor units. */
  readonly price: bigint;
  readonly province: string;
}

export interface AllocationResult {
  /** One entry per offer used, in offer priority order. */
  readonly allocations: readonly Allocation[];
  /** Sum of the allocations' GPUs. */
  readonly gpus: number;
  /** Free GPUs of the offers excluded for each constraint; see allocate(). */
  readonly excluded: Readonly<Record<ExclusionConstraint, number>>;
  /** How many offers (with free GPUs) each constraint excluded; the same offers as `excluded`. */
  readonly excludedOffers: Readonly<Record<ExclusionConstraint, number>>;
  /** The best excluded offer in offer priority order (lowest ask, then seq), or null. */
  readonly cheapestExcluded: ExcludedOffer | null;
}

/**
 * docs/MATCHING.md "allocate(bid, offers)" for one bid at `now`, epoch ms, with the diagnostics
 * of "Eligibility of a pair". Pure; all-or-nothing is the run's rule, not applied here.
 */
export function allocate(bid: BidTerms, offers: readonly BookOffer[], now: number): AllocationResult {
  const pending = bidCanTrade(bid, now) ? new OfferBook(offers, now).allocate(bid, now) : NOTHING;
  const allocations = pending.takes.map(({ offer, gpus }) => ({
    offerId: offer.id,
    siteId: offer.siteId,
    province: offer.province,
    ask: offer.price,
    gpus,
  }));

  const coLocationExcluded = new Set(pending.coLocationExcludedSites);
  const excluded = noExclusions();
  const excludedOffers = noExclusions();
  let cheapest: BookOffer | null = null;
  for (const offer of offers) {
    if (offer.free <= 0) continue;
    const constraint = exclusionOf(pairIneligibility(bid, offer, now), coLocationExcluded.has(offer.siteId));
    if (constraint === null) continue;
    excluded[constraint] += offer.free;
    excludedOffers[constraint] += 1;
    if (cheapest === null || compareOffers(offer, cheapest) < 0) cheapest = offer;
  }
  return {
    allocations,
    gpus: pending.gpus,
    excluded,
    excludedOffers,
    cheapestExcluded: cheapest === null ? null : { price: cheapest.price, province: cheapest.province },
  };
}

function noExclusions(): Record<ExclusionConstraint, number> {
  return {
    MODEL: 0,
    TTFT_SLO: 0,
    THROUGHPUT: 0,
    TAKE_OR_PAY: 0,
    PRICE: 0,
    PROVINCE: 0,
    RELIABILITY: 0,
    WINDOW: 0,
    MIN_LEASE: 0,
    CO_LOCATION: 0,
  };
}

const NOTHING: PendingAllocation = { gpus: 0, takes: [], coLocationExcludedSites: [] };

function exclusionOf(reason: IneligibleReason | null, siteExcluded: boolean): ExclusionConstraint | null {
  switch (reason) {
    case null:
      return siteExcluded ? 'CO_LOCATION' : null;
    case 'MODEL':
    case 'TTFT_SLO':
    case 'THROUGHPUT':
    case 'TAKE_OR_PAY':
    case 'PRICE':
    case 'PROVINCE':
    case 'RELIABILITY':
    case 'WINDOW':
    case 'MIN_LEASE':
      return reason;
    case 'UNVERIFIED':
    case 'SAME_ORGANISATION':
    case 'EXPIRED':
    case 'NO_CAPACITY':
      return null;
  }
}
