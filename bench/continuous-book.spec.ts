import fc from 'fast-check';
import type { BookBid, BookOffer, Fill } from '@/modules/matching/domain/book';
import { bid, GUIZHOU, HOUR, NOW, offer } from '../test/matching/book-fixtures';
import { ContinuousBook } from './continuous-book';
import { matchMarket } from '@/modules/matching/domain/match-market';

function fill(bidId: string, offerId: string, siteId: string, gpus: number, price: bigint): Fill {
  return { bidId, offerId, siteId, gpus, price };
}

describe('ContinuousBook (docs/MATCHING.md, one order at a time)', () => {
  it('fills an incoming bid at the resting ask (example 1)', () => {
    const book = new ContinuousBook();
    expect(book.placeOffer(offer({ id: 'O1', siteId: 'S1', price: 1800n, free: 8, seq: 1n }), NOW)).toBe(0);
    book.placeBid(bid({ id: 'B1', price: 2000n, remaining: 4, seq: 2n, partialAllowed: true }), NOW);
    expect(book.fills()).toEqual([fill('B1', 'O1', 'S1', 4, 1800n)]);
    expect(book.fillPrice(0)).toBe(1800);
    expect(book.restingBids).toBe(0);
    expect(book.restingOffers).toBe(1);
  });

  it('fills an incoming offer at the resting bid (example 2)', () => {
    const book = new ContinuousBook();
    book.placeBid(bid({ id: 'B1', price: 2000n, remaining: 4, seq: 1n }), NOW);
    book.placeOffer(offer({ id: 'O1', siteId: 'S1', price: 1800n, free: 8, seq: 2n }), NOW);
    expect(book.fills()).toEqual([fill('B1', 'O1', 'S1', 4, 2000n)]);
  });

  it('serves resting bids best price first, then by seq, when an offer arrives', () => {
    const book = new ContinuousBook();
    book.placeBid(bid({ id: 'B1', price: 1900n, remaining: 3, seq: 1n, partialAllowed: true }), NOW);
    book.placeBid(bid({ id: 'B2', price: 2000n, remaining: 3, seq: 2n, partialAllowed: true }), NOW);
    book.placeBid(bid({ id: 'B3', price: 2000n, remaining: 3, seq: 3n, partialAllowed: true }), NOW);
    book.placeOffer(offer({ id: 'O1', siteId: 'S1', price: 1800n, free: 7, seq: 4n }), NOW);
    expect(book.fills()).toEqual([
      fill('B2', 'O1', 'S1', 3, 2000n),
      fill('B3', 'O1', 'S1', 3, 2000n),
      fill('B1', 'O1', 'S1', 1, 1900n),
    ]);
  });

  it('orders a level by seq even when a lower seq arrives later', () => {
    const book = new ContinuousBook();
    book.placeBid(bid({ id: 'B5', price: 2000n, remaining: 2, seq: 5n, partialAllowed: true }), NOW);
    book.placeBid(bid({ id: 'B3', price: 2000n, remaining: 2, seq: 3n, partialAllowed: true }), NOW);
    book.placeOffer(offer({ id: 'O1', siteId: 'S1', price: 1800n, free: 2, seq: 6n }), NOW);
    expect(book.fills()).toEqual([fill('B3', 'O1', 'S1', 2, 2000n)]);
  });

  it('fills a skipped all-or-nothing co-location bid in a second pass after another bid (One run)', () => {
    const book = new ContinuousBook();
    book.placeOffer(offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 8, seq: 1n }), NOW);
    book.placeOffer(offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 10, seq: 2n }), NOW);
    const b1 = bid({ id: 'B1', price: 2000n, remaining: 10, minGpusPerSite: 4, seq: 3n });
    expect(book.placeBid(b1, NOW)).toBe(0);
    book.placeBid(bid({ id: 'B2', price: 1900n, remaining: 5, seq: 4n, partialAllowed: true }), NOW);
    expect(book.fills()).toEqual([fill('B2', 'O1', 'S1', 5, 1700n), fill('B1', 'O2', 'S2', 10, 1800n)]);
  });

  it('fills the remainder below the site minimum in the same event (example 11)', () => {
    const book = new ContinuousBook();
    book.placeOffer(offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 8, seq: 1n }), NOW);
    book.placeOffer(offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 8, seq: 2n }), NOW);
    book.placeBid(
      bid({ id: 'B1', price: 2000n, remaining: 10, minGpusPerSite: 4, partialAllowed: true, seq: 3n }),
      NOW,
    );
    expect(book.fills()).toEqual([fill('B1', 'O1', 'S1', 8, 1700n), fill('B1', 'O2', 'S2', 2, 1800n)]);
  });

  it('fills an all-or-nothing co-location bid once a cancel removes the site that blocked it', () => {
    const book = new ContinuousBook();
    book.placeOffer(offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 8, seq: 1n }), NOW);
    book.placeOffer(offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 10, seq: 2n }), NOW);
    book.placeBid(bid({ id: 'B1', price: 2000n, remaining: 10, minGpusPerSite: 4, seq: 3n }), NOW);
    book.cancelOffer('O1', NOW + 1);
    expect(book.fills()).toEqual([fill('B1', 'O2', 'S2', 10, 1800n)]);
  });

  it('fills an all-or-nothing co-location bid once time closes the window that blocked it', () => {
    const book = new ContinuousBook();
    const until = NOW + 30 * HOUR;
    book.placeOffer(
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 8, seq: 1n, availableUntil: until }),
      NOW,
    );
    book.placeOffer(offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 10, seq: 2n }), NOW);
    book.placeBid(bid({ id: 'B1', price: 2000n, remaining: 10, minGpusPerSite: 4, seq: 3n }), NOW);
    expect(book.advanceTo(NOW + 6 * HOUR)).toBe(0);
    expect(book.advanceTo(NOW + 6 * HOUR + 1)).toBe(1);
    expect(book.fills()).toEqual([fill('B1', 'O2', 'S2', 10, 1800n)]);
  });

  it('matches an offer when its window opens, at the price of the older order', () => {
    const book = new ContinuousBook();
    book.placeOffer(
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 8, seq: 1n, availableFrom: NOW + HOUR }),
      NOW,
    );
    expect(book.placeBid(bid({ id: 'B1', price: 2000n, remaining: 4, seq: 2n }), NOW)).toBe(0);
    expect(book.restingOffers).toBe(0);
    book.advanceTo(NOW + HOUR);
    expect(book.fills()).toEqual([fill('B1', 'O1', 'S1', 4, 1700n)]);
  });

  it('never fills an expired bid (example 13) and drops it when met', () => {
    const book = new ContinuousBook();
    book.placeBid(bid({ id: 'B1', price: 2000n, remaining: 4, seq: 1n, expiresAt: NOW + HOUR }), NOW);
    book.placeOffer(offer({ id: 'O1', siteId: 'S1', price: 1800n, free: 8, seq: 2n }), NOW + HOUR);
    expect(book.fillCount).toBe(0);
    expect(book.restingBids).toBe(0);
  });

  it('lets unverified and own orders rest unseen (example 15) and filters provinces (example 6)', () => {
    const book = new ContinuousBook();
    book.placeOffer(offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 8, seq: 1n, verified: false }), NOW);
    book.placeOffer(
      offer({ id: 'O2', siteId: 'S2', price: 1750n, free: 8, seq: 2n, organisationId: 'org-B1' }),
      NOW,
    );
    book.placeOffer(offer({ id: 'O3', siteId: 'S3', price: 1800n, free: 8, seq: 3n }), NOW);
    book.placeOffer(
      offer({ id: 'O4', siteId: 'S4', price: 1850n, free: 8, seq: 4n, province: GUIZHOU }),
      NOW,
    );
    book.placeBid(bid({ id: 'B1', price: 2000n, remaining: 4, seq: 5n }), NOW);
    expect(book.fills()).toEqual([fill('B1', 'O3', 'S3', 4, 1800n)]);
    book.placeBid(bid({ id: 'B2', price: 2000n, remaining: 4, seq: 6n, provinces: [GUIZHOU] }), NOW);
    expect(book.fills()).toEqual([fill('B2', 'O4', 'S4', 4, 1850n)]);
  });

  it('rejects time going back, duplicate ids and prices that are not exact as numbers', () => {
    const book = new ContinuousBook();
    book.placeBid(bid({ id: 'B1', price: 1000n, remaining: 4, seq: 1n }), NOW);
    expect(() => book.advanceTo(NOW - 1)).toThrow(RangeError);
    expect(() => book.placeBid(bid({ id: 'B1', price: 1000n, remaining: 4, seq: 2n }), NOW)).toThrow(
      'already in the book',
    );
    expect(() => book.placeBid(bid({ id: 'B2', price: 2n ** 60n, remaining: 4, seq: 3n }), NOW)).toThrow(
      RangeError,
    );
    expect(() => book.fillGpus(0)).toThrow(RangeError);
    // A rejected order changes nothing: the offer below still meets B1 at NOW.
    book.placeOffer(offer({ id: 'O1', siteId: 'S1', price: 900n, free: 4, seq: 4n }), NOW);
    expect(book.fills()).toEqual([fill('B1', 'O1', 'S1', 4, 1000n)]);
  });
});

