import { type BookOffer, lotOf, lotsCovering, wholeLots } from './book';
import { type BidTerms, sortOffers, termsCompatible } from './eligibility';

/** GPUs one allocation takes from one offer. */
export interface OfferTake {
  readonly offer: BookOffer;
  /** Position of the offer in the book's priority order; commit() needs it. */
  readonly index: number;
  readonly gpus: number;
}

/** What allocate() found for one bid; nothing changes in the book until commit(). */
export interface PendingAllocation {
  readonly gpus: number;
  /** One entry per offer used, in offer priority order. */
  readonly takes: readonly OfferTake[];
  /** Sites the walk reached but could not open (co-location), in the order reached. */
  readonly coLocationExcludedSites: readonly string[];
}

const SITE_UNSEEN = 0;
const SITE_OPENED = 1;
const SITE_EXCLUDED = 2;

/** The offers of an OfferBook grouped by site, for bids with a site minimum above one GPU. */
interface SiteIndex {
  readonly siteOf: Int32Array;
  /** Offer indices grouped by site, each group in priority order; a site's group starts at siteStart. */
  readonly bySite: Int32Array;
  readonly siteStart: Int32Array;
  readonly siteEnd: Int32Array;
  /** Position of each offer in bySite. */
  readonly sitePos: Int32Array;
  /** Like OfferBook.nextLive over positions in bySite; following it may cross into the next site's group. */
  readonly nextLiveBySite: Int32Array;
  /** Scratch of one allocate() call, reset before it returns. */
  readonly siteState: Uint8Array;
}

/**
 * One run's sorted, site-grouped copy of a market's offers (docs/MATCHING.md "allocate");
 * exhausted offers are skipped by union-find links, so a walk never pays twice for them. The
 * grouping by site is built on the first bid that needs it (a site minimum above one GPU), so a
 * run of plain bids pays only for the offers' order. Typed-array indexes are in range by
 * construction, hence the non-null assertions.
 */
export class OfferBook {
  /** Offers that can trade at `now` at all (verified, window open, free > 0), in priority order. */
  private readonly offers: readonly BookOffer[];
  private readonly free: Float64Array;
  /** nextLive[i] leads to the first live offer at index >= i (n when none). */
  private readonly nextLive: Int32Array;
  private siteIndex: SiteIndex | null = null;
  /**
   * Whether anything read past the last offer held: bestPrice() found none live, or a walk went
   * on to the end of the offers (or of a site's) wanting more. Until then, a book of only the
   * first offers of the tradable ones in priority order has behaved as the whole would have
   * (MarketBook.match).
   */
  sawEnd = false;

  // Scratch of one allocate() call, reset before it returns.
  private readonly taken: Float64Array;
  private readonly touchedOffers: number[] = [];
  private readonly touchedSites: number[] = [];

  /**
   * `offers` is any book, filtered by the offer-only rules at `now` and sorted here, unless
   * `tradableInOrder`: then it is already exactly that (a prefix of it is enough for bids priced
   * below the first offer left out, see MarketBook.match) and is used as given.
   */
  constructor(offers: readonly BookOffer[], now: number, tradableInOrder = false) {
    // The offer-only rules are settled once per run instead of once per bid.
    this.offers = tradableInOrder ? offers : sortOffers(offers.filter((o) => offerCanTrade(o, now)));
    const n = this.offers.length;
    this.free = new Float64Array(n);
    this.taken = new Float64Array(n);
    for (let i = 0; i < n; i += 1) this.free[i] = this.offers[i]!.free;
    // One extra slot: the sentinel n, which is always "live".
    this.nextLive = identity(n + 1);
  }

