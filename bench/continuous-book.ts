import { type BookBid, type BookOffer, type Fill, HOUR_MS } from '@/modules/matching/domain/book';

// Slot states. A DEAD slot is filled, cancelled or expired but still sits in a level queue;
// it becomes FREE (reusable) when the queue drops it.
const FREE = 0;
const LIVE = 1;
const PENDING = 2;
const DEAD = 3;

const NO_PROVINCES: readonly string[] = [];

const SITE_UNSEEN = 0;
const SITE_OPENED = 1;
const SITE_EXCLUDED = 2;

/** One price of one side: its orders in seq order, consumed from `head`. */
class Level {
  readonly slots: number[] = [];
  price = 0;
  isBid = false;
  head = 0;
  live = 0;
  dirty = false;
}

/** A binary min-heap of (instant, slot, generation): pending window openings and rechecks. */
class SlotTimers {
  private readonly keys: number[] = [];
  private readonly slots: number[] = [];
  private readonly gens: number[] = [];
  /** Slot and generation of the entry the last pop() removed. */
  slot = -1;
  gen = -1;

  get size(): number {
    return this.keys.length;
  }

  peekKey(): number {
    return this.keys.length > 0 ? this.keys[0]! : Infinity;
  }

  push(key: number, slot: number, gen: number): void {
    let i = this.keys.length;
    this.keys.push(key);
    this.slots.push(slot);
    this.gens.push(gen);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.keys[parent]! <= key) break;
      this.move(parent, i);
      i = parent;
    }
    this.set(i, key, slot, gen);
  }

  /** Removes the earliest entry, returns its instant and leaves its slot and gen in the fields. */
  pop(): number {
    const top = this.keys[0]!;
    this.slot = this.slots[0]!;
    this.gen = this.gens[0]!;
    const key = this.keys.pop()!;
    const slot = this.slots.pop()!;
    const gen = this.gens.pop()!;
    const n = this.keys.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.keys[child + 1]! < this.keys[child]!) child += 1;
      if (this.keys[child]! >= key) break;
      this.move(child, i);
      i = child;
    }
    this.set(i, key, slot, gen);
    return top;
  }

  private move(from: number, to: number): void {
    this.set(to, this.keys[from]!, this.slots[from]!, this.gens[from]!);
  }

  private set(i: number, key: number, slot: number, gen: number): void {
    this.keys[i] = key;
    this.slots[i] = slot;
    this.gens[i] = gen;
  }
}

/**
 * A market's book kept in memory between arrivals: each event (an order placed or cancelled,
 * or time moving on) is followed at once by the run docs/MATCHING.md "One run" defines, so the
 * fills after every event equal those of `matchMarket` on the whole book at that instant, and
 * the book is uncrossed between events.
 *
 * A run re-examines only bids that can fill; every other bid provably fills nothing, so
 * skipping it leaves the passes and their fill order unchanged:
 * - a bid that is not all-or-nothing with co-location ("monotone": fillable stays fillable
 *   when offers grow and never becomes fillable when they shrink) can only fill when an
 *   offer it may trade with arrived or opened its window in this event, so the run walks the
 *   resting bids from the best one down to the new offers' price, and stops when those are
 *   exhausted;
 * - an all-or-nothing bid with a site minimum of two or more can also fill when its eligible
 *   offers lose capacity (example in "One run"), so it is re-examined whenever a fill or a
 *   cancel touches an offer it may trade with, or an offer's window closes for it; while its
 *   eligible supply is below its remainder only a new offer can help, and it is left out;
 * - the arriving bid itself, and in later passes the bids whose fill shrank their site minimum.
 * Each bid also keeps an upper bound of its eligible supply, so a re-examination that cannot
 * succeed costs no walk.
 *
 * Walks go through price levels (FIFO by seq) from the best price; a bid's walk also passes
 * the cheaper offers it may not trade with (other provinces, short windows, longer minimum
 * leases), so a book full of such offers slows it. Co-location uses per-site lists in
 * priority order, built when the first bid needs them.
 *
 * Orders are kept in typed arrays by slot; prices and seqs are numbers, which is exact because
 * they must be safe integers (a RangeError otherwise). Unverified orders, bids that cannot
 * trade and offers without free GPUs are not kept: they could never fill. Expired bids and
 * offers whose window has ended are dropped when a run meets them; callers cancel orders that
 * leave the book otherwise.
 *
 * The fills of the last event are read through fillCount and the fill accessors (no object per
 * fill), or materialised with fills().
 */
export class ContinuousBook {
  private now = -Infinity;

  // Offers by slot.
  private offerCapacity = 0;
  private offerTop = 0;
  private readonly freeOfferSlots: number[] = [];
  private oPrice = new Float64Array(0);
  private oSeq = new Float64Array(0);
  private oFree = new Float64Array(0);
  private oUntil = new Float64Array(0);
  private oMinLease = new Float64Array(0);
  private oTaken = new Float64Array(0);
  /** Site number for co-location, interned on first use (-1 before). */
  private oSite = new Int32Array(0);
  private oGen = new Int32Array(0);
  private oState = new Uint8Array(0);
  /** 1 while the id is in offerSlots (resting or pending, not just arrived). */
  private oRegistered = new Uint8Array(0);
  private readonly oId: string[] = [];
  // Strings are compared as they come: cheaper than interning them once per order.
  private readonly oOrganisation: string[] = [];
  private readonly oProvince: string[] = [];
  private readonly oSiteId: string[] = [];
  private readonly oLevel: (Level | null)[] = [];

