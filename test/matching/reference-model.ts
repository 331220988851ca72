/**
 * A deliberately naive reference model of docs/MATCHING.md, written from that page alone.
 *
 * It imports nothing from `src/modules/matching/domain/` except the type-only `book.ts` (so the
 * comparison harness can feed it and the real core the same input). Clarity beats speed: every
 * step re-filters and re-sorts the whole book, site supplies are recomputed from scratch, and no
 * index or cache is kept. Each function names the passage of the doc it implements.
 */
import type { BookBid, BookOffer, Fill } from '@/modules/matching/domain/book';

export type { BookBid, BookOffer, Fill };

/** One hour in epoch milliseconds (re-declared so nothing but types comes from the domain). */
export const HOUR = 3_600_000;

// ---------------------------------------------------------------------------------------------
// Eligibility of a pair (rules 1-9)
// ---------------------------------------------------------------------------------------------

/** The ten eligibility rules, in the doc's order; rule 4 (serving) has four parts. */
export type Rule =
  | 'VERIFIED'
  | 'SAME_ORGANISATION'
  | 'EXPIRED'
  | 'MODEL'
  | 'TTFT_SLO'
  | 'THROUGHPUT'
  | 'TAKE_OR_PAY'
  | 'PRICE'
  | 'PROVINCE'
  | 'RELIABILITY'
  | 'WINDOW'
  | 'MIN_LEASE'
  | 'CAPACITY';

export const RULES: readonly Rule[] = [
  'VERIFIED',
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
  'CAPACITY',
];

/**
 * Rule 4 from docs/MATCHING.md and docs/INFERENCE.md "Sizing" alone: GPU-seconds per second =
 * prompt / prompt rate + output / output rate, up to whole GPUs (at least one), up to whole
 * replicas; at most the bid's sized GPUs.
 */
function servingRule(
  demand: NonNullable<BookBid['inference']>,
  offer: BookOffer,
): 'MODEL' | 'TTFT_SLO' | 'THROUGHPUT' | null {
  const profile = offer.serving?.[demand.modelId];
  if (profile === undefined) return 'MODEL';
  if (profile.ttftP95Ms > demand.ttftP95Ms) return 'TTFT_SLO';
  const seconds =
    demand.promptTokensPerSecond / profile.promptTokensPerSecondPerGpu +
    demand.outputTokensPerSecond / profile.outputTokensPerSecondPerGpu;
  let gpus = 1;
  while (gpus < seconds - 1e-9) gpus += 1;
  while (gpus % profile.gpusPerReplica !== 0) gpus += 1;
  return gpus <= demand.sizedGpus ? null : 'THROUGHPUT';
}

/** Every rule the pair breaks at `now`, in the doc's order; empty when the pair may trade. */
export function brokenRules(bid: BookBid, offer: BookOffer, now: number): Rule[] {
  const broken: Rule[] = [];
  // 1. verified: both organisations are VERIFIED
  if (!(bid.verified && offer.verified)) broken.push('VERIFIED');
  // 2. not the same organisation
  if (bid.organisationId === offer.organisationId) broken.push('SAME_ORGANISATION');
  // 3. not expired: now < b.expiresAt
  if (!(now < bid.expiresAt)) broken.push('EXPIRED');
  // 4. serving, inference bids only: the model, within the SLO, on at most the GPUs sized
  const serving = bid.inference === undefined ? null : servingRule(bid.inference, offer);
  if (serving !== null) broken.push(serving);
  // 4. take-or-pay, inference bids only: b's takeOrPayPercent >= o's payPerUseMinPercent
  if (bid.inference !== undefined && !(bid.inference.takeOrPayPercent >= offer.payPerUseMinPercent)) {
    broken.push('TAKE_OR_PAY');
  }
  // 4. price: o.price <= b.price
  if (!(offer.price <= bid.price)) broken.push('PRICE');
  // 5. province: b.provinces is empty or contains o.province
  if (!(bid.provinces.length === 0 || bid.provinces.includes(offer.province))) broken.push('PROVINCE');
  // 6. reliability: no minimum, or the provider's score (80 when none is read) at least the minimum
  if (!(bid.minProviderScore === undefined || (offer.providerScore ?? 80) >= bid.minProviderScore)) {
    broken.push('RELIABILITY');
  }
  // 8. window: o.availableFrom <= now and the lease has a start (idle windows: see referenceLeaseStart)
  if (referenceLeaseStart(bid, offer, now) === null) broken.push('WINDOW');
  // 7. minimum lease: b.durationHours >= o.minLeaseHours
  if (!(bid.durationHours >= offer.minLeaseHours)) broken.push('MIN_LEASE');
  // 8. capacity: o.free > 0 and b.remaining > 0
  if (!(offer.free > 0 && bid.remaining > 0)) broken.push('CAPACITY');
  return broken;
}

