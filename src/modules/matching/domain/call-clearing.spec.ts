/**
 * Property tests of the call clearing against test/matching/call-reference.ts on small random books.
 * More runs or a replay: CALL_PROPERTY_RUNS=5000 or CALL_PROPERTY_SEED=123 npx jest src/modules/matching/domain/call-clearing
 */
import fc from 'fast-check';
import type { BookBid, BookOffer } from './book';
import { IdleSchedule } from '@/modules/markets/domain/idle-schedule';
import type { IdleWindowsSpec } from '@/modules/markets/domain/order-terms';
import { clearCall, solveCall } from './call-clearing';
import { loadCallSolver } from './highs-runtime';
import { matchMarket } from './match-market';
import {
  allocationOf,
  allocationViolations,
  bruteForceBest,
  compareScores,
  scoreOf,
} from '../../../../test/matching/call-reference';
import { brokenRules } from '../../../../test/matching/reference-model';
import { HOUR, NOW } from '../../../../test/matching/book-fixtures';

const NUM_RUNS = Number(process.env.CALL_PROPERTY_RUNS ?? 400);
const SEED =
  process.env.CALL_PROPERTY_SEED === undefined ? undefined : Number(process.env.CALL_PROPERTY_SEED);
const ASSERT_COVERAGE = SEED === undefined && NUM_RUNS >= 400;

const PROVINCES = ['11', '44', '52'] as const;
const PRICES = [1700n, 1800n, 1900n, 2000n] as const;
// Inference bids (docs/INFERENCE.md): 1,000 + 1,000 tokens/s need 2 GPUs on the fast profile and
// 3 on the slow one, whose latency the second demand's SLO excludes; sized into the bid's GPUs.
const FAST = {
  promptTokensPerSecondPerGpu: 3000,
  outputTokensPerSecondPerGpu: 1000,
  ttftP50Ms: 60,
  ttftP95Ms: 100,
  gpusPerReplica: 1,
};
const SLOW = { ...FAST, promptTokensPerSecondPerGpu: 1500, outputTokensPerSecondPerGpu: 500, ttftP95Ms: 250 };
const SERVINGS: ReadonlyArray<Record<string, typeof FAST>> = [{ m: FAST }, { m: SLOW }];
const DEMANDS: ReadonlyArray<{
  modelId: string;
  outputTokensPerSecond: number;
  promptTokensPerSecond: number;
  ttftP95Ms: number;
}> = [
  { modelId: 'm', outputTokensPerSecond: 1000, promptTokensPerSecond: 1000, ttftP95Ms: 300 },
  { modelId: 'm', outputTokensPerSecond: 1000, promptTokensPerSecond: 1000, ttftP95Ms: 120 },
];

