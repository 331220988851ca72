import type { BookOffer } from './book';
import {
  allocate,
  EXCLUSION_CONSTRAINTS,
  type Allocation,
  type ExcludedOffer,
  type ExclusionConstraint,
} from './allocate';
import type { BidTerms } from './eligibility';
import {
  combinedWindowTimes,
  windowTimes,
  type OfferWindowTimes,
  type WindowTimes,
} from '@/modules/markets/domain/idle-schedule';

export interface QuotedSite {
  readonly siteId: string;
  readonly province: string;
  readonly gpus: number;
  /**
   * When the offers taken at the site can be had: their window times combined, as an ask level
   * of the book shows them (docs/LEASES.md "Idle windows").
   */
  readonly window: WindowTimes;
}

export interface QuoteExclusion {
  readonly constraint: ExclusionConstraint;
  readonly gpus: number;
  readonly offers: number;
}

export interface Quote {
  /** GPUs a run would fill now; 0 for an all-or-nothing bid the book cannot fill whole. */
  readonly fillableGpus: number;
  /** GPUs the first allocation found, filled or not (tells an all-or-nothing bid how short it is). */
  readonly availableGpus: number;
  /** Volume-weighted ask of those GPUs, minor units per GPU-hour, rounded down; null when none. */
  readonly vwap: bigint | null;
  /** Sites used, ordered by the best offer used at each (offer priority order). */
  readonly sites: readonly QuotedSite[];
  /**
   * Free GPUs and offers excluded per constraint, in the documented order, constraints with none
   * left out.
   */
  readonly excluded: readonly QuoteExclusion[];
  readonly cheapestExcluded: ExcludedOffer | null;
}

/**
 * docs/MATCHING.md "Quotes": what placing `bid` now would fill against `offers`, without
 * placing it. A quoted bid would arrive after every resting offer, so it pays their asks; an
 * all-or-nothing bid the allocation cannot fill whole fills nothing, as in a run. The excluded
 * GPUs and the cheapest excluded offer are allocate()'s, defined there.
 */
export function quoteBid(bid: BidTerms, offers: readonly BookOffer[], now: number): Quote {
  // Passes as in a run (docs/MATCHING.md "One run"): a smaller remainder lowers the site
  // minimum, so a partial bid may take more in a later pass. An all-or-nothing bid that the
  // first pass cannot fill whole fills nothing, and the run ends there.
  let book = offers;
  let remaining = bid.remaining;
  const taken: Allocation[] = [];
  let result = allocate(bid, book, now);
  const availableGpus = result.gpus;
  const wouldFill = bid.partialAllowed || result.gpus >= bid.remaining;
  while (wouldFill && result.gpus > 0) {
    taken.push(...result.allocations);
    remaining -= result.gpus;
    const used = new Map<string, number>();
    for (const a of result.allocations) used.set(a.offerId, (used.get(a.offerId) ?? 0) + a.gpus);
    book = book.map((o) => (used.has(o.id) ? { ...o, free: o.free - (used.get(o.id) ?? 0) } : o));
    if (remaining === 0) break;
    // The last pass's exclusions are the ones that still bind.
    result = allocate({ ...bid, remaining }, book, now);
  }
  const byId = new Map(offers.map((offer) => [offer.id, offer]));
  const sites = new Map<string, { province: string; gpus: number; offers: Map<string, OfferWindowTimes> }>();
  let cost = 0n;
  let fillableGpus = 0;
  for (const { siteId, offerId, province, ask, gpus } of taken) {
    cost += ask * BigInt(gpus);
    fillableGpus += gpus;
    const site = sites.get(siteId) ?? { province, gpus: 0, offers: new Map<string, OfferWindowTimes>() };
    site.gpus += gpus;
    const offer = byId.get(offerId);
    if (offer !== undefined && !site.offers.has(offerId)) {
      const spec = offer.idle?.spec ?? null;
      site.offers.set(offerId, {
        windowed: spec !== null,
        times: windowTimes(spec, now, offer.availableFrom, offer.availableUntil),
        availableUntil: offer.availableUntil,
      });
    }
    sites.set(siteId, site);
  }
  const excluded = EXCLUSION_CONSTRAINTS.filter((constraint) => result.excluded[constraint] > 0);
  return {
    fillableGpus,
    availableGpus,
    vwap: fillableGpus === 0 ? null : cost / BigInt(fillableGpus),
    sites: [...sites].map(([siteId, site]) => ({
      siteId,
      province: site.province,
      gpus: site.gpus,
      window: combinedWindowTimes([...site.offers.values()]),
    })),
    excluded: excluded.map((constraint) => ({
      constraint,
      gpus: result.excluded[constraint],
      offers: result.excludedOffers[constraint],
    })),
    cheapestExcluded: result.cheapestExcluded,
  };
}