// ---------------------------------------------------------------------------------------------
// Rule 8's start, idle windows included
// ---------------------------------------------------------------------------------------------

const DAY = 24 * HOUR;
const MINUTE = 60_000;
const WEEKDAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'];

const wallClocks = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset at an instant, read naively from Intl's wall clock (ms, local minus UTC). */
function offsetAt(timeZone: string, instant: number): number {
  let format = wallClocks.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    wallClocks.set(timeZone, format);
  }
  const wall = new Date(`${format.format(instant)} UTC`).getTime();
  return wall - Math.floor(instant / 1000) * 1000;
}

/** Occurrences per spec and UTC day of the instant asked about: the same list serves a whole run. */
const occurrencesByDay = new WeakMap<object, Map<number, Array<{ start: number; end: number }>>>();

/**
 * Every occurrence of the offer's windows that starts on a local date from two days before the
 * day of `now` to 48 days after it (the 14-day horizon plus the longest lease, with room), unmerged.
 */
function occurrences(offer: BookOffer, now: number): Array<{ start: number; end: number }> {
  const spec = offer.idle?.spec;
  if (spec === undefined) return [];
  const day = Math.floor(now / DAY) * DAY;
  let byDay = occurrencesByDay.get(spec);
  if (byDay === undefined) {
    byDay = new Map();
    occurrencesByDay.set(spec, byDay);
  }
  const known = byDay.get(day);
  if (known !== undefined) return known;
  const found: Array<{ start: number; end: number }> = [];
  const toInstant = (wall: number): number => {
    // Two corrections reach the instant away from a daylight-saving change (the generators use none).
    const guess = wall - offsetAt(spec.timeZone, wall);
    return wall - offsetAt(spec.timeZone, guess);
  };
  // Local midnight of each date, walking whole days; the wall time read as UTC.
  for (let local = day - 2 * DAY; local <= day + 48 * DAY; local += DAY) {
    const weekday = WEEKDAYS[(new Date(local).getUTCDay() + 6) % 7]!;
    for (const window of spec.windows) {
      if (!window.days.includes(weekday as (typeof window.days)[number])) continue;
      const [sh, sm] = window.start.split(':').map(Number) as [number, number];
      const [eh, em] = window.end.split(':').map(Number) as [number, number];
      const startMinutes = sh * 60 + sm;
      let endMinutes = eh * 60 + em;
      if (endMinutes <= startMinutes) endMinutes += 24 * 60;
      found.push({
        start: toInstant(local + startMinutes * MINUTE),
        end: toInstant(local + endMinutes * MINUTE),
      });
    }
  }
  byDay.set(day, found);
  return found;
}

/** Whether [from, to) lies wholly inside the union of the occurrences (walking from one to the next). */
function covered(windows: ReadonlyArray<{ start: number; end: number }>, from: number, to: number): boolean {
  let at = from;
  for (;;) {
    const inside = windows.filter((w) => w.start <= at && at < w.end);
    if (inside.length === 0) return false;
    at = Math.max(...inside.map((w) => w.end));
    if (at >= to) return true;
  }
}

/**
 * Rule 8's start of a lease of `bid` on `offer` matched at `now`, or null when there is none:
 * without idle windows `now`, if the lease fits before availableUntil; with them, the first
 * instant >= now inside a window (before the bid's expiry, within 14 days, the lease ending by
 * availableUntil) where the lease fits the window whole, or merely starts in it if interruptible.
 * Candidates are now and every occurrence's start: the first such instant is one of them.
 */
export function referenceLeaseStart(bid: BookBid, offer: BookOffer, now: number): number | null {
  if (!(offer.availableFrom <= now)) return null;
  const duration = bid.durationHours * HOUR;
  if (offer.idle === undefined) return now + duration <= offer.availableUntil ? now : null;
  const last = Math.min(bid.expiresAt, now + 14 * DAY, offer.availableUntil - duration + 1);
  const windows = occurrences(offer, now).filter((w) => w.end > now && w.start < last + duration);
  const candidates = [now, ...windows.map((w) => w.start).filter((start) => start > now)].sort(
    (a, b) => a - b,
  );
  for (const start of candidates) {
    // before the expiry, within 14 days, ending by availableUntil: candidates only grow from here
    if (start >= last) break;
    if (!covered(windows, start, start + 1)) continue;
    if (bid.interruptible === true || covered(windows, start, start + duration)) return start;
  }
  return null;
}