  /** The offers grouped by site, built on first use from the book as it is now. */
  private sites(): SiteIndex {
    if (this.siteIndex !== null) return this.siteIndex;
    const n = this.offers.length;
    const siteOf = new Int32Array(n);
    const siteNumbers = new Map<string, number>();
    const siteCounts: number[] = [];
    for (let i = 0; i < n; i += 1) {
      const offer = this.offers[i]!;
      let site = siteNumbers.get(offer.siteId);
      if (site === undefined) {
        site = siteNumbers.size;
        siteNumbers.set(offer.siteId, site);
        siteCounts.push(0);
      }
      siteOf[i] = site;
      siteCounts[site] = siteCounts[site]! + 1;
    }

    // Counting sort by site keeps each site's offers in priority order.
    const sites = siteCounts.length;
    const siteStart = new Int32Array(sites);
    const siteEnd = new Int32Array(sites);
    let start = 0;
    for (let site = 0; site < sites; site += 1) {
      siteStart[site] = start;
      siteEnd[site] = start;
      start += siteCounts[site]!;
    }
    const bySite = new Int32Array(n);
    const sitePos = new Int32Array(n);
    const nextLiveBySite = identity(n + 1);
    for (let i = 0; i < n; i += 1) {
      const site = siteOf[i]!;
      const pos = siteEnd[site]!;
      bySite[pos] = i;
      sitePos[i] = pos;
      siteEnd[site] = pos + 1;
      // Offers that earlier commits used up.
      if (this.free[i]! <= 0) nextLiveBySite[pos] = pos + 1;
    }
    this.siteIndex = {
      siteOf,
      bySite,
      siteStart,
      siteEnd,
      sitePos,
      nextLiveBySite,
      siteState: new Uint8Array(sites),
    };
    return this.siteIndex;
  }

  /** Ask of the best offer with free GPUs left, or null when every offer is exhausted. */
  bestPrice(): bigint | null {
    const first = find(this.nextLive, 0);
    if (first < this.offers.length) return this.offers[first]!.price;
    this.sawEnd = true;
    return null;
  }

  /**
   * The allocation docs/MATCHING.md gives `bid` against the book's current free GPUs; the book
   * itself is left unchanged. `bid` must be verified, unexpired and want GPUs (the caller's rules).
   * `remaining`: the GPUs it still wants, when a run has filled part of it (no copy of the bid).
   */
  allocate(bid: BidTerms, now: number, remaining = bid.remaining): PendingAllocation {
    const n = this.offers.length;
    // Whole lots per site (docs/MATCHING.md "Lots"): need and the site minimum in lots.
    const lot = lotOf(bid);
    const wanted = wholeLots(Math.max(0, remaining), lot);
    const siteMinimum = lotsCovering(Math.min(bid.minGpusPerSite, wanted), lot);
    const coLocationExcludedSites: string[] = [];
    let need = wanted;
    let i = find(this.nextLive, 0);
    for (; i < n && need > 0; i = find(this.nextLive, i + 1)) {
      const offer = this.offers[i]!;
      // Offers are sorted by price: past the bid's maximum none of the rest can trade either.
      if (offer.price > bid.price) break;
      if (!termsCompatible(bid, offer, now)) continue;
      // With a minimum of one every eligible offer opens its own site, so sites need no tracking.
      if (siteMinimum <= 1) {
        need -= this.take(i, need);
        continue;
      }
      const { siteOf, siteState } = this.sites();
      const site = siteOf[i]!;
      const state = siteState[site]!;
      if (state === SITE_EXCLUDED) continue;
      if (state === SITE_UNSEEN) {
        this.touchedSites.push(site);
        // Supply never grows and need never grows during a walk, so an exclusion is final.
        if (need < siteMinimum || !this.siteSupplies(site, bid, now, siteMinimum)) {
          siteState[site] = SITE_EXCLUDED;
          coLocationExcludedSites.push(offer.siteId);
          continue;
        }
        siteState[site] = SITE_OPENED;
        need -= this.openSite(site, bid, now, siteMinimum);
      }
      need -= lot === 1 ? this.take(i, need) : this.takeLots(i, site, bid, now, need, lot);
    }
    if (i >= n && need > 0) this.sawEnd = true;
    return { gpus: wanted - need, takes: this.collectTakes(), coLocationExcludedSites };
  }

  /** Applies an allocation computed by allocate() on the book as it is now. */
  commit(allocation: PendingAllocation): void {
    for (const take of allocation.takes) {
      const left = this.free[take.index]! - take.gpus;
      this.free[take.index] = left;
      if (left <= 0) {
        this.nextLive[take.index] = take.index + 1;
        if (this.siteIndex !== null) {
          const pos = this.siteIndex.sitePos[take.index]!;
          this.siteIndex.nextLiveBySite[pos] = pos + 1;
        }
      }
    }
  }

  /** Takes up to `want` of the offer's GPUs not yet taken by this allocation; returns how many. */
  private take(i: number, want: number): number {
    const taken = this.taken[i]!;
    const gpus = Math.min(this.free[i]! - taken, want);
    if (gpus <= 0) return 0;
    if (taken === 0) this.touchedOffers.push(i);
    this.taken[i] = taken + gpus;
    return gpus;
  }