// ---------------------------------------------------------------------------------------------
// Equivalence with matchMarket run after every event. A failure prints fast-check's seed and
// path; replay it, or run longer, with
//   CONTINUOUS_BOOK_SEED=<seed> CONTINUOUS_BOOK_PATH=<path> npx jest bench/continuous-book.spec.ts
//   CONTINUOUS_BOOK_RUNS=20000 npx jest bench/continuous-book.spec.ts
// ---------------------------------------------------------------------------------------------

const NUM_RUNS = Number(process.env.CONTINUOUS_BOOK_RUNS ?? 400);
const REPLAY_SEED = process.env.CONTINUOUS_BOOK_SEED;
const REPLAY_PATH = process.env.CONTINUOUS_BOOK_PATH;

const SITES = ['S0', 'S1', 'S2', 'S3'] as const;
const SITE_PROVINCE = ['11', '11', '44', '52'] as const;
const PROVINCE_SETS: readonly (readonly string[])[] = [[], [], ['11'], ['44', '52'], ['52'], ['11', '44']];
const MINUTE = 60_000;

type Event =
  | {
      kind: 'offer';
      org: number;
      verified: boolean;
      site: number;
      price: number;
      free: number;
      fromHours: number;
      windowHours: number;
      minLeaseHours: number;
    }
  | {
      kind: 'bid';
      org: number;
      verified: boolean;
      price: number;
      gpus: number;
      durationHours: number;
      provinces: number;
      minGpusPerSite: number;
      partialAllowed: boolean;
      expiresInHours: number;
    }
  | { kind: 'cancelOffer'; pick: number }
  | { kind: 'cancelBid'; pick: number }
  | { kind: 'advance' };