export function isEligible(bid: BookBid, offer: BookOffer, now: number): boolean {
  return brokenRules(bid, offer, now).length === 0;
}

// ---------------------------------------------------------------------------------------------
// Priority and trade price
// ---------------------------------------------------------------------------------------------

/** Bids best first: higher price, then lower seq. Returns a new array. */
export function sortBidsByPriority(bids: readonly BookBid[]): BookBid[] {
  return [...bids].sort((a, b) => {
    if (a.price !== b.price) return a.price > b.price ? -1 : 1;
    if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
    return 0;
  });
}

/** Offers best first: lower price, then lower seq. Returns a new array. */
export function sortOffersByPriority(offers: readonly BookOffer[]): BookOffer[] {
  return [...offers].sort((a, b) => {
    if (a.price !== b.price) return a.price < b.price ? -1 : 1;
    if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
    return 0;
  });
}

/** The price of whichever order has the lower seq (the resting one). */
export function tradePrice(bid: BookBid, offer: BookOffer): bigint {
  return bid.seq < offer.seq ? bid.price : offer.price;
}

// ---------------------------------------------------------------------------------------------
// allocate(bid, offers): co-location by opening sites
// ---------------------------------------------------------------------------------------------

/** Why the walk passed over an unopened site: `supply < m`, or `need < m`. */
export interface SiteExclusion {
  readonly bidId: string;
  readonly siteId: string;
  /** The offer whose visit found the site closed. */
  readonly offerId: string;
  readonly supply: number;
  readonly m: number;
  readonly need: number;
  readonly reason: 'SUPPLY_BELOW_MINIMUM' | 'NEED_BELOW_MINIMUM';
}

export interface Allocation {
  /** GPUs taken per offer, one entry per offer used, in offer priority order. */
  readonly takes: readonly { readonly offer: BookOffer; readonly gpus: number }[];
  readonly total: number;
  /** `min(bid.minGpusPerSite, need)` rounded up to whole lots (`min(bid.minGpusPerSite, bid.remaining)` for a GPU bid). */
  readonly m: number;
  /** Sites in the order they were opened. */
  readonly openedSites: readonly string[];
  readonly exclusions: readonly SiteExclusion[];
}

/**
 * The doc's `allocate`, literally. `offers` is the whole book: the eligible ones are filtered
 * and sorted here.
 */