  // Bids by slot.
  private bidCapacity = 0;
  private bidTop = 0;
  private readonly freeBidSlots: number[] = [];
  private bPrice = new Float64Array(0);
  private bSeq = new Float64Array(0);
  private bRemaining = new Float64Array(0);
  private bDurationMs = new Float64Array(0);
  private bDurationHours = new Float64Array(0);
  private bExpires = new Float64Array(0);
  /** Next instant after which an offer's window closes for this bid (all-or-nothing co-location). */
  private bRecheckAfter = new Float64Array(0);
  /**
   * At least the free GPUs of the bid's eligible offers (Infinity when unknown): exact after a
   * walk that filled nothing, raised by every new offer the bid meets; capacity only shrinks
   * otherwise. Below what the bid needs, the walk can be skipped.
   */
  private bSupply = new Float64Array(0);
  private bVisited = new Float64Array(0);
  private bQueued = new Float64Array(0);
  private bQueuedNext = new Float64Array(0);
  private bMinSite = new Int32Array(0);
  private bGen = new Int32Array(0);
  private bState = new Uint8Array(0);
  private bPartial = new Uint8Array(0);
  private bNonMonotone = new Uint8Array(0);
  /** 1 while the bid is in `nonMonotone`. */
  private bWatched = new Uint8Array(0);
  private readonly bId: string[] = [];
  private readonly bOrganisation: string[] = [];
  private readonly bProvinces: (readonly string[])[] = [];
  private readonly bLevel: (Level | null)[] = [];

  private readonly offerSlots = new Map<string, number>();
  private readonly bidSlots = new Map<string, number>();
  private readonly sites = new Map<string, number>();

  // Price levels, best at the end: bids ascending, asks descending.
  private readonly bidLevels: Level[] = [];
  private readonly offerLevels: Level[] = [];
  private readonly bidLevelAt = new Map<number, Level>();
  private readonly offerLevelAt = new Map<number, Level>();
  private readonly dirtyLevels: Level[] = [];
  private readonly spareLevels: Level[] = [];

  /** Resting all-or-nothing co-location bids that capacity changes may fill, by price descending. */
  private readonly nonMonotone: number[] = [];
  private readonly pending = new SlotTimers();
  private readonly rechecks = new SlotTimers();

  // The current event and run.
  private passCount = 0;
  private pass = 0;
  private arrival = -1;
  private arrivalOffer = -1;
  private current = -1;
  private readonly newOffers: number[] = [];
  private readonly candidates: number[] = [];
  private readonly nextPass: number[] = [];
  private cursorLevel = -1;
  private cursorPos = 0;
  private liveBids = 0;
  private liveOffers = 0;
  private fillingPasses = 0;

  // Scratch of one allocation walk.
  private readonly touched: number[] = [];
  private walkEpoch = 0;
  private siteEpoch = new Float64Array(0);
  private siteState = new Uint8Array(0);
  /** Live offers of each site in priority order, once a co-location bid has needed them. */
  private sitesIndexed = false;
  private readonly siteOffers: number[][] = [];

  // Fills of the last event.
  private fillTotal = 0;
  private readonly fillBidIds: string[] = [];
  private readonly fillOfferIds: string[] = [];
  private readonly fillSiteIds: string[] = [];
  private fillGpusAt = new Float64Array(64);
  private fillPriceAt = new Float64Array(64);

  private readonly byOfferPriority = (a: number, b: number): number =>
    this.oPrice[a]! - this.oPrice[b]! || this.oSeq[a]! - this.oSeq[b]!;

  /** Fills of the last event. */
  get fillCount(): number {
    return this.fillTotal;
  }

  /** Passes of the last event's run that filled something (a diagnostic: more than one is rare). */
  get lastFillingPasses(): number {
    return this.fillingPasses;
  }

  get restingBids(): number {
    return this.liveBids;
  }

  /** Offers visible to matching (window open, free GPUs left). */
  get restingOffers(): number {
    return this.liveOffers;
  }

  fillBidId(i: number): string {
    return this.fillBidIds[this.fillIndex(i)]!;
  }

  fillOfferId(i: number): string {
    return this.fillOfferIds[this.fillIndex(i)]!;
  }

  fillSiteId(i: number): string {
    return this.fillSiteIds[this.fillIndex(i)]!;
  }

  fillGpus(i: number): number {
    return this.fillGpusAt[this.fillIndex(i)]!;
  }

  /** Trade price per GPU-hour in minor units (exact: prices are safe integers). */
  fillPrice(i: number): number {
    return this.fillPriceAt[this.fillIndex(i)]!;
  }

  /** The last event's fills as objects, in run order. */
  fills(): Fill[] {
    const fills: Fill[] = [];
    for (let i = 0; i < this.fillTotal; i += 1) {
      fills.push({
        bidId: this.fillBidIds[i]!,
        offerId: this.fillOfferIds[i]!,
        siteId: this.fillSiteIds[i]!,
        gpus: this.fillGpusAt[i]!,
        price: BigInt(this.fillPriceAt[i]!),
      });
    }
    return fills;
  }