interface Step {
  readonly event: Event;
  /** Time that passes before the event. */
  readonly minutes: number;
}

/** How a stream's orders are drawn: a mixed market, or one crowded with co-location. */
interface Profile {
  readonly sites: number;
  readonly minGpusPerSite: readonly number[];
  readonly partialWeight: number;
  readonly gpus: { readonly min: number; readonly max: number };
}

const MIXED: Profile = {
  sites: SITES.length,
  minGpusPerSite: [1, 1, 2, 3, 4, 6],
  partialWeight: 1,
  gpus: { min: 1, max: 12 },
};
const CO_LOCATION: Profile = {
  sites: 2,
  minGpusPerSite: [2, 3, 4],
  partialWeight: 0.4,
  gpus: { min: 3, max: 10 },
};

function eventArb(profile: Profile): fc.Arbitrary<Event> {
  // Bids priced above offers on average (by 2 of 5 steps), so that most streams cross.
  const offerPrice = fc.integer({ min: 10, max: 14 });
  const bidPrice = fc.integer({ min: 12, max: 16 });
  const org = fc.integer({ min: 0, max: 3 });
  const verified = fc.oneof(
    { weight: 9, arbitrary: fc.constant(true) },
    { weight: 1, arbitrary: fc.constant(false) },
  );
  const partialAllowed = fc.oneof(
    { weight: Math.round(profile.partialWeight * 10), arbitrary: fc.constant(true) },
    { weight: 10, arbitrary: fc.constant(false) },
  );
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('offer' as const),
        org,
        verified,
        site: fc.integer({ min: 0, max: profile.sites - 1 }),
        price: offerPrice,
        free: fc.integer({ min: 1, max: 8 }),
        fromHours: fc.constantFrom(-1, 0, 0, 0, 1, 3),
        windowHours: fc.constantFrom(3, 10, 30, 200),
        minLeaseHours: fc.constantFrom(1, 1, 1, 4, 24),
      }),
    },
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('bid' as const),
        org,
        verified,
        price: bidPrice,
        gpus: fc.integer(profile.gpus),
        durationHours: fc.constantFrom(1, 4, 24),
        provinces: fc.integer({ min: 0, max: PROVINCE_SETS.length - 1 }),
        minGpusPerSite: fc.constantFrom(...profile.minGpusPerSite),
        partialAllowed,
        expiresInHours: fc.constantFrom(1, 5, 50),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancelOffer' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancelBid' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const) }) },
  );
}