export function allocate(bid: BookBid, offers: readonly BookOffer[], now: number): Allocation {
  const eligible = sortOffersByPriority(offers.filter((o) => isEligible(bid, o, now)));
  // Lots: an inference bid's replica size (gpusPerReplica), 1 for a GPU bid; need is bid.remaining
  // rounded down to whole lots, m = min(bid.minGpusPerSite, need) rounded up to whole lots.
  const lot = Math.max(1, bid.inference?.gpusPerReplica ?? 1);
  const m = Math.ceil(Math.min(bid.minGpusPerSite, bid.remaining - (bid.remaining % lot)) / lot) * lot;
  const taken = new Map<string, number>(); // offer id -> GPUs taken so far
  const takenFrom = (o: BookOffer): number => taken.get(o.id) ?? 0;
  let need = bid.remaining - (bid.remaining % lot);
  const take = (o: BookOffer, gpus: number): void => {
    if (gpus <= 0) return;
    taken.set(o.id, takenFrom(o) + gpus);
    need -= gpus;
  };
  const opened: string[] = [];
  const exclusions: SiteExclusion[] = [];

  /**
   * Take min(o.free - already taken from o, need) from o; if the site's total is then not a whole
   * number of lots (o ran out mid-lot), complete the lot from the site's next-best eligible
   * offers if they have the GPUs, else give back the part lot taken from o.
   */
  const takeAtSite = (o: BookOffer, siteOffers: readonly BookOffer[]): void => {
    take(o, Math.min(o.free - takenFrom(o), need));
    const atSite = siteOffers.reduce((sum, x) => sum + takenFrom(x), 0);
    const part = atSite % lot;
    if (part === 0) return;
    const others = siteOffers.filter((x) => x.id !== o.id);
    const spare = others.reduce((sum, x) => sum + (x.free - takenFrom(x)), 0);
    if (spare < lot - part) {
      taken.set(o.id, takenFrom(o) - part);
      need += part;
      return;
    }
    let missing = lot - part;
    for (const x of others) {
      const gpus = Math.min(x.free - takenFrom(x), missing);
      take(x, gpus);
      missing -= Math.max(gpus, 0);
    }
  };

  for (const o of eligible) {
    if (!(need > 0)) break;
    // the bid's eligible offers at o's site, from scratch
    const siteOffers = eligible.filter((x) => x.siteId === o.siteId);
    if (opened.includes(o.siteId)) {
      takeAtSite(o, siteOffers);
      continue;
    }
    // supply = sum of free GPUs of the bid's eligible offers at o's site
    const supply = siteOffers.reduce((sum, x) => sum + x.free, 0);
    if (supply < m || need < m) {
      exclusions.push({
        bidId: bid.id,
        siteId: o.siteId,
        offerId: o.id,
        supply,
        m,
        need,
        reason: supply < m ? 'SUPPLY_BELOW_MINIMUM' : 'NEED_BELOW_MINIMUM',
      });
      continue;
    }
    opened.push(o.siteId);
    // open the site: take m GPUs from the site's offers in offer priority order (o first, then
    // the site's next-best offers)
    let toOpen = m;
    for (const x of [o, ...siteOffers.filter((y) => y.id !== o.id)]) {
      const gpus = Math.min(x.free - takenFrom(x), toOpen);
      take(x, gpus);
      toOpen -= Math.max(gpus, 0);
    }
    // then take min(o.free - already taken from o, need) more from o, in whole lots at the site
    takeAtSite(o, siteOffers);
  }

  const takes = eligible.filter((o) => takenFrom(o) > 0).map((o) => ({ offer: o, gpus: takenFrom(o) }));
  return {
    takes,
    total: takes.reduce((sum, t) => sum + t.gpus, 0),
    m,
    openedSites: opened,
    exclusions,
  };
}

// ---------------------------------------------------------------------------------------------
// One run
// ---------------------------------------------------------------------------------------------

export interface BidTurn {
  readonly bidId: string;
  /** The bid as it stood at its turn. */
  readonly bid: BookBid;
  readonly allocation: Allocation;
  readonly outcome: 'RESTS_EMPTY' | 'ALL_OR_NOTHING_SHORT' | 'FILLED' | 'PARTIALLY_FILLED';
  /**
   * Offers that break only rule 3 (the bid is expired) and would otherwise be eligible: the
   * bid would have crossed them had it not expired.
   */
  readonly expiredCrossings: readonly string[];
}

export interface ReferenceRun {
  readonly fills: Fill[];
  /** Every bid's turn, pass by pass, each pass in bid priority order. */
  readonly turns: readonly BidTurn[];
  readonly offersAfter: BookOffer[];
  readonly bidsAfter: BookBid[];
}

/** The doc's "One run", with what happened at each bid's turn. */
/** One pass of "One run": each bid once, in priority order. */
export function referencePass(
  bids: readonly BookBid[],
  offers: readonly BookOffer[],
  now: number,
): ReferenceRun {
  let book: BookOffer[] = offers.map((o) => ({ ...o }));
  const bidsNow = new Map<string, BookBid>(bids.map((b) => [b.id, { ...b }]));
  const fills: Fill[] = [];
  const turns: BidTurn[] = [];

  for (const ordered of sortBidsByPriority(bids)) {
    const bid = bidsNow.get(ordered.id) ?? ordered;
    const expiredCrossings = book
      .filter((o) => {
        const broken = brokenRules(bid, o, now);
        return broken.length === 1 && broken[0] === 'EXPIRED';
      })
      .map((o) => o.id);
    const allocation = allocate(bid, book, now);
    if (allocation.total === 0) {
      turns.push({ bidId: bid.id, bid, allocation, outcome: 'RESTS_EMPTY', expiredCrossings });
      continue;
    }
    if (!bid.partialAllowed && allocation.total < bid.remaining) {
      turns.push({ bidId: bid.id, bid, allocation, outcome: 'ALL_OR_NOTHING_SHORT', expiredCrossings });
      continue;
    }
    // apply allocation: offers' free -= gpus; bid.remaining -= total; one fill per offer used
    for (const t of allocation.takes) {
      fills.push({
        bidId: bid.id,
        offerId: t.offer.id,
        siteId: t.offer.siteId,
        gpus: t.gpus,
        price: tradePrice(bid, t.offer),
      });
    }
    book = book.map((o) => {
      const used = allocation.takes.find((t) => t.offer.id === o.id);
      return used === undefined ? o : { ...o, free: o.free - used.gpus };
    });
    bidsNow.set(bid.id, { ...bid, remaining: bid.remaining - allocation.total });
    turns.push({
      bidId: bid.id,
      bid,
      allocation,
      outcome: allocation.total === bid.remaining ? 'FILLED' : 'PARTIALLY_FILLED',
      expiredCrossings,
    });
  }

  return { fills, turns, offersAfter: book, bidsAfter: bids.map((b) => bidsNow.get(b.id) ?? b) };
}

