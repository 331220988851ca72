import type { BookOffer } from './book';
import { allocate, EXCLUSION_CONSTRAINTS, type ExcludedOffer, type ExclusionConstraint } from './allocate';
import type { BidTerms } from './eligibility';

export interface QuotedSite {
  readonly siteId: string;
  readonly province: string;
  readonly gpus: number;
}

export interface Quote {
  /** GPUs a run would fill now; 0 for an all-or-nothing bid the book cannot fill whole. */
  readonly fillableGpus: number;
  /** Volume-weighted ask of those GPUs, minor units per GPU-hour, rounded down; null when none. */
  readonly vwap: bigint | null;
  /** Sites used, ordered by the best offer used at each (offer priority order). */
  readonly sites: readonly QuotedSite[];
  /** GPUs excluded per constraint, in the documented order, constraints with none left out. */
  readonly excluded: readonly { readonly constraint: ExclusionConstraint; readonly gpus: number }[];
  readonly cheapestExcluded: ExcludedOffer | null;
}

/**
 * docs/MATCHING.md "Quotes": what placing `bid` now would fill against `offers`, without
 * placing it. A quoted bid would arrive after every resting offer, so it pays their asks; an
 * all-or-nothing bid the allocation cannot fill whole fills nothing, as in a run. The excluded
 * GPUs and the cheapest excluded offer are allocate()'s, defined there.
 */
export function quoteBid(bid: BidTerms, offers: readonly BookOffer[], now: number): Quote {
  const result = allocate(bid, offers, now);
  const wouldFill = bid.partialAllowed || result.gpus >= bid.remaining;
  const sites = new Map<string, QuotedSite>();
  let cost = 0n;
  if (wouldFill) {
    for (const { siteId, province, ask, gpus } of result.allocations) {
      cost += ask * BigInt(gpus);
      const site = sites.get(siteId);
      sites.set(siteId, { siteId, province, gpus: (site?.gpus ?? 0) + gpus });
    }
  }
  const fillableGpus = wouldFill ? result.gpus : 0;
  const excluded = EXCLUSION_CONSTRAINTS.filter((constraint) => result.excluded[constraint] > 0);
  return {
    fillableGpus,
    vwap: fillableGpus === 0 ? null : cost / BigInt(fillableGpus),
    sites: [...sites.values()],
    excluded: excluded.map((constraint) => ({ constraint, gpus: result.excluded[constraint] })),
    cheapestExcluded: result.cheapestExcluded,
  };
}