/** Steps, and adjacent seq swaps so that some orders arrive after a later seq (seq is only an order). */
function streamArb(profile: Profile, length: { minLength?: number; maxLength: number }, swaps: number) {
  const step: fc.Arbitrary<Step> = fc.record({
    event: eventArb(profile),
    minutes: fc.constantFrom(0, 0, 0, 0, 0, 0, 1, 30, 60, 180, 360),
  });
  return fc.tuple(fc.array(step, { ...length, size: 'max' }), fc.array(fc.nat(), { maxLength: swaps }));
}

interface Coverage {
  streams: number;
  events: number;
  eventsWithFills: number;
  fills: number;
  /** Events whose run filled in more than one pass. */
  multiPassEvents: number;
  aonCoLocationFills: number;
  fillsOnOpenedWindow: number;
}

const coverage: Coverage = {
  streams: 0,
  events: 0,
  eventsWithFills: 0,
  fills: 0,
  multiPassEvents: 0,
  aonCoLocationFills: 0,
  fillsOnOpenedWindow: 0,
};

function seqOrder(count: number, swaps: readonly number[]): bigint[] {
  const seqs = Array.from({ length: count }, (_, i) => BigInt(i + 1));
  for (const swap of swaps) {
    if (count < 2) break;
    const i = swap % (count - 1);
    [seqs[i], seqs[i + 1]] = [seqs[i + 1]!, seqs[i]!];
  }
  return seqs;
}

/**
 * Feeds the steps to a ContinuousBook and, after each one, runs matchMarket on the whole book
 * (every order placed so far, less cancels and fills): the fills must be the same, in order.
 */
function checkStream(steps: readonly Step[], swaps: readonly number[]): void {
  const orders = steps.filter((s) => s.event.kind === 'offer' || s.event.kind === 'bid').length;
  const seqs = seqOrder(orders, swaps);
  const book = new ContinuousBook();
  const bids = new Map<string, BookBid>();
  const offers = new Map<string, BookOffer>();
  const placedBids: string[] = [];
  const placedOffers: string[] = [];
  const openedLater = new Set<string>();
  let now = NOW;
  let ordersSoFar = 0;
  coverage.streams += 1;

  for (const [index, { event, minutes }] of steps.entries()) {
    now += minutes * MINUTE;
    switch (event.kind) {
      case 'offer': {
        const seq = seqs[ordersSoFar++]!;
        const from = now + event.fromHours * HOUR;
        const placed: BookOffer = {
          id: `O${index}`,
          organisationId: `org${event.org}`,
          verified: event.verified,
          siteId: SITES[event.site]!,
          province: SITE_PROVINCE[event.site]!,
          price: BigInt(event.price),
          free: event.free,
          seq,
          availableFrom: from,
          availableUntil: from + event.windowHours * HOUR,
          minLeaseHours: event.minLeaseHours,
        };
        offers.set(placed.id, placed);
        placedOffers.push(placed.id);
        if (from > now) openedLater.add(placed.id);
        book.placeOffer(placed, now);
        break;
      }
      case 'bid': {
        const seq = seqs[ordersSoFar++]!;
        const placed: BookBid = {
          id: `B${index}`,
          organisationId: `org${event.org}`,
          verified: event.verified,
          price: BigInt(event.price),
          remaining: event.gpus,
          seq,
          durationHours: event.durationHours,
          provinces: PROVINCE_SETS[event.provinces]!,
          minGpusPerSite: event.minGpusPerSite,
          partialAllowed: event.partialAllowed,
          expiresAt: now + event.expiresInHours * HOUR,
        };
        bids.set(placed.id, placed);
        placedBids.push(placed.id);
        book.placeBid(placed, now);
        break;
      }
      case 'cancelOffer': {
        const id = placedOffers[event.pick % Math.max(placedOffers.length, 1)] ?? 'none';
        offers.delete(id);
        book.cancelOffer(id, now);
        break;
      }
      case 'cancelBid': {
        const id = placedBids[event.pick % Math.max(placedBids.length, 1)] ?? 'none';
        bids.delete(id);
        book.cancelBid(id, now);
        break;
      }
      case 'advance':
        book.advanceTo(now);
        break;
    }

    const run = matchMarket([...bids.values()], [...offers.values()], now);
    const context = `after step ${index} (${event.kind}) at +${(now - NOW) / MINUTE} min`;
    expect({ context, fills: book.fills() }).toEqual({ context, fills: run.fills });

    for (const [id, gpus] of run.bidsFilled) {
      const before = bids.get(id)!;
      bids.set(id, { ...before, remaining: before.remaining - gpus });
    }
    for (const [id, gpus] of run.offersTaken) {
      const before = offers.get(id)!;
      offers.set(id, { ...before, free: before.free - gpus });
    }
    record(run.fills, bids, openedLater, book.lastFillingPasses);
  }
}