  /** Places a bid at `now` (epoch ms, never earlier than the last event) and runs; returns fillCount. */
  placeBid(bid: BookBid, now: number): number {
    // Checked before the event starts, so that a rejected order leaves the book as it was.
    if (this.bidSlots.has(bid.id)) throw new Error(`bid ${bid.id} is already in the book`);
    const price = exact(bid.price, 'price');
    const seq = exact(bid.seq, 'seq');
    this.beginEvent(now);
    if (bid.verified && bid.remaining > 0 && now < bid.expiresAt) {
      const slot = this.storeBid(bid, price, seq);
      this.arrival = slot;
      // Registered before the run: a fill later in this run may make it fillable again.
      if (this.bNonMonotone[slot] === 1) this.watchNonMonotone(slot, true);
      this.queueCandidate(slot);
    }
    return this.finishEvent();
  }

  /** Places an offer at `now` and runs; returns fillCount. */
  placeOffer(offer: BookOffer, now: number): number {
    if (this.offerSlots.has(offer.id)) throw new Error(`offer ${offer.id} is already in the book`);
    const price = exact(offer.price, 'price');
    const seq = exact(offer.seq, 'seq');
    this.beginEvent(now);
    if (offer.verified && offer.free > 0) {
      const slot = this.storeOffer(offer, price, seq);
      if (offer.availableFrom <= now) {
        this.openOffer(slot);
        this.arrivalOffer = slot;
      } else {
        this.registerOffer(slot);
        this.oState[slot] = PENDING;
        this.pending.push(offer.availableFrom, slot, this.oGen[slot]!);
      }
    }
    return this.finishEvent();
  }

  /** Removes a bid (no-op when it is not in the book) and runs what time made due; returns fillCount. */
  cancelBid(id: string, now: number): number {
    this.beginEvent(now);
    const slot = this.bidSlots.get(id);
    // A removed bid frees nothing another bid could use: the book stays uncrossed.
    if (slot !== undefined) this.killBid(slot);
    return this.finishEvent();
  }

  /** Removes an offer and runs: all-or-nothing co-location bids may fill without it. */
  cancelOffer(id: string, now: number): number {
    this.beginEvent(now);
    const slot = this.offerSlots.get(id);
    if (slot !== undefined) {
      if (this.oState[slot] === PENDING) {
        this.offerSlots.delete(id);
        this.oRegistered[slot] = 0;
        this.releaseOffer(slot);
      } else {
        this.queueNonMonotoneMeeting(slot);
        this.killOffer(slot);
      }
    }
    return this.finishEvent();
  }

  /** Moves time on: opens offers' windows and re-examines bids whose offers' windows closed. */
  advanceTo(now: number): number {
    this.beginEvent(now);
    return this.finishEvent();
  }

  private fillIndex(i: number): number {
    if (!(i >= 0 && i < this.fillTotal)) throw new RangeError(`fill ${i} of ${this.fillTotal}`);
    return i;
  }

  private beginEvent(now: number): void {
    if (!(now >= this.now)) throw new RangeError(`time went back: ${now} after ${this.now}`);
    this.now = now;
    this.fillTotal = 0;
    this.fillingPasses = 0;
    this.passCount += 1;
    this.pass = this.passCount;
    while (this.pending.size > 0 && this.pending.peekKey() <= now) {
      this.pending.pop();
      const slot = this.pending.slot;
      if (this.oGen[slot] === this.pending.gen && this.oState[slot] === PENDING) this.openOffer(slot);
    }
    while (this.rechecks.size > 0 && this.rechecks.peekKey() < now) {
      const after = this.rechecks.pop();
      const slot = this.rechecks.slot;
      if (this.bGen[slot] !== this.rechecks.gen || this.bState[slot] !== LIVE) continue;
      if (this.bRecheckAfter[slot] === after) this.queueCandidate(slot);
    }
  }

  private finishEvent(): number {
    if (this.candidates.length > 0 || this.newOffers.length > 0) this.run();
    const arrival = this.arrival;
    if (arrival >= 0) {
      if (this.bState[arrival] === LIVE) this.restBid(arrival);
      else this.releaseBid(arrival);
      this.arrival = -1;
    }
    if (this.arrivalOffer >= 0) {
      if (this.oState[this.arrivalOffer] === LIVE) this.registerOffer(this.arrivalOffer);
      this.arrivalOffer = -1;
    }
    clear(this.newOffers);
    this.cleanLevels();
    return this.fillTotal;
  }

  /**
   * The passes of "One run" over the candidate bids, in bid priority order. Pass one merges the
   * queued candidates with a cursor over the resting bids that may meet a new offer.
   */
  private run(): void {
    let pass = this.pass;
    let cursorOn = this.newOffers.length > 0;
    if (cursorOn) this.startCursor();
    for (;;) {
      let filled = false;
      for (;;) {
        const fromCursor = cursorOn ? this.cursorPeek(pass) : -1;
        if (fromCursor < 0) cursorOn = false;
        let slot: number;
        if (
          this.candidates.length > 0 &&
          (fromCursor < 0 || this.bidBefore(this.candidates[0]!, fromCursor))
        ) {
          slot = this.popCandidate();
        } else if (fromCursor >= 0) {
          slot = fromCursor;
          this.cursorPos += 1;
        } else {
          break;
        }
        if (this.bVisited[slot] === pass || this.bState[slot] !== LIVE) continue;
        this.bVisited[slot] = pass;
        if (this.now >= this.bExpires[slot]!) {
          this.killBid(slot);
          continue;
        }
        this.current = slot;
        // A partial bid with a site minimum of one takes all it can see: another pass adds nothing.
        const greedy =
          this.bPartial[slot] === 1 && Math.min(this.bMinSite[slot]!, this.bRemaining[slot]!) <= 1;
        if (this.matchBid(slot) > 0) {
          filled = true;
          if (!greedy && this.bState[slot] === LIVE) this.queueNextPass(slot);
        }
      }
      this.current = -1;
      if (filled) this.fillingPasses += 1;
      if (!filled || this.nextPass.length === 0) break;
      this.passCount += 1;
      pass = this.passCount;
      this.pass = pass;
      for (const slot of this.nextPass) this.queueCandidate(slot);
      clear(this.nextPass);
    }
    clear(this.nextPass);
  }

