/**
 * MarketBook.match on a CONTINUOUS market reads only the orders that cross, from lists it keeps
 * in priority order; it must give exactly `matchMarket` over the whole book. Random delta streams
 * (new orders, cancels, changes of any field, time moving across windows and expiries, runs
 * committed or refused) drive a MarketBook and, beside it, a plain copy of the book kept by this
 * test; after every step the two runs must be deep-equal. More runs or a replay:
 *   MARKET_BOOK_MATCH_RUNS=3000 or MARKET_BOOK_MATCH_SEED=123 npx jest src/modules/matching/domain/market-book-match
 */
import fc from 'fast-check';
import { IdleSchedule } from '@/modules/markets/domain/idle-schedule';
import type { IdleWindowsSpec } from '@/modules/markets/domain/order-terms';
import { bookHeader, HOUR, NOW } from '../../../../test/matching/book-fixtures';
import { type BookDelta, MarketBook } from './market-book';
import { bidCanTrade } from './eligibility';
import { matchMarket, type MarketRun } from './match-market';
import { isPlainBid, offerCanTrade } from './offer-book';
import type { RunBid, RunOffer } from './run-book';

const NUM_RUNS = Number(process.env.MARKET_BOOK_MATCH_RUNS ?? 300);
const SEED =
  process.env.MARKET_BOOK_MATCH_SEED === undefined ? undefined : Number(process.env.MARKET_BOOK_MATCH_SEED);
const ASSERT_COVERAGE = SEED === undefined && NUM_RUNS >= 300;

const MINUTE = 60_000;
const header = bookHeader();