/** The fills of one run of the doc's algorithm over this book at `now`. */
/**
 * A whole run: passes until one fills nothing, each pass on the book the previous one left.
 * Turns of every pass are kept, in order, for the coverage statistics.
 */
export function referenceRun(
  bids: readonly BookBid[],
  offers: readonly BookOffer[],
  now: number,
): ReferenceRun {
  let state = { bids: [...bids], offers: [...offers] };
  const fills: Fill[] = [];
  const turns: BidTurn[] = [];
  for (;;) {
    const pass = referencePass(
      state.bids.filter((b) => b.remaining > 0),
      state.offers,
      now,
    );
    turns.push(...pass.turns);
    if (pass.fills.length === 0) return { fills, turns, offersAfter: state.offers, bidsAfter: state.bids };
    fills.push(...pass.fills);
    state = applyFills(state.bids, state.offers, pass.fills);
  }
}

export function referenceMatch(bids: readonly BookBid[], offers: readonly BookOffer[], now: number): Fill[] {
  return referenceRun(bids, offers, now).fills;
}

/**
 * The next book state after `fills`: each offer's `free` and each bid's `remaining` decreased
 * by its fills' GPUs. Orders stay in the book (with 0 left); unknown ids or a negative result
 * throw, since they mean the fills do not belong to this book.
 */
export function applyFills(
  bids: readonly BookBid[],
  offers: readonly BookOffer[],
  fills: readonly Fill[],
): { bids: BookBid[]; offers: BookOffer[] } {
  const bidIds = new Set(bids.map((b) => b.id));
  const offerIds = new Set(offers.map((o) => o.id));
  for (const f of fills) {
    if (!bidIds.has(f.bidId)) throw new Error(`fill for unknown bid ${f.bidId}`);
    if (!offerIds.has(f.offerId)) throw new Error(`fill for unknown offer ${f.offerId}`);
  }
  const gpusOf = (pick: (f: Fill) => boolean): number =>
    fills.filter(pick).reduce((sum, f) => sum + f.gpus, 0);
  const nextOffers = offers.map((o) => ({ ...o, free: o.free - gpusOf((f) => f.offerId === o.id) }));
  const nextBids = bids.map((b) => ({ ...b, remaining: b.remaining - gpusOf((f) => f.bidId === b.id) }));
  const negative = [...nextOffers.filter((o) => o.free < 0), ...nextBids.filter((b) => b.remaining < 0)];
  if (negative.length > 0) throw new Error(`fills over-allocate ${negative.map((x) => x.id).join(', ')}`);
  return { bids: nextBids, offers: nextOffers };
}

// ---------------------------------------------------------------------------------------------
// Quotes
// ---------------------------------------------------------------------------------------------

/** The constraints a quote reports exclusions for (doc, Quotes). */
export type QuoteConstraint =
  | 'MODEL'
  | 'TTFT_SLO'
  | 'THROUGHPUT'
  | 'TAKE_OR_PAY'
  | 'PRICE'
  | 'PROVINCE'
  | 'RELIABILITY'
  | 'WINDOW'
  | 'MIN_LEASE'
  | 'CO_LOCATION';

export const QUOTE_CONSTRAINTS: readonly QuoteConstraint[] = [
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
];