  /** Bid priority: higher price, then lower seq. */
  private bidBefore(a: number, b: number): boolean {
    const pa = this.bPrice[a]!;
    const pb = this.bPrice[b]!;
    return pa > pb || (pa === pb && this.bSeq[a]! < this.bSeq[b]!);
  }

  private queueCandidate(slot: number): void {
    if (this.bQueued[slot] === this.pass) return;
    this.bQueued[slot] = this.pass;
    const heap = this.candidates;
    let i = heap.length;
    heap.push(slot);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.bidBefore(slot, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = slot;
  }

  private popCandidate(): number {
    const heap = this.candidates;
    const top = heap[0]!;
    const last = heap.pop()!;
    const n = heap.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.bidBefore(heap[child + 1]!, heap[child]!)) child += 1;
      if (!this.bidBefore(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }

  private queueNextPass(slot: number): void {
    if (this.bQueuedNext[slot] === this.pass) return;
    this.bQueuedNext[slot] = this.pass;
    this.nextPass.push(slot);
  }

  private startCursor(): void {
    this.cursorLevel = this.bidLevels.length - 1;
    this.cursorPos = this.cursorLevel >= 0 ? this.bidLevels[this.cursorLevel]!.head : 0;
  }

  /**
   * The next resting bid, in priority order, that may trade with a new offer that still has
   * GPUs, or -1. What it skips can only become less fillable, so it never goes back.
   */
  private cursorPeek(pass: number): number {
    let floor = Infinity;
    for (const offer of this.newOffers) {
      if (this.oState[offer] === LIVE && this.oPrice[offer]! < floor) floor = this.oPrice[offer]!;
    }
    if (floor === Infinity) return -1;
    while (this.cursorLevel >= 0) {
      const level = this.bidLevels[this.cursorLevel]!;
      if (level.price < floor) return -1;
      const slots = level.slots;
      for (; this.cursorPos < slots.length; this.cursorPos += 1) {
        const slot = slots[this.cursorPos]!;
        if (this.bState[slot] !== LIVE || this.bVisited[slot] === pass) continue;
        if (this.now >= this.bExpires[slot]!) {
          this.killBid(slot);
          continue;
        }
        if (this.meetsNewOffer(slot)) return slot;
      }
      this.cursorLevel -= 1;
      if (this.cursorLevel >= 0) this.cursorPos = this.bidLevels[this.cursorLevel]!.head;
    }
    return -1;
  }

  private meetsNewOffer(bid: number): boolean {
    for (const offer of this.newOffers) {
      if (
        this.oState[offer] === LIVE &&
        this.oPrice[offer]! <= this.bPrice[bid]! &&
        this.compatible(bid, offer)
      ) {
        return true;
      }
    }
    return false;
  }

  /** Rules 2 and 5-7 of "Eligibility of a pair"; the others are settled by the book's invariants. */
  private compatible(bid: number, offer: number): boolean {
    if (this.now + this.bDurationMs[bid]! > this.oUntil[offer]!) return false;
    if (this.bDurationHours[bid]! < this.oMinLease[offer]!) return false;
    if (this.bOrganisation[bid] === this.oOrganisation[offer]) return false;
    const provinces = this.bProvinces[bid]!;
    if (provinces.length === 0) return true;
    const province = this.oProvince[offer];
    for (let i = 0; i < provinces.length; i += 1) if (provinces[i] === province) return true;
    return false;
  }

  /** Allocates and applies one bid's fill of this pass; returns the GPUs filled. */
  private matchBid(bid: number): number {
    const minimum = Math.min(this.bMinSite[bid]!, this.bRemaining[bid]!);
    const partial = this.bPartial[bid] === 1;
    if (partial && minimum <= 1) return this.takeGreedily(bid);
    // All-or-nothing needs its whole remainder; a partial bid one site's minimum.
    const supply = this.supplyBound(bid);
    this.bSupply[bid] = supply;
    if (supply < (partial ? minimum : this.bRemaining[bid]!)) {
      if (this.bNonMonotone[bid] === 1) this.watchNonMonotone(bid, false);
      return 0;
    }
    return this.allocate(bid, minimum);
  }

  /** bSupply plus the free GPUs of this event's new offers the bid may trade with. */
  private supplyBound(bid: number): number {
    let bound = this.bSupply[bid]!;
    if (bound === Infinity) return bound;
    for (const offer of this.newOffers) {
      if (
        this.oState[offer] === LIVE &&
        this.oPrice[offer]! <= this.bPrice[bid]! &&
        this.compatible(bid, offer)
      ) {
        bound += this.oFree[offer]!;
      }
    }
    return bound;
  }

  /** The plain case: every eligible offer, best first, until the bid is filled. */
  private takeGreedily(bid: number): number {
    const remaining = this.bRemaining[bid]!;
    const price = this.bPrice[bid]!;
    const levels = this.offerLevels;
    let need = remaining;
    for (let li = levels.length - 1; li >= 0 && need > 0; li -= 1) {
      const level = levels[li]!;
      if (level.price > price) break;
      const slots = level.slots;
      for (let p = level.head; p < slots.length; p += 1) {
        const offer = slots[p]!;
        if (this.oState[offer] !== LIVE) continue;
        if (!this.compatible(bid, offer)) {
          this.dropIfClosed(offer);
          continue;
        }
        const gpus = Math.min(this.oFree[offer]!, need);
        need -= gpus;
        this.fill(bid, offer, gpus);
        if (need === 0) break;
      }
    }
    return remaining - need;
  }

  /**
   * docs/MATCHING.md "allocate(bid, offers)" with the all-or-nothing rule: walks the offers in
   * priority order, opening sites, and applies the allocation only if the run accepts it.
   */
  private allocate(bid: number, minimum: number): number {
    const remaining = this.bRemaining[bid]!;
    const price = this.bPrice[bid]!;
    const durationMs = this.bDurationMs[bid]!;
    const levels = this.offerLevels;
    const epoch = (this.walkEpoch += 1);
    if (minimum > 1 && !this.sitesIndexed) this.indexSites();
    let need = remaining;
    let closes = Infinity;
    let supply = 0;
    walk: for (let li = levels.length - 1; li >= 0; li -= 1) {
      const level = levels[li]!;
      if (level.price > price) break;
      const slots = level.slots;
      for (let p = level.head; p < slots.length; p += 1) {
        const offer = slots[p]!;
        if (this.oState[offer] !== LIVE) continue;
        if (!this.compatible(bid, offer)) {
          this.dropIfClosed(offer);
          continue;
        }
        closes = Math.min(closes, this.oUntil[offer]! - durationMs);
        supply += this.oFree[offer]!;
        if (minimum > 1) {
          const site = this.oSite[offer]!;
          if (this.siteEpoch[site] !== epoch) {
            this.siteEpoch[site] = epoch;
            this.siteState[site] = SITE_UNSEEN;
          }
          const state = this.siteState[site]!;
          if (state === SITE_EXCLUDED) continue;
          if (state === SITE_UNSEEN) {
            // Supply never grows and need never grows during a walk, so an exclusion is final.
            if (need < minimum || !this.siteSupplies(site, bid, minimum)) {
              this.siteState[site] = SITE_EXCLUDED;
              continue;
            }
            this.siteState[site] = SITE_OPENED;
            need -= this.openSite(site, bid, minimum);
          }
        }
        need -= this.take(offer, need);
        if (need === 0) break walk;
      }
    }
    const gpus = remaining - need;
    const touched = this.touched;
    const accepted = gpus > 0 && (this.bPartial[bid] === 1 || gpus === remaining);
    // A walk that took nothing saw every eligible offer.
    this.bSupply[bid] = accepted ? Infinity : supply;
    if (accepted) {
      // Opening a site can take from an offer before better-priced offers elsewhere are reached.
      if (minimum > 1) touched.sort(this.byOfferPriority);
      for (const offer of touched) {
        const taken = this.oTaken[offer]!;
        this.oTaken[offer] = 0;
        this.fill(bid, offer, taken);
      }
    } else {
      for (const offer of touched) this.oTaken[offer] = 0;
      if (this.bNonMonotone[bid] === 1) {
        this.watchNonMonotone(bid, supply >= remaining);
        // The walk saw every eligible offer: the first window to close is when this bid may change.
        if (closes !== this.bRecheckAfter[bid]) {
          this.bRecheckAfter[bid] = closes;
          if (closes !== Infinity) this.rechecks.push(closes, bid, this.bGen[bid]!);
        }
      }
    }
    clear(touched);
    return accepted ? gpus : 0;
  }

  /** An offer whose window has ended can trade with no bid again: it leaves the book when met. */
  private dropIfClosed(offer: number): void {
    if (this.oUntil[offer]! < this.now) this.killOffer(offer);
  }

  /** Whether the bid's eligible offers at an unopened site hold at least `minimum` free GPUs. */
  private siteSupplies(site: number, bid: number, minimum: number): boolean {
    const offers = this.siteOffers[site]!;
    const price = this.bPrice[bid]!;
    let supply = 0;
    for (let i = 0; i < offers.length; i += 1) {
      const offer = offers[i]!;
      if (this.oPrice[offer]! > price) break;
      if (!this.compatible(bid, offer)) continue;
      supply += this.oFree[offer]!;
      if (supply >= minimum) return true;
    }
    return false;
  }

  /** Opens a site: takes `minimum` GPUs from its eligible offers in priority order; returns it. */
  private openSite(site: number, bid: number, minimum: number): number {
    const offers = this.siteOffers[site]!;
    const price = this.bPrice[bid]!;
    let left = minimum;
    for (let i = 0; i < offers.length && left > 0; i += 1) {
      const offer = offers[i]!;
      if (this.oPrice[offer]! > price) break;
      if (this.compatible(bid, offer)) left -= this.take(offer, left);
    }
    return minimum - left;
  }

  /**
   * Builds the per-site lists of live offers in priority order, the first time a bid asks for
   * co-location; from then on they follow every offer that opens or leaves.
   */
  private indexSites(): void {
    this.sitesIndexed = true;
    for (const level of this.offerLevels) {
      for (let p = level.head; p < level.slots.length; p += 1) {
        const offer = level.slots[p]!;
        if (this.oState[offer] !== LIVE) continue;
        this.siteOffers[this.siteOf(offer)]!.push(offer);
      }
    }
    for (const offers of this.siteOffers) offers.sort(this.byOfferPriority);
  }

  private siteOf(offer: number): number {
    let site = this.oSite[offer]!;
    if (site < 0) {
      site = this.internSite(this.oSiteId[offer]!);
      this.oSite[offer] = site;
    }
    return site;
  }

  /** Position of a live offer's (price, seq) in its site's list, by binary search. */
  private sitePosition(offers: readonly number[], offer: number): number {
    let lo = 0;
    let hi = offers.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.byOfferPriority(offers[mid]!, offer) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Takes up to `want` of the offer's GPUs not yet taken by this walk; returns how many. */
  private take(offer: number, want: number): number {
    const taken = this.oTaken[offer]!;
    const gpus = Math.min(this.oFree[offer]! - taken, want);
    if (gpus <= 0) return 0;
    if (taken === 0) this.touched.push(offer);
    this.oTaken[offer] = taken + gpus;
    return gpus;
  }

  /** Records one fill and applies it to both orders. */
  private fill(bid: number, offer: number, gpus: number): void {
    const k = this.fillTotal;
    if (k === this.fillGpusAt.length) {
      this.fillGpusAt = growFloat64(this.fillGpusAt, k * 2);
      this.fillPriceAt = growFloat64(this.fillPriceAt, k * 2);
    }
    this.fillBidIds[k] = this.bId[bid]!;
    this.fillOfferIds[k] = this.oId[offer]!;
    this.fillSiteIds[k] = this.oSiteId[offer]!;
    this.fillGpusAt[k] = gpus;
    // The order with the lower seq was resting and sets the price.
    this.fillPriceAt[k] = this.bSeq[bid]! < this.oSeq[offer]! ? this.bPrice[bid]! : this.oPrice[offer]!;
    this.fillTotal = k + 1;
    const remaining = this.bRemaining[bid]! - gpus;
    this.bRemaining[bid] = remaining;
    if (remaining <= 0) this.killBid(bid);
    const free = this.oFree[offer]! - gpus;
    this.oFree[offer] = free;
    if (free <= 0) this.killOffer(offer);
    if (this.nonMonotone.length > 0) this.queueNonMonotoneMeeting(offer);
  }

  /** Queues the all-or-nothing co-location bids that may trade with `offer`, whose capacity changed. */
  private queueNonMonotoneMeeting(offer: number): void {
    const price = this.oPrice[offer]!;
    const list = this.nonMonotone;
    for (let i = 0; i < list.length; i += 1) {
      const bid = list[i]!;
      if (this.bPrice[bid]! < price) break;
      if (bid === this.current || this.bState[bid] !== LIVE) continue;
      if (this.now >= this.bExpires[bid]!) {
        // killBid takes it out of this list.
        this.killBid(bid);
        i -= 1;
        continue;
      }
      // Taking capacity cannot lift a bid short of supply: only a new offer can.
      if (this.supplyBound(bid) < this.bRemaining[bid]!) continue;
      if (!this.compatible(bid, offer)) continue;
      // A bid already passed in this pass comes back in the next one; a later bid in this one.
      if (this.current >= 0 && this.bidBefore(bid, this.current)) this.queueNextPass(bid);
      else this.queueCandidate(bid);
    }
  }

  /**
   * Keeps an all-or-nothing co-location bid in the list fills and cancels consult, or takes it
   * out while its supply is short of its remainder (then only a new offer can help, and the
   * cursor brings every new offer's bids).
   */
  private watchNonMonotone(bid: number, watch: boolean): void {
    if ((this.bWatched[bid] === 1) === watch) return;
    this.bWatched[bid] = watch ? 1 : 0;
    if (watch) this.addNonMonotone(bid);
    else this.nonMonotone.splice(this.nonMonotone.indexOf(bid), 1);
  }

  private addNonMonotone(bid: number): void {
    const list = this.nonMonotone;
    const price = this.bPrice[bid]!;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.bPrice[list[mid]!]! >= price) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, bid);
  }

  private storeOffer(offer: BookOffer, price: number, seq: number): number {
    const slot = this.allocateOfferSlot();
    this.oPrice[slot] = price;
    this.oSeq[slot] = seq;
    this.oFree[slot] = offer.free;
    this.oUntil[slot] = offer.availableUntil;
    this.oMinLease[slot] = offer.minLeaseHours;
    this.oTaken[slot] = 0;
    this.oSite[slot] = -1;
    this.oRegistered[slot] = 0;
    this.oOrganisation[slot] = offer.organisationId;
    this.oProvince[slot] = offer.province;
    this.oId[slot] = offer.id;
    this.oSiteId[slot] = offer.siteId;
    this.oLevel[slot] = null;
    return slot;
  }

  private storeBid(bid: BookBid, price: number, seq: number): number {
    const slot = this.allocateBidSlot();
    this.bPrice[slot] = price;
    this.bSeq[slot] = seq;
    this.bRemaining[slot] = bid.remaining;
    this.bDurationHours[slot] = bid.durationHours;
    this.bDurationMs[slot] = bid.durationHours * HOUR_MS;
    this.bExpires[slot] = bid.expiresAt;
    this.bRecheckAfter[slot] = Infinity;
    this.bSupply[slot] = Infinity;
    this.bOrganisation[slot] = bid.organisationId;
    this.bMinSite[slot] = bid.minGpusPerSite;
    this.bPartial[slot] = bid.partialAllowed ? 1 : 0;
    // All-or-nothing never fills in part, so this holds while the bid rests.
    this.bNonMonotone[slot] = !bid.partialAllowed && Math.min(bid.minGpusPerSite, bid.remaining) >= 2 ? 1 : 0;
    this.bWatched[slot] = 0;
    this.bProvinces[slot] = bid.provinces;
    this.bId[slot] = bid.id;
    this.bLevel[slot] = null;
    this.bState[slot] = LIVE;
    return slot;
  }

  /** Makes an offer visible to matching and a new offer of this event. */
  private openOffer(slot: number): void {
    this.oState[slot] = LIVE;
    const level = this.levelFor(this.oPrice[slot]!, false);
    this.insertBySeq(level, slot, this.oSeq);
    this.oLevel[slot] = level;
    this.liveOffers += 1;
    this.newOffers.push(slot);
    if (this.sitesIndexed) {
      const offers = this.siteOffers[this.siteOf(slot)]!;
      const at = this.sitePosition(offers, slot);
      if (at === offers.length) offers.push(slot);
      else offers.splice(at, 0, slot);
    }
  }

  private restBid(slot: number): void {
    const level = this.levelFor(this.bPrice[slot]!, true);
    this.insertBySeq(level, slot, this.bSeq);
    this.bLevel[slot] = level;
    this.liveBids += 1;
    // Only orders that stay need their id: one that fills on arrival skips both map updates.
    this.bidSlots.set(this.bId[slot]!, slot);
  }

  private registerOffer(slot: number): void {
    this.oRegistered[slot] = 1;
    this.offerSlots.set(this.oId[slot]!, slot);
  }

  private killOffer(slot: number): void {
    if (this.sitesIndexed && this.oState[slot] === LIVE) {
      const offers = this.siteOffers[this.oSite[slot]!]!;
      const at = this.sitePosition(offers, slot);
      if (offers[at] === slot) offers.splice(at, 1);
    }
    this.oState[slot] = DEAD;
    if (this.oRegistered[slot] === 1) {
      this.oRegistered[slot] = 0;
      this.offerSlots.delete(this.oId[slot]!);
    }
    const level = this.oLevel[slot] ?? null;
    if (level !== null) {
      level.live -= 1;
      this.liveOffers -= 1;
      this.markDirty(level);
    }
  }

  private killBid(slot: number): void {
    this.bState[slot] = DEAD;
    const level = this.bLevel[slot] ?? null;
    if (level !== null) {
      this.bidSlots.delete(this.bId[slot]!);
      level.live -= 1;
      this.liveBids -= 1;
      this.markDirty(level);
    }
    if (this.bNonMonotone[slot] === 1) this.watchNonMonotone(slot, false);
  }

  private markDirty(level: Level): void {
    if (level.dirty) return;
    level.dirty = true;
    this.dirtyLevels.push(level);
  }

  /** Drops dead orders from the ends of touched levels, compacts mostly-dead ones, removes empty ones. */
  private cleanLevels(): void {
    for (const level of this.dirtyLevels) {
      level.dirty = false;
      const state = level.isBid ? this.bState : this.oState;
      const slots = level.slots;
      while (level.head < slots.length && state[slots[level.head]!] !== LIVE) {
        this.release(slots[level.head]!, level.isBid);
        level.head += 1;
      }
      while (slots.length > level.head && state[slots[slots.length - 1]!] !== LIVE) {
        this.release(slots.pop()!, level.isBid);
      }
      const length = slots.length - level.head;
      if (length === 0) {
        this.removeLevel(level);
      } else if (length - level.live > level.live + 16 || level.head > 1024) {
        let w = 0;
        for (let r = level.head; r < slots.length; r += 1) {
          const slot = slots[r]!;
          if (state[slot] === LIVE) slots[w++] = slot;
          else this.release(slot, level.isBid);
        }
        slots.length = w;
        level.head = 0;
      }
    }
    clear(this.dirtyLevels);
  }

  private release(slot: number, isBid: boolean): void {
    if (isBid) this.releaseBid(slot);
    else this.releaseOffer(slot);
  }

  private releaseOffer(slot: number): void {
    this.oState[slot] = FREE;
    this.oGen[slot] = this.oGen[slot]! + 1;
    this.oLevel[slot] = null;
    this.oId[slot] = '';
    this.oOrganisation[slot] = '';
    this.freeOfferSlots.push(slot);
  }

  private releaseBid(slot: number): void {
    this.bState[slot] = FREE;
    this.bGen[slot] = this.bGen[slot]! + 1;
    this.bLevel[slot] = null;
    this.bProvinces[slot] = NO_PROVINCES;
    this.bOrganisation[slot] = '';
    this.bId[slot] = '';
    this.freeBidSlots.push(slot);
  }

  private levelFor(price: number, isBid: boolean): Level {
    const byPrice = isBid ? this.bidLevelAt : this.offerLevelAt;
    const existing = byPrice.get(price);
    if (existing !== undefined) return existing;
    // Levels at the touch come and go with almost every order: reuse them.
    const level = this.spareLevels.pop() ?? new Level();
    level.price = price;
    level.isBid = isBid;
    byPrice.set(price, level);
    const levels = isBid ? this.bidLevels : this.offerLevels;
    const at = this.levelIndex(levels, price, isBid);
    if (at === levels.length) levels.push(level);
    else levels.splice(at, 0, level);
    return level;
  }

  private removeLevel(level: Level): void {
    const levels = level.isBid ? this.bidLevels : this.offerLevels;
    (level.isBid ? this.bidLevelAt : this.offerLevelAt).delete(level.price);
    if (levels[levels.length - 1] === level) levels.pop();
    else levels.splice(this.levelIndex(levels, level.price, level.isBid), 1);
    clear(level.slots);
    level.head = 0;
    level.live = 0;
    if (this.spareLevels.length < 1024) this.spareLevels.push(level);
  }

  /** Position of `price` in a side's levels (bids ascending, asks descending), by binary search. */
  private levelIndex(levels: readonly Level[], price: number, isBid: boolean): number {
    let lo = 0;
    let hi = levels.length;
    // The common case is a new best level, at the end.
    if (hi > 0 && (isBid ? levels[hi - 1]!.price < price : levels[hi - 1]!.price > price)) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const at = levels[mid]!.price;
      if (isBid ? at < price : at > price) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Appends in the usual case (seqs arrive in order); otherwise inserts at the order's seq. */
  private insertBySeq(level: Level, slot: number, seqs: Float64Array): void {
    const slots = level.slots;
    const seq = seqs[slot]!;
    level.live += 1;
    if (slots.length === level.head || seqs[slots[slots.length - 1]!]! < seq) {
      slots.push(slot);
      return;
    }
    let lo = level.head;
    let hi = slots.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seqs[slots[mid]!]! < seq) lo = mid + 1;
      else hi = mid;
    }
    slots.splice(lo, 0, slot);
  }