  /**
   * Takes up to `want` from the offer at an opened site so the site's total stays whole lots: a
   * lot the offer leaves part-taken is completed from the site's next-best eligible offers, or
   * given back when they cannot complete it. Returns the GPUs taken (whole lots).
   */
  private takeLots(i: number, site: number, bid: BidTerms, now: number, want: number, lot: number): number {
    const gpus = this.take(i, want);
    // The site held whole lots before, and `want` is whole lots, so a part lot means i ran out.
    const part = gpus % lot;
    if (part === 0) return gpus;
    let missing = lot - part;
    let spare = 0;
    this.forEachEligibleAtSite(site, bid, now, (j) => {
      if (j !== i) spare += this.free[j]! - this.taken[j]!;
      return spare < missing;
    });
    if (spare < missing) {
      this.taken[i] = this.taken[i]! - part;
      return gpus - part;
    }
    this.forEachEligibleAtSite(site, bid, now, (j) => {
      if (j !== i) missing -= this.take(j, missing);
      return missing > 0;
    });
    return gpus + lot - part;
  }

  /** Whether the bid's eligible offers at an unopened site hold at least `minimum` free GPUs. */
  private siteSupplies(site: number, bid: BidTerms, now: number, minimum: number): boolean {
    let supply = 0;
    this.forEachEligibleAtSite(site, bid, now, (i) => {
      supply += this.free[i]!;
      return supply < minimum;
    });
    return supply >= minimum;
  }

  /** Opens a site: takes `minimum` GPUs from its eligible offers in priority order; returns it. */
  private openSite(site: number, bid: BidTerms, now: number, minimum: number): number {
    let left = minimum;
    this.forEachEligibleAtSite(site, bid, now, (i) => {
      left -= this.take(i, left);
      return left > 0;
    });
    return minimum - left;
  }

  /** Visits the site's live offers the bid may trade with, best first, while `visit` says go on. */
  private forEachEligibleAtSite(
    site: number,
    bid: BidTerms,
    now: number,
    visit: (i: number) => boolean,
  ): void {
    const { siteStart, siteEnd, nextLiveBySite, bySite } = this.sites();
    const end = siteEnd[site]!;
    for (let pos = find(nextLiveBySite, siteStart[site]!); pos < end; pos = find(nextLiveBySite, pos + 1)) {
      const i = bySite[pos]!;
      const offer = this.offers[i]!;
      if (offer.price > bid.price) return;
      if (termsCompatible(bid, offer, now) && !visit(i)) return;
    }
    this.sawEnd = true;
  }

  /** Turns the scratch of one walk into takes in priority order, and clears the scratch. */
  private collectTakes(): OfferTake[] {
    const touched = this.touchedOffers;
    // Opening a site can take from an offer before better-priced offers elsewhere are reached.
    touched.sort((a, b) => a - b);
    const takes: OfferTake[] = [];
    for (const i of touched) {
      // A lot given back can leave an offer touched with nothing taken, or touched twice.
      if (this.taken[i] === 0) continue;
      takes.push({ offer: this.offers[i]!, index: i, gpus: this.taken[i]! });
      this.taken[i] = 0;
    }
    touched.length = 0;
    for (const site of this.touchedSites) this.siteIndex!.siteState[site] = SITE_UNSEEN;
    this.touchedSites.length = 0;
    return takes;
  }
}

/**
 * Whether `bid` is plain: GPUs in lots of one and no site minimum above one GPU
 * (docs/MATCHING.md "Lots", "Co-location"), so its allocation (`allocate`) takes each compatible
 * offer's GPUs in priority order and tracks no site.
 */
export function isPlainBid(bid: BidTerms): boolean {
  return lotOf(bid) === 1 && Math.min(bid.minGpusPerSite, bid.remaining) <= 1;
}

/** The offer-only rules (1 and 8, 9): verified, window open at `now`, free GPUs left. */
export function offerCanTrade(offer: BookOffer, now: number): boolean {
  return offer.verified && offer.free > 0 && offer.availableFrom <= now;
}

function identity(size: number): Int32Array {
  const links = new Int32Array(size);
  for (let i = 0; i < size; i += 1) links[i] = i;
  return links;
}

/** First live index at or after `i`; splits the path it walks so later finds are shorter. */
function find(links: Int32Array, i: number): number {
  let at = i;
  let next = links[at]!;
  while (next !== at) {
    const after = links[next]!;
    links[at] = after;
    at = next;
    next = after;
  }
  return at;
}