export interface ReferenceQuote {
  /** What a run would fill: the allocation's total, or 0 for an all-or-nothing bid it cannot fill whole. */
  readonly fillableGpus: number;
  /** Sum of gpus x ask over the quoted fills (minor units per hour). */
  readonly volume: bigint;
  /** Volume-weighted ask, rounded down to a minor unit; null when nothing is fillable. */
  readonly vwap: bigint | null;
  /** The fills a run would make (priced at the offers' asks), in offer priority order. */
  readonly fills: readonly Omit<Fill, 'bidId'>[];
  /** GPUs per site used, in the order the walk opened the sites. */
  readonly sites: readonly { readonly siteId: string; readonly gpus: number }[];
  /** Constraints with excluded GPUs > 0, in QUOTE_CONSTRAINTS order. */
  readonly excluded: readonly { readonly constraint: QuoteConstraint; readonly gpus: number }[];
  /** The first counted (excluded) offer in offer priority order. */
  readonly cheapestExcluded: {
    readonly offerId: string;
    readonly siteId: string;
    readonly province: string;
    readonly price: bigint;
    readonly constraint: QuoteConstraint;
  } | null;
}

/**
 * The doc's Quotes section: `allocate` for the proposed bid against the book, nothing placed.
 *
 * - fillable GPUs are what a run would fill: the allocation's total, or 0 (and no fills) for an
 *   all-or-nothing bid the allocation cannot fill whole; the VWAP uses the offers' asks (a placed
 *   bid arrives after every resting offer), rounded down to a minor unit;
 * - each offer with free GPUs counts at most once: under MODEL, TTFT_SLO, THROUGHPUT,
 *   TAKE_OR_PAY, PRICE, PROVINCE, RELIABILITY, WINDOW or MIN_LEASE when that is the first rule of "Eligibility of a pair" it
 *   breaks (rules 1-3 come first, so
 *   unverified, own-organisation offers and an expired bid count nothing); under CO_LOCATION when
 *   it is eligible but its site was excluded during the walk;
 * - the cheapest excluded offer is the first counted offer in offer priority order.
 *
 * Choices the doc leaves open (listed in the report): CO_LOCATION counts every eligible offer at
 * an excluded site, also one the walk ended before reaching; `vwap` is null when nothing is
 * fillable; `sites` lists the opened sites in opening order.
 */
export function referenceQuote(bid: BookBid, offers: readonly BookOffer[], now: number): ReferenceQuote {
  const allocation = allocate(bid, offers, now);
  const wouldFill = bid.partialAllowed || allocation.total === bid.remaining;
  const takes = wouldFill ? allocation.takes : [];
  const fills = takes.map((t) => ({
    offerId: t.offer.id,
    siteId: t.offer.siteId,
    gpus: t.gpus,
    price: t.offer.price,
  }));
  const fillableGpus = fills.reduce((sum, f) => sum + f.gpus, 0);
  const volume = fills.reduce((sum, f) => sum + BigInt(f.gpus) * f.price, 0n);

  const excludedSites = allocation.exclusions.map((e) => e.siteId);
  const counted: { offer: BookOffer; constraint: QuoteConstraint }[] = [];
  for (const o of sortOffersByPriority(offers)) {
    if (!(o.free > 0)) continue;
    const first = brokenRules(bid, o, now)[0];
    if (
      first === 'MODEL' ||
      first === 'TTFT_SLO' ||
      first === 'THROUGHPUT' ||
      first === 'TAKE_OR_PAY' ||
      first === 'PRICE' ||
      first === 'PROVINCE' ||
      first === 'RELIABILITY' ||
      first === 'WINDOW' ||
      first === 'MIN_LEASE'
    ) {
      counted.push({ offer: o, constraint: first });
    } else if (first === undefined && excludedSites.includes(o.siteId)) {
      counted.push({ offer: o, constraint: 'CO_LOCATION' });
    }
  }

  const excluded = QUOTE_CONSTRAINTS.map((constraint) => ({
    constraint,
    gpus: counted.filter((c) => c.constraint === constraint).reduce((sum, c) => sum + c.offer.free, 0),
  })).filter((e) => e.gpus > 0);

  const cheapest = counted[0];
  return {
    fillableGpus,
    volume,
    vwap: fillableGpus > 0 ? volume / BigInt(fillableGpus) : null,
    fills,
    sites: wouldFill
      ? allocation.openedSites.map((siteId) => ({
          siteId,
          gpus: fills.filter((f) => f.siteId === siteId).reduce((sum, f) => sum + f.gpus, 0),
        }))
      : [],
    excluded,
    cheapestExcluded:
      cheapest === undefined
        ? null
        : {
            offerId: cheapest.offer.id,
            siteId: cheapest.offer.siteId,
            province: cheapest.offer.province,
            price: cheapest.offer.price,
            constraint: cheapest.constraint,
          },
  };
}