  private internSite(siteId: string): number {
    const known = this.sites.get(siteId);
    if (known !== undefined) return known;
    const site = this.sites.size;
    this.sites.set(siteId, site);
    if (site === this.siteState.length) {
      const size = Math.max(16, site * 2);
      this.siteEpoch = growFloat64(this.siteEpoch, size);
      this.siteState = growUint8(this.siteState, size);
    }
    this.siteOffers.push([]);
    return site;
  }

  private allocateOfferSlot(): number {
    const reused = this.freeOfferSlots.pop();
    if (reused !== undefined) return reused;
    if (this.offerTop === this.offerCapacity) {
      const size = Math.max(1024, this.offerCapacity * 2);
      this.oPrice = growFloat64(this.oPrice, size);
      this.oSeq = growFloat64(this.oSeq, size);
      this.oFree = growFloat64(this.oFree, size);
      this.oUntil = growFloat64(this.oUntil, size);
      this.oMinLease = growFloat64(this.oMinLease, size);
      this.oTaken = growFloat64(this.oTaken, size);
      this.oSite = growInt32(this.oSite, size);
      this.oRegistered = growUint8(this.oRegistered, size);
      this.oGen = growInt32(this.oGen, size);
      this.oState = growUint8(this.oState, size);
      this.offerCapacity = size;
    }
    const slot = this.offerTop;
    this.offerTop += 1;
    return slot;
  }