const PROVINCES = ['11', '44', '52'] as const;
const PRICES = [1700n, 1800n, 1900n, 2000n] as const;
// Inference (docs/INFERENCE.md): 1,000 + 1,000 tokens/s need 2 GPUs on the fast profile and 3 on
// the slow one, whose latency the second demand's SLO excludes.
const FAST = {
  promptTokensPerSecondPerGpu: 3000,
  outputTokensPerSecondPerGpu: 1000,
  ttftP50Ms: 60,
  ttftP95Ms: 100,
  gpusPerReplica: 1,
};
const SLOW = { ...FAST, promptTokensPerSecondPerGpu: 1500, outputTokensPerSecondPerGpu: 500, ttftP95Ms: 250 };
const SERVINGS: readonly Record<string, typeof FAST>[] = [{ m: FAST }, { m: SLOW }];
const DEMANDS: readonly {
  modelId: string;
  outputTokensPerSecond: number;
  promptTokensPerSecond: number;
  ttftP95Ms: number;
}[] = [
  { modelId: 'm', outputTokensPerSecond: 1000, promptTokensPerSecond: 1000, ttftP95Ms: 300 },
  { modelId: 'm', outputTokensPerSecond: 1000, promptTokensPerSecond: 1000, ttftP95Ms: 120 },
];
// Idle windows: every day 00:00-02:00 UTC, and Tuesdays 09:00-13:00 in Shanghai (NOW is a Tuesday 00:00Z).
const IDLE_DAILY: IdleWindowsSpec = {
  timeZone: 'UTC',
  reclaimNoticeMinutes: 30,
  windows: [{ days: ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'], start: '00:00', end: '02:00' }],
};
const IDLE_TUESDAY: IdleWindowsSpec = {
  timeZone: 'Asia/Shanghai',
  reclaimNoticeMinutes: 30,
  windows: [{ days: ['TUE'], start: '09:00', end: '13:00' }],
};
const IDLE = [new IdleSchedule(IDLE_DAILY), new IdleSchedule(IDLE_TUESDAY)];
// Each organisation's reliability score (undefined: none read, a new provider's 80).
const SCORES = [undefined, 62.5, 75, 80, 90, 97.5, undefined, 90] as const;

const often = <T>(usual: T, rare: T, odds = 9): fc.Arbitrary<T> =>
  fc.constantFrom(...Array.from({ length: odds }, () => usual), rare);

const offerTerms = fc.record({
  org: fc.integer({ min: 0, max: 7 }),
  site: fc.integer({ min: 0, max: 3 }),
  price: fc.constantFrom(...PRICES),
  free: fc.integer({ min: 0, max: 6 }),
  minLeaseHours: fc.constantFrom(1, 1, 1, 4),
  // When its window opens and closes, from the instant it arrives.
  opensIn: fc.constantFrom(-HOUR, -HOUR, -HOUR, -HOUR, MINUTE, 30 * MINUTE, 3 * HOUR),
  closesIn: fc.constantFrom(100 * HOUR, 100 * HOUR, 100 * HOUR, 3 * HOUR, 26 * HOUR),
  idle: fc.constantFrom(-1, -1, -1, -1, -1, 0, 1),
  verified: often(true, false),
  serves: fc.constantFrom(-1, -1, 0, 1),
  floor: fc.constantFrom(0, 0, 30, 60),
});

const bidTerms = fc.record({
  org: fc.integer({ min: 0, max: 7 }),
  price: fc.constantFrom(...PRICES),
  remaining: fc.integer({ min: 1, max: 6 }),
  durationHours: fc.constantFrom(1, 2, 4),
  provinces: fc.oneof(
    fc.constant([]),
    fc.constant([]),
    fc.subarray([...PROVINCES], { minLength: 1, maxLength: 2 }),
  ),
  minGpusPerSite: fc.constantFrom(1, 1, 2, 3, 5),
  partialAllowed: fc.boolean(),
  expiresIn: fc.constantFrom(100 * HOUR, 100 * HOUR, 100 * HOUR, 10 * MINUTE, 2 * HOUR, 0),
  verified: often(true, false),
  inference: fc.constantFrom(-1, -1, -1, -1, 0, 1),
  takeOrPay: fc.constantFrom(0, 30, 50, 100),
  lot: fc.constantFrom(1, 2, 2, 3),
  interruptible: fc.boolean(),
  minProviderScore: fc.constantFrom(0, 0, 0, 75, 80, 90),
});

type Step =
  | { kind: 'bid'; terms: typeof bidTerms extends fc.Arbitrary<infer T> ? T : never; dupSeq: boolean }
  | { kind: 'offer'; terms: typeof offerTerms extends fc.Arbitrary<infer T> ? T : never; dupSeq: boolean }
  | { kind: 'cancel'; bid: boolean; pick: number }
  | {
      kind: 'change';
      bid: boolean;
      pick: number;
      what: 'gpus' | 'price' | 'price-and-seq' | 'verified' | 'time' | 'org';
      value: number;
    }
  | { kind: 'clock'; ms: number };

const steps: fc.Arbitrary<{ step: Step; commit: boolean }[]> = fc.array(
  fc.record({
    step: fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant('bid' as const),
          terms: bidTerms,
          dupSeq: often(false, true, 30),
        }),
      },
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant('offer' as const),
          terms: offerTerms,
          dupSeq: often(false, true, 30),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant('cancel' as const), bid: fc.boolean(), pick: fc.nat() }),
      },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('change' as const),
          bid: fc.boolean(),
          pick: fc.nat(),
          what: fc.constantFrom('gpus', 'price', 'price-and-seq', 'verified', 'time', 'org'),
          value: fc.nat({ max: 1000 }),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('clock' as const),
          ms: fc.constantFrom(1, MINUTE, 20 * MINUTE, HOUR, 3 * HOUR, 9 * HOUR, 24 * HOUR),
        }),
      },
    ),
    // Most runs commit; a refused commit leaves the book as the run found it.
    commit: often(true, false, 4),
  }),
  { minLength: 20, maxLength: 60, size: 'max' },
);

/** The book as this test keeps it, with the Map semantics MarketBook's snapshot has (the order of ties). */
class PlainBook {
  readonly bids = new Map<string, RunBid>();
  readonly offers = new Map<string, RunOffer>();

  apply(delta: BookDelta): void {
    if (delta.kind === 'bid') {
      if (delta.bid === null) this.bids.delete(delta.id);
      else this.bids.set(delta.id, delta.bid);
    } else if (delta.offer === null) this.offers.delete(delta.id);
    else this.offers.set(delta.id, delta.offer);
  }

  applyRun(run: MarketRun): void {
    for (const [id, gpus] of run.bidsFilled) {
      const bid = this.bids.get(id)!;
      this.apply({
        kind: 'bid',
        id,
        bid: bid.remaining > gpus ? { ...bid, remaining: bid.remaining - gpus } : null,
      });
    }
    for (const [id, gpus] of run.offersTaken) {
      const offer = this.offers.get(id)!;
      this.apply({
        kind: 'offer',
        id,
        offer: offer.free > gpus ? { ...offer, free: offer.free - gpus } : null,
      });
    }
  }
}