function record(
  fills: readonly Fill[],
  bids: ReadonlyMap<string, BookBid>,
  openedLater: ReadonlySet<string>,
  passes: number,
): void {
  coverage.events += 1;
  if (fills.length === 0) return;
  coverage.eventsWithFills += 1;
  coverage.fills += fills.length;
  if (passes > 1) coverage.multiPassEvents += 1;
  fills.forEach((f) => {
    const b = bids.get(f.bidId)!;
    if (!b.partialAllowed && b.minGpusPerSite > 1) coverage.aonCoLocationFills += 1;
    if (openedLater.has(f.offerId)) coverage.fillsOnOpenedWindow += 1;
  });
}

describe('ContinuousBook vs matchMarket after every event (fast-check)', () => {
  it(`gives the same fills, in the same order, over ${NUM_RUNS} random streams`, () => {
    fc.assert(
      fc.property(
        fc.oneof(streamArb(MIXED, { maxLength: 60 }, 6), streamArb(CO_LOCATION, { maxLength: 60 }, 6)),
        ([steps, swaps]) => checkStream(steps, swaps),
      ),
      {
        numRuns: NUM_RUNS,
        ...(REPLAY_SEED === undefined ? {} : { seed: Number(REPLAY_SEED) }),
        ...(REPLAY_PATH === undefined ? {} : { path: REPLAY_PATH }),
      },
    );
    process.stdout.write(`continuous-book equivalence coverage: ${JSON.stringify(coverage)}\n`);
    // The streams must actually reach the cases the incremental book shortcuts. Over 400
    // streams the share of events that fill is 11.3-11.9% (sd about 0.3 points, measured over
    // seeds); the floor of 8% is far enough below it that only a generator that stopped
    // crossing fails it. (A floor of 10% with bids at 11-15 sat two sd under the mean and failed
    // CI on an unlucky seed.)
    if (REPLAY_SEED === undefined && NUM_RUNS >= 400) {
      expect(coverage.eventsWithFills).toBeGreaterThan(coverage.events * 0.08);
      expect(coverage.multiPassEvents).toBeGreaterThan(0);
      expect(coverage.aonCoLocationFills).toBeGreaterThan(0);
      expect(coverage.fillsOnOpenedWindow).toBeGreaterThan(0);
    }
  });

  it('gives the same fills on a long stream with a deep book (one seeded run)', () => {
    fc.assert(
      fc.property(streamArb(MIXED, { minLength: 300, maxLength: 400 }, 30), ([steps, swaps]) =>
        checkStream(steps, swaps),
      ),
      { numRuns: 10, seed: 20_261_201 },
    );
  });
});