  private allocateBidSlot(): number {
    const reused = this.freeBidSlots.pop();
    if (reused !== undefined) return reused;
    if (this.bidTop === this.bidCapacity) {
      const size = Math.max(1024, this.bidCapacity * 2);
      this.bPrice = growFloat64(this.bPrice, size);
      this.bSeq = growFloat64(this.bSeq, size);
      this.bRemaining = growFloat64(this.bRemaining, size);
      this.bDurationMs = growFloat64(this.bDurationMs, size);
      this.bDurationHours = growFloat64(this.bDurationHours, size);
      this.bExpires = growFloat64(this.bExpires, size);
      this.bRecheckAfter = growFloat64(this.bRecheckAfter, size);
      this.bSupply = growFloat64(this.bSupply, size);
      this.bVisited = growFloat64(this.bVisited, size);
      this.bQueued = growFloat64(this.bQueued, size);
      this.bQueuedNext = growFloat64(this.bQueuedNext, size);
      this.bMinSite = growInt32(this.bMinSite, size);
      this.bGen = growInt32(this.bGen, size);
      this.bState = growUint8(this.bState, size);
      this.bPartial = growUint8(this.bPartial, size);
      this.bNonMonotone = growUint8(this.bNonMonotone, size);
      this.bWatched = growUint8(this.bWatched, size);
      this.bidCapacity = size;
    }
    const slot = this.bidTop;
    this.bidTop += 1;
    return slot;
  }
}

/** A bigint price or seq as a number, which must be exact. */
function exact(value: bigint, what: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what} ${value} is not a safe integer`);
  return n;
}

/** Empties an array without the runtime call behind `length = 0` in the common already-empty case. */
function clear(array: unknown[]): void {
  while (array.length > 0) array.pop();
}

function growFloat64(array: Float64Array, size: number): Float64Array<ArrayBuffer> {
  const grown = new Float64Array(size);
  grown.set(array);
  return grown;
}

function growInt32(array: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(size);
  grown.set(array);
  return grown;
}

function growUint8(array: Uint8Array, size: number): Uint8Array<ArrayBuffer> {
  const grown = new Uint8Array(size);
  grown.set(array);
  return grown;
}