function newBid(id: string, seq: bigint, now: number, t: Extract<Step, { kind: 'bid' }>['terms']): RunBid {
  const demand = DEMANDS[t.inference];
  // Sizing makes an inference bid's GPUs whole replicas.
  const remaining = demand === undefined ? t.remaining : Math.ceil(t.remaining / t.lot) * t.lot;
  return {
    id,
    organisationId: `org${t.org}`,
    verified: t.verified,
    price: t.price,
    remaining,
    seq,
    durationHours: t.durationHours,
    provinces: t.provinces,
    minGpusPerSite: t.minGpusPerSite,
    partialAllowed: t.partialAllowed,
    expiresAt: now + t.expiresIn,
    billingMode: 'RESERVED',
    ...(demand === undefined
      ? {}
      : {
          inference: {
            ...demand,
            sizedGpus: remaining,
            takeOrPayPercent: t.takeOrPay,
            gpusPerReplica: t.lot,
          },
        }),
    ...(t.interruptible ? { interruptible: true } : {}),
    ...(t.minProviderScore === 0 ? {} : { minProviderScore: t.minProviderScore }),
  };
}

function newOffer(
  id: string,
  seq: bigint,
  now: number,
  t: Extract<Step, { kind: 'offer' }>['terms'],
): RunOffer {
  const score = SCORES[t.org];
  const serving = SERVINGS[t.serves];
  const idle = IDLE[t.idle];
  return {
    id,
    organisationId: `org${t.org}`,
    verified: t.verified,
    siteId: `S${t.site}`,
    // A site is in one province.
    province: PROVINCES[t.site % PROVINCES.length]!,
    price: t.price,
    free: t.free,
    seq,
    availableFrom: now + t.opensIn,
    availableUntil: now + t.closesIn,
    minLeaseHours: t.minLeaseHours,
    payPerUseMinPercent: t.floor,
    ...(score === undefined ? {} : { providerScore: score }),
    ...(serving === undefined ? {} : { serving }),
    ...(idle === undefined ? {} : { idle }),
  };
}

/** The order as `step` changes it (a new `seq` only for a price-and-seq change). */
function changed<T extends RunBid | RunOffer>(
  order: T,
  isBid: boolean,
  step: Extract<Step, { kind: 'change' }>,
  seq: bigint,
  now: number,
): T {
  const { what, value } = step;
  switch (what) {
    case 'gpus': {
      const gpus = value % 7;
      if (!isBid) return { ...order, free: gpus };
      const lot = (order as RunBid).inference?.gpusPerReplica ?? 1;
      return { ...order, remaining: gpus * lot };
    }
    case 'price':
      return { ...order, price: PRICES[value % PRICES.length]! };
    case 'price-and-seq':
      return { ...order, price: PRICES[value % PRICES.length]!, seq };
    case 'verified':
      return { ...order, verified: !order.verified };
    case 'org':
      return { ...order, organisationId: `org${value % 8}` };
    case 'time': {
      const by = [-HOUR, 10 * MINUTE, HOUR, 30 * HOUR][value % 4]!;
      return isBid
        ? { ...order, expiresAt: now + by }
        : {
            ...order,
            availableFrom: now + Math.min(by, 2 * HOUR) - HOUR,
            availableUntil: now + 50 * HOUR + by,
          };
    }
  }
}