// Idle windows around NOW (Tuesday 00:00Z): one open now for 2 h, one that opens in 1 h for 4 h.
const IDLE_NOW: IdleWindowsSpec = {
  timeZone: 'UTC',
  reclaimNoticeMinutes: 30,
  windows: [{ days: ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'], start: '00:00', end: '02:00' }],
};
const IDLE_LATER: IdleWindowsSpec = {
  timeZone: 'Asia/Shanghai',
  reclaimNoticeMinutes: 30,
  windows: [{ days: ['TUE'], start: '09:00', end: '13:00' }],
};

interface Book {
  readonly bids: BookBid[];
  readonly offers: BookOffer[];
}

/** A small book; seqs are unique and shared by bids and offers, as in the exchange. */
const bookArbitrary = (maxBids: number, maxOffers: number): fc.Arbitrary<Book> =>
  fc
    .record({
      offers: fc.array(
        fc.record({
          org: fc.integer({ min: 0, max: 7 }),
          site: fc.integer({ min: 0, max: 2 }),
          price: fc.constantFrom(...PRICES),
          free: fc.integer({ min: 0, max: 3 }),
          minLeaseHours: fc.constantFrom(1, 1, 1, 1, 1, 3),
          window: fc.constantFrom(
            'open',
            'open',
            'open',
            'open',
            'open',
            'open',
            'notYet',
            'short',
            'idleNow',
            'idleNow',
            'idleLater',
            'idleLater',
          ),
          verified: fc.constantFrom(true, true, true, true, true, true, true, true, true, false),
          serves: fc.constantFrom(-1, -1, 0, 1),
          floor: fc.constantFrom(0, 0, 30, 60),
        }),
        { minLength: 1, maxLength: maxOffers, size: 'max' },
      ),
      bids: fc.array(
        fc.record({
          org: fc.integer({ min: 0, max: 7 }),
          price: fc.constantFrom(...PRICES),
          remaining: fc.integer({ min: 1, max: 4 }),
          // 3 h twice: an interruptible bid longer than an idle window (interruptibleFill) is rare.
          durationHours: fc.constantFrom(1, 2, 3, 3),
          provinces: fc.oneof(
            fc.constant([]),
            fc.constant([]),
            fc.subarray([...PROVINCES], { minLength: 1, maxLength: 2 }),
          ),
          minGpusPerSite: fc.constantFrom(1, 1, 2, 3),
          partialAllowed: fc.boolean(),
          expired: fc.constantFrom(false, false, false, false, false, false, false, false, false, true),
          verified: fc.constantFrom(true, true, true, true, true, true, true, true, true, false),
          inference: fc.constantFrom(-1, -1, -1, 0, 1),
          takeOrPay: fc.constantFrom(0, 30, 50, 100),
          // Replica size of an inference bid: its lot (docs/MATCHING.md "Lots").
          lot: fc.constantFrom(1, 2, 2, 2, 2, 3),
          interruptible: fc.boolean(),
          // Rule 7 (RELIABILITY): a minimum provider score; 0 stands for none.
          minProviderScore: fc.constantFrom(0, 0, 0, 75, 80, 90),
        }),
        { minLength: 1, maxLength: maxBids, size: 'max' },
      ),
      // Each provider's stored reliability score (docs/RELIABILITY.md), shared by its offers;
      // undefined: none read, which counts as a new provider's 80.
      scores: fc.array(fc.constantFrom(undefined, undefined, 62.5, 75, 80, 90, 97.5), {
        minLength: 8,
        maxLength: 8,
      }),
      seqs: fc.uniqueArray(fc.integer({ min: 1, max: 1000 }), {
        minLength: maxOffers + maxBids,
        maxLength: maxOffers + maxBids,
      }),
    })
    .map(({ offers, bids, scores, seqs }) => ({
      offers: offers.map((o, i) => ({
        id: `O${i + 1}`,
        organisationId: `org${o.org}`,
        verified: o.verified,
        siteId: `S${o.site + 1}`,
        // A site is in one province.
        province: PROVINCES[o.site]!,
        price: o.price,
        free: o.free,
        seq: BigInt(seqs[i]!),
        availableFrom: o.window === 'notYet' ? NOW + HOUR : NOW - HOUR,
        availableUntil: o.window === 'short' ? NOW + 2 * HOUR : NOW + 100 * HOUR,
        minLeaseHours: o.minLeaseHours,
        payPerUseMinPercent: o.floor,
        ...(scores[o.org] === undefined ? {} : { providerScore: scores[o.org] }),
        ...(SERVINGS[o.serves] === undefined ? {} : { serving: SERVINGS[o.serves] }),
        ...(o.window === 'idleNow' ? { idle: new IdleSchedule(IDLE_NOW) } : {}),
        ...(o.window === 'idleLater' ? { idle: new IdleSchedule(IDLE_LATER) } : {}),
      })),
      bids: bids.map((b, i) => {
        // Sizing makes an inference bid's GPUs whole replicas.
        const remaining =
          DEMANDS[b.inference] === undefined ? b.remaining : Math.ceil(b.remaining / b.lot) * b.lot;
        return {
          id: `B${i + 1}`,
          organisationId: `org${b.org}`,
          verified: b.verified,
          price: b.price,
          remaining,
          seq: BigInt(seqs[maxOffers + i]!),
          durationHours: b.durationHours,
          provinces: b.provinces,
          minGpusPerSite: b.minGpusPerSite,
          partialAllowed: b.partialAllowed,
          expiresAt: b.expired ? NOW : NOW + 100 * HOUR,
          ...(DEMANDS[b.inference] === undefined
            ? {}
            : {
                inference: {
                  ...DEMANDS[b.inference]!,
                  sizedGpus: remaining,
                  takeOrPayPercent: b.takeOrPay,
                  gpusPerReplica: b.lot,
                },
              }),
          ...(b.interruptible ? { interruptible: true } : {}),
          ...(b.minProviderScore === 0 ? {} : { minProviderScore: b.minProviderScore }),
        };
      }),
    }));

const options = { numRuns: NUM_RUNS, ...(SEED === undefined ? {} : { seed: SEED }) };

beforeAll(async () => {
  await loadCallSolver();
});

describe('call clearing: properties', () => {
  it('breaks no rule, and the solver alone reaches the brute-force optimum', () => {
    const seen = {
      contention: 0,
      coLocation: 0,
      allOrNothingFilled: 0,
      allOrNothingRested: 0,
      remainderSite: 0,
      idleLaterFill: 0,
      interruptibleFill: 0,
      lotFill: 0,
      minScoreFill: 0,
      minScoreExcluded: 0,
    };
    fc.assert(
      fc.property(bookArbitrary(6, 5), ({ bids, offers }) => {
        const solved = solveCall(bids, offers, NOW, { greedyFallback: false });
        const allocation = allocationOf(solved.run.fills);
        expect(allocationViolations(bids, offers, allocation, NOW)).toEqual([]);
        // Pay-as-ask: every fill at its offer's ask, never above the bid's maximum.
        for (const fill of solved.run.fills) {
          const offer = offers.find((o) => o.id === fill.offerId)!;
          expect(fill.price).toBe(offer.price);
          expect(fill.siteId).toBe(offer.siteId);
          expect(fill.price <= bids.find((b) => b.id === fill.bidId)!.price).toBe(true);
          // Rule 7 (RELIABILITY), checked here as well as by the reference: never supply from a
          // provider below the bid's minimum score (no score read counts as a new provider's 80).
          const minimum = bids.find((b) => b.id === fill.bidId)!.minProviderScore;
          if (minimum !== undefined) expect(offer.providerScore ?? 80).toBeGreaterThanOrEqual(minimum);
        }
        // The reported totals are the fills'.
        expect(solved.score).toEqual(scoreOf(bids, offers, allocation));
        expect(solved.limited).toBe(0);
        const best = bruteForceBest(bids, offers, NOW);
        expect(compareScores(solved.score, best)).toBe(0);

        countCoverage(seen, bids, offers, allocation);
        // Idle windows (rule 8): a lease made now for a window that opens later; an interruptible
        // bid filled on a window it does not fit whole.
        for (const fill of solved.run.fills) {
          const offer = offers.find((o) => o.id === fill.offerId)!;
          const bid = bids.find((b) => b.id === fill.bidId)!;
          if (offer.idle?.spec === IDLE_LATER) seen.idleLaterFill += 1;
          if (offer.idle?.spec === IDLE_NOW && bid.interruptible === true && bid.durationHours > 2)
            seen.interruptibleFill += 1;
          if (bid.minProviderScore !== undefined) seen.minScoreFill += 1;
        }
        // Lots: a bid with replicas of more than one GPU filled.
        if (
          solved.run.fills.some(
            (f) => (bids.find((b) => b.id === f.bidId)!.inference?.gpusPerReplica ?? 1) > 1,
          )
        )
          seen.lotFill += 1;
        // A pair that only the score minimum rules out: the rule did bite in this book.
        if (
          bids.some((b) =>
            offers.some((o) => {
              const broken = brokenRules(b, o, NOW);
              return broken.length === 1 && broken[0] === 'RELIABILITY';
            }),
          )
        )
          seen.minScoreExcluded += 1;
      }),
      options,
    );
    if (process.env.CALL_PROPERTY_VERBOSE) process.stdout.write(`${JSON.stringify(seen)}\n`);
    if (ASSERT_COVERAGE) {
      // The generated books do exercise what makes clearing hard. Each floor sits far enough below
      // what 400 random books give that it fails by chance less than once in 10,000 runs (30 runs
      // on 2026-12-06: lotFill 7-20, median 14; interruptibleFill 7-22, median 13;
      // minScoreExcluded 54-78), so it fails when the generator stops reaching a case, not once
      // in twenty CI runs (lotFill's floor was 8). Per-book counts of 2,400 books, convolved to
      // 400 (2026-12-06): idleLaterFill (mean 43, sd 7) missed 5% (20) once in 15,000 runs, most
      // of the spec's one in 10,000; at 2.5% (10) once in 600 million, and the spec as a whole
      // once in ~37,000 (interruptibleFill, mean 14 against 2, about half of it).
      expect(seen.contention).toBeGreaterThanOrEqual(NUM_RUNS * 0.2);
      expect(seen.coLocation).toBeGreaterThanOrEqual(NUM_RUNS * 0.05);
      expect(seen.allOrNothingFilled).toBeGreaterThanOrEqual(NUM_RUNS * 0.1);
      expect(seen.allOrNothingRested).toBeGreaterThanOrEqual(NUM_RUNS * 0.1);
      expect(seen.remainderSite).toBeGreaterThanOrEqual(1);
      expect(seen.idleLaterFill).toBeGreaterThanOrEqual(NUM_RUNS * 0.025);
      expect(seen.interruptibleFill).toBeGreaterThanOrEqual(NUM_RUNS * 0.005);
      expect(seen.lotFill).toBeGreaterThanOrEqual(NUM_RUNS * 0.005);
      expect(seen.minScoreFill).toBeGreaterThanOrEqual(NUM_RUNS * 0.1);
      expect(seen.minScoreExcluded).toBeGreaterThanOrEqual(NUM_RUNS * 0.075);
    }
  });

  it('fills at least the GPU-hours of continuous matching, and is deterministic whatever the input order', () => {
    fc.assert(
      fc.property(bookArbitrary(8, 6), fc.integer(), ({ bids, offers }, shuffleSeed) => {
        const run = clearCall(bids, offers, NOW);
        const greedy = matchMarket(bids, offers, NOW);
        expect(gpuHours(bids, run.fills)).toBeGreaterThanOrEqual(gpuHours(bids, greedy.fills));
        expect(allocationViolations(bids, offers, allocationOf(run.fills), NOW)).toEqual([]);
        expect(clearCall(bids, offers, NOW)).toEqual(run);
        expect(clearCall(shuffle(bids, shuffleSeed), shuffle(offers, shuffleSeed + 1), NOW)).toEqual(run);
      }),
      { ...options, numRuns: Math.ceil(NUM_RUNS / 2) },
    );
  });
});

describe('call clearing: the work budget', () => {
  it('with little work left, the solver alone still breaks no rule, clears the same way each time, and spends no more than it may', () => {
    fc.assert(
      fc.property(
        bookArbitrary(8, 6),
        fc.constantFrom(0, 20, 60, 150, 400),
        fc.integer(),
        ({ bids, offers }, maxWork, shuffleSeed) => {
          const solved = solveCall(bids, offers, NOW, { greedyFallback: false, maxWork });
          expect(allocationViolations(bids, offers, allocationOf(solved.run.fills), NOW)).toEqual([]);
          expect(solved.score).toEqual(scoreOf(bids, offers, allocationOf(solved.run.fills)));
          // The last solve may overrun by its setup charge, or a MIP by the iterations to its next
          // interrupt check: on books this small, under 100.
          expect(solved.work).toBeLessThanOrEqual(maxWork + 100);
          const again = solveCall(shuffle(bids, shuffleSeed), shuffle(offers, shuffleSeed + 1), NOW, {
            greedyFallback: false,
            maxWork,
          });
          expect(again.run).toEqual(solved.run);
          expect(again.work).toBe(solved.work);
        },
      ),
      { ...options, numRuns: Math.ceil(NUM_RUNS / 2) },
    );
  });
});

function gpuHours(bids: readonly BookBid[], fills: readonly { bidId: string; gpus: number }[]): number {
  return fills.reduce((sum, f) => sum + f.gpus * bids.find((b) => b.id === f.bidId)!.durationHours, 0);
}

function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i -= 1) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function countCoverage(
  seen: Record<
    'contention' | 'coLocation' | 'allOrNothingFilled' | 'allOrNothingRested' | 'remainderSite',
    number
  >,
  bids: readonly BookBid[],
  offers: readonly BookOffer[],
  allocation: ReadonlyMap<string, ReadonlyMap<string, number>>,
): void {
  const wanting = new Map<string, number>();
  for (const gpus of allocation.values())
    for (const offerId of gpus.keys()) wanting.set(offerId, (wanting.get(offerId) ?? 0) + 1);
  // Several bids competing for one offer: two or more bids could use it and it cannot serve them all.
  const eligibleBids = (o: BookOffer): BookBid[] =>
    bids.filter(
      (b) =>
        b.verified &&
        o.verified &&
        b.organisationId !== o.organisationId &&
        b.expiresAt > NOW &&
        o.price <= b.price &&
        (b.provinces.length === 0 || b.provinces.includes(o.province)) &&
        o.availableFrom <= NOW &&
        NOW + b.durationHours * HOUR <= o.availableUntil &&
        b.durationHours >= o.minLeaseHours &&
        o.free > 0,
    );
  if (
    offers.some((o) => {
      const e = eligibleBids(o);
      return e.length >= 2 && e.reduce((s, b) => s + b.remaining, 0) > o.free;
    })
  ) {
    seen.contention += 1;
  }
  let coLocation = false;
  let remainder = false;
  for (const bid of bids) {
    const gpus = allocation.get(bid.id);
    if (!bid.partialAllowed) {
      const eligibleSupply = offers
        .filter((o) => eligibleBids(o).includes(bid))
        .reduce((s, o) => s + o.free, 0);
      if (gpus !== undefined) seen.allOrNothingFilled += 1;
      else if (eligibleSupply > 0) seen.allOrNothingRested += 1;
    }
    if (gpus === undefined || Math.min(bid.minGpusPerSite, bid.remaining) < 2) continue;
    coLocation = true;
    const perSite = new Map<string, number>();
    for (const [offerId, n] of gpus) {
      const siteId = offers.find((o) => o.id === offerId)!.siteId;
      perSite.set(siteId, (perSite.get(siteId) ?? 0) + n);
    }
    if ([...perSite.values()].some((n) => n < bid.minGpusPerSite)) remainder = true;
  }
  if (coLocation) seen.coLocation += 1;
  if (remainder) seen.remainderSite += 1;
}