describe('MarketBook.match (CONTINUOUS) against matchMarket over the whole book', () => {
  it('gives the same run after every delta, clock move, committed run and refused commit', () => {
    const seen = {
      runs: 0,
      fills: 0,
      coLocationFills: 0,
      lotFills: 0,
      refused: 0,
      ties: 0,
      idleFills: 0,
      plainRuns: 0,
      mixedRuns: 0,
    };
    fc.assert(
      fc.property(steps, (stream) => {
        const engine = new MarketBook(header, 0n);
        const plain = new PlainBook();
        let now = NOW - 3 * HOUR;
        let seq = 0n;
        let epoch = 0n;
        const ids = { bid: 0, offer: 0 };
        for (const { step, commit } of stream) {
          const deltas: BookDelta[] = [];
          seq += 1n;
          switch (step.kind) {
            case 'bid': {
              const held = [...plain.bids.values()];
              const reuse = step.dupSeq && held.length > 0 ? held[Number(seq) % held.length]!.seq : seq;
              if (reuse !== seq) seen.ties += 1;
              const id = `B${(ids.bid += 1)}`;
              deltas.push({ kind: 'bid', id, bid: newBid(id, reuse, now, step.terms) });
              break;
            }
            case 'offer': {
              const held = [...plain.offers.values()];
              const reuse = step.dupSeq && held.length > 0 ? held[Number(seq) % held.length]!.seq : seq;
              if (reuse !== seq) seen.ties += 1;
              const id = `O${(ids.offer += 1)}`;
              deltas.push({ kind: 'offer', id, offer: newOffer(id, reuse, now, step.terms) });
              break;
            }
            case 'cancel': {
              const held = step.bid ? [...plain.bids.keys()] : [...plain.offers.keys()];
              if (held.length === 0) break;
              const id = held[step.pick % held.length]!;
              deltas.push(step.bid ? { kind: 'bid', id, bid: null } : { kind: 'offer', id, offer: null });
              break;
            }
            case 'change': {
              if (step.bid) {
                const held = [...plain.bids.values()];
                if (held.length === 0) break;
                const bid = held[step.pick % held.length]!;
                deltas.push({ kind: 'bid', id: bid.id, bid: changed(bid, true, step, seq, now) });
              } else {
                const held = [...plain.offers.values()];
                if (held.length === 0) break;
                const offer = held[step.pick % held.length]!;
                deltas.push({ kind: 'offer', id: offer.id, offer: changed(offer, false, step, seq, now) });
              }
              break;
            }
            case 'clock':
              now += step.ms;
              break;
          }
          epoch += 1n;
          engine.refresh(header, epoch, deltas);
          for (const delta of deltas) plain.apply(delta);

          const run = engine.match(now);
          const expected = matchMarket([...plain.bids.values()], [...plain.offers.values()], now);
          expect(run).toEqual(expected);
          // The book itself: the same orders, and the snapshot the commit reads is the plain one.
          expect(engine.snapshot().bids).toEqual([...plain.bids.values()]);
          expect(engine.snapshot().offers).toEqual([...plain.offers.values()]);

          seen.runs += 1;
          if (run.fills.length === 0) continue;
          seen.fills += run.fills.length;
          const bidsById = plain.bids;
          if (run.fills.some((f) => bidsById.get(f.bidId)!.minGpusPerSite > 1)) seen.coLocationFills += 1;
          if (run.fills.some((f) => (bidsById.get(f.bidId)!.inference?.gpusPerReplica ?? 1) > 1))
            seen.lotFills += 1;
          if (run.fills.some((f) => plain.offers.get(f.offerId)!.idle !== undefined)) seen.idleFills += 1;
          // Both ways MarketBook.match runs: every bid that crosses is plain (one walk, plainRun),
          // or a bid that is not plain filled (runPasses, crossingRun).
          const tradable = [...plain.offers.values()].filter((o) => offerCanTrade(o, now));
          const bestAsk = tradable.reduce((low, o) => (o.price < low ? o.price : low), tradable[0]!.price);
          const crossing = [...plain.bids.values()].filter((b) => bidCanTrade(b, now) && b.price >= bestAsk);
          if (crossing.every(isPlainBid)) seen.plainRuns += 1;
          if (run.fills.some((f) => !isPlainBid(bidsById.get(f.bidId)!))) seen.mixedRuns += 1;
          if (!commit) {
            // A refused commit: the worker reads again and runs again; the run changed nothing.
            seen.refused += 1;
            expect(engine.match(now)).toEqual(expected);
            continue;
          }
          engine.applyRun(run);
          plain.applyRun(run);
          expect(engine.match(now)).toEqual(
            matchMarket([...plain.bids.values()], [...plain.offers.values()], now),
          );
        }
      }),
      { numRuns: NUM_RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
    if (process.env.MARKET_BOOK_MATCH_VERBOSE) process.stdout.write(`${JSON.stringify(seen)}\n`);
    if (ASSERT_COVERAGE) {
      // The streams do exercise the rules a shortcut could get wrong.
      expect(seen.fills).toBeGreaterThanOrEqual(NUM_RUNS * 3);
      expect(seen.coLocationFills).toBeGreaterThanOrEqual(NUM_RUNS);
      expect(seen.lotFills).toBeGreaterThanOrEqual(NUM_RUNS * 0.1);
      expect(seen.idleFills).toBeGreaterThanOrEqual(NUM_RUNS * 0.3);
      expect(seen.refused).toBeGreaterThanOrEqual(NUM_RUNS * 0.4);
      expect(seen.ties).toBeGreaterThanOrEqual(NUM_RUNS * 0.4);
      expect(seen.plainRuns).toBeGreaterThanOrEqual(NUM_RUNS * 0.2);
      expect(seen.mixedRuns).toBeGreaterThanOrEqual(NUM_RUNS);
    }
  });
});
