import { bid, BEIJING, GUIZHOU, HOUR, NOW, offer } from '../../../../test/matching/book-fixtures';
import {
  bidCanTrade,
  compareBids,
  compareOffers,
  INELIGIBLE_REASONS,
  leaseStartOf,
  pairIneligibility,
  servingIneligibility,
  sortBids,
  sortOffers,
  termsCompatible,
  tradePrice,
} from './eligibility';
import { prng } from '../../../../test/support/prng';
import { IdleSchedule } from '@/modules/markets/domain/idle-schedule';

const O = offer({ id: 'O', siteId: 'S1', price: 1800n, free: 8, seq: 1n, province: GUIZHOU });
// docs/INFERENCE.md example 1's reference: 2,804.6 prompt / 419.8 output tokens/s per GPU, replicas of 4.
const SERVES = {
  promptTokensPerSecondPerGpu: 2804.6,
  outputTokensPerSecondPerGpu: 419.8,
  ttftP50Ms: 111,
  ttftP95Ms: 202,
  gpusPerReplica: 4,
};
const B = bid({ id: 'B', price: 2000n, remaining: 4, seq: 2n });

describe('rule 8 on idle windows (docs/MATCHING.md)', () => {
  // NOW is Tuesday 00:00Z; the window is 20:00-08:00 UTC every night, so it is open now until 08:00.
  const nights = new IdleSchedule({
    timeZone: 'UTC',
    reclaimNoticeMinutes: 60,
    windows: [{ days: ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'], start: '20:00', end: '08:00' }],
  });
  const idle = { ...O, idle: nights };

  it('starts at once a lease that fits the open window, tonight one that fits only a whole window', () => {
    expect(leaseStartOf({ ...B, durationHours: 8 }, idle, NOW)).toBe(NOW);
    expect(leaseStartOf({ ...B, durationHours: 12 }, idle, NOW)).toBe(NOW + 20 * HOUR);
    expect(pairIneligibility({ ...B, durationHours: 12 }, idle, NOW)).toBeNull();
    expect(termsCompatible({ ...B, durationHours: 12 }, idle, NOW)).toBe(true);
  });

  it('rules out a lease longer than any window unless the bid is interruptible', () => {
    const long = { ...B, durationHours: 13 };
    expect(pairIneligibility(long, idle, NOW)).toBe('WINDOW');
    expect(termsCompatible(long, idle, NOW)).toBe(false);
    expect(pairIneligibility({ ...long, interruptible: true }, idle, NOW)).toBeNull();
    expect(leaseStartOf({ ...long, interruptible: true }, idle, NOW)).toBe(NOW);
  });

  it('never starts at or after the bid’s expiry, nor past the availability window', () => {
    const twelve = { ...B, durationHours: 12 };
    expect(pairIneligibility({ ...twelve, expiresAt: NOW + 20 * HOUR }, idle, NOW)).toBe('WINDOW');
    expect(pairIneligibility({ ...twelve, expiresAt: NOW + 20 * HOUR + 1 }, idle, NOW)).toBeNull();
    expect(pairIneligibility(twelve, { ...idle, availableUntil: NOW + 32 * HOUR - 1 }, NOW)).toBe('WINDOW');
    expect(pairIneligibility(twelve, { ...idle, availableUntil: NOW + 32 * HOUR }, NOW)).toBeNull();
  });
});

describe('pairIneligibility', () => {
  it('is null for a pair every rule allows', () => {
    expect(pairIneligibility(B, O, NOW)).toBeNull();
  });

  it('names each broken rule', () => {
    expect(pairIneligibility({ ...B, verified: false }, O, NOW)).toBe('UNVERIFIED');
    expect(pairIneligibility(B, { ...O, verified: false }, NOW)).toBe('UNVERIFIED');
    expect(pairIneligibility(B, { ...O, organisationId: B.organisationId }, NOW)).toBe('SAME_ORGANISATION');
    expect(pairIneligibility({ ...B, expiresAt: NOW }, O, NOW)).toBe('EXPIRED');
    expect(pairIneligibility({ ...B, expiresAt: NOW - 1 }, O, NOW)).toBe('EXPIRED');
    expect(pairIneligibility(B, { ...O, price: 2001n }, NOW)).toBe('PRICE');
    expect(pairIneligibility({ ...B, provinces: [BEIJING] }, O, NOW)).toBe('PROVINCE');
    expect(pairIneligibility(B, { ...O, availableFrom: NOW + 1 }, NOW)).toBe('WINDOW');
    expect(pairIneligibility(B, { ...O, availableUntil: NOW + 24 * HOUR - 1 }, NOW)).toBe('WINDOW');
    expect(pairIneligibility(B, { ...O, minLeaseHours: 25 }, NOW)).toBe('MIN_LEASE');
    expect(pairIneligibility(B, { ...O, free: 0 }, NOW)).toBe('NO_CAPACITY');
    expect(pairIneligibility({ ...B, remaining: 0 }, O, NOW)).toBe('NO_CAPACITY');
  });

  it('accepts every boundary the rules draw inclusively', () => {
    expect(pairIneligibility({ ...B, expiresAt: NOW + 1 }, O, NOW)).toBeNull();
    expect(pairIneligibility(B, { ...O, price: B.price }, NOW)).toBeNull();
    expect(pairIneligibility({ ...B, provinces: [BEIJING, GUIZHOU] }, O, NOW)).toBeNull();
    expect(
      pairIneligibility(B, { ...O, availableFrom: NOW, availableUntil: NOW + 24 * HOUR }, NOW),
    ).toBeNull();
    expect(pairIneligibility(B, { ...O, minLeaseHours: 24 }, NOW)).toBeNull();
    expect(pairIneligibility(B, { ...O, free: 1 }, NOW)).toBeNull();
  });

  it('reports the first broken rule in the documented order', () => {
    // Break every rule, then repair them one by one from the top: each repair reveals the next.
    const brokenBid = {
      ...B,
      verified: false,
      organisationId: O.organisationId,
      expiresAt: NOW,
      price: 1000n,
      provinces: [BEIJING],
      remaining: 0,
      // Wants a provider of 90 or more; the offer's scores 85.
      minProviderScore: 90 as number | undefined,
      // An inference bid for a model the offer does not serve, within 1 ms, on 1 GPU.
      inference: {
        modelId: 'other',
        outputTokensPerSecond: 2000,
        promptTokensPerSecond: 8000,
        ttftP95Ms: 1,
        sizedGpus: 1,
        // Commits to 10% of its throughput; the offer's pay-per-use floor is 30%.
        takeOrPayPercent: 10,
      },
    };
    const brokenOffer = {
      ...O,
      availableFrom: NOW + HOUR,
      minLeaseHours: 48,
      free: 0,
      serving: { llama: SERVES },
      providerScore: 85,
      payPerUseMinPercent: 30,
    };
    const repairs = [
      (b: typeof brokenBid) => ({ ...b, verified: true }),
      (b: typeof brokenBid) => ({ ...b, organisationId: B.organisationId }),
      (b: typeof brokenBid) => ({ ...b, expiresAt: B.expiresAt }),
      (b: typeof brokenBid) => ({ ...b, inference: { ...b.inference, modelId: 'llama' } }),
      (b: typeof brokenBid) => ({ ...b, inference: { ...b.inference, ttftP95Ms: 300 } }),
      // 8,000 / 2,804.6 + 2,000 / 419.8 = 7.62 GPU-seconds a second: 8 GPUs, 2 replicas.
      (b: typeof brokenBid) => ({ ...b, inference: { ...b.inference, sizedGpus: 8 } }),
      (b: typeof brokenBid) => ({ ...b, inference: { ...b.inference, takeOrPayPercent: 30 } }),
      (b: typeof brokenBid) => ({ ...b, price: B.price }),
      (b: typeof brokenBid) => ({ ...b, provinces: [] }),
      (b: typeof brokenBid) => ({ ...b, minProviderScore: 85 }),
    ];
    const seen: (string | null)[] = [];
    let current = brokenBid;
    let currentOffer = brokenOffer;
    seen.push(pairIneligibility(current, currentOffer, NOW));
    for (const repair of repairs) {
      current = repair(current);
      seen.push(pairIneligibility(current, currentOffer, NOW));
    }
    currentOffer = { ...currentOffer, availableFrom: O.availableFrom };
    seen.push(pairIneligibility(current, currentOffer, NOW));
    currentOffer = { ...currentOffer, minLeaseHours: 1 };
    seen.push(pairIneligibility(current, currentOffer, NOW));
    current = { ...current, remaining: 4 };
    currentOffer = { ...currentOffer, free: 8 };
    seen.push(pairIneligibility(current, currentOffer, NOW));
    expect(seen).toEqual([...INELIGIBLE_REASONS, null]);
  });
});

describe('the split rules the matching walk uses', () => {
  it('allow exactly the pairs pairIneligibility allows', () => {
    const bids = [
      B,
      { ...B, verified: false },
      { ...B, expiresAt: NOW },
      { ...B, remaining: 0 },
      { ...B, provinces: [BEIJING] },
      { ...B, durationHours: 72 },
      { ...B, price: 1700n },
    ];
    const offers = [
      O,
      { ...O, verified: false },
      { ...O, organisationId: B.organisationId },
      { ...O, free: 0 },
      { ...O, availableFrom: NOW + 1 },
      { ...O, availableUntil: NOW + 48 * HOUR },
      { ...O, minLeaseHours: 48 },
      { ...O, province: BEIJING },
    ];
    for (const b of bids) {
      for (const o of offers) {
        const split =
          bidCanTrade(b, NOW) &&
          o.verified &&
          o.free > 0 &&
          o.availableFrom <= NOW &&
          o.price <= b.price &&
          termsCompatible(b, o, NOW);
        expect(split).toBe(pairIneligibility(b, o, NOW) === null);
      }
    }
  });
});

describe('priority', () => {
  const ranked = (price: bigint, seq: bigint) => ({ price, seq });

  it('serves bids by higher price, then lower seq', () => {
    const bids = [ranked(1900n, 1n), ranked(2000n, 5n), ranked(2000n, 2n), ranked(1800n, 0n)];
    expect([...bids].sort(compareBids)).toEqual([
      ranked(2000n, 2n),
      ranked(2000n, 5n),
      ranked(1900n, 1n),
      ranked(1800n, 0n),
    ]);
    expect(compareBids(ranked(2000n, 2n), ranked(2000n, 2n))).toBe(0);
  });

  it('takes offers by lower price, then lower seq', () => {
    const offers = [ranked(1900n, 1n), ranked(1800n, 5n), ranked(1800n, 2n), ranked(2000n, 0n)];
    expect([...offers].sort(compareOffers)).toEqual([
      ranked(1800n, 2n),
      ranked(1800n, 5n),
      ranked(1900n, 1n),
      ranked(2000n, 0n),
    ]);
    expect(compareOffers(ranked(1800n, 2n), ranked(1800n, 2n))).toBe(0);
  });
});

describe('sortBids and sortOffers', () => {
  function randomRanked(random: () => number, offset: bigint) {
    // Few distinct prices and some equal seqs (invalid, but the sorts must still agree).
    return Array.from({ length: 500 }, (_, id) => ({
      id,
      price: offset + BigInt(Math.floor(random() * 20)),
      seq: offset + BigInt(Math.floor(random() * 400)),
    }));
  }

  it.each([
    ['doubles', 0n],
    ['bigints beyond 2^53', 2n ** 60n],
  ])('sort exactly as the comparators do, with %s', (_, offset) => {
    const random = prng(11);
    for (let round = 0; round < 20; round += 1) {
      const items = randomRanked(random, offset);
      const before = [...items];
      expect(sortBids(items)).toEqual([...items].sort(compareBids));
      expect(sortOffers(items)).toEqual([...items].sort(compareOffers));
      expect(items).toEqual(before);
    }
  });

  it('handles empty and single books', () => {
    expect(sortOffers([])).toEqual([]);
    expect(sortBids([{ price: 1n, seq: 1n }])).toEqual([{ price: 1n, seq: 1n }]);
  });
});

describe('tradePrice', () => {
  it('is the price of the order with the lower seq', () => {
    expect(tradePrice({ price: 2000n, seq: 1n }, { price: 1800n, seq: 2n })).toBe(2000n);
    expect(tradePrice({ price: 2000n, seq: 3n }, { price: 1800n, seq: 2n })).toBe(1800n);
  });

  it('compares seqs as integers beyond 2^53', () => {
    const big = 2n ** 60n;
    expect(tradePrice({ price: 2000n, seq: big }, { price: 1800n, seq: big + 1n })).toBe(2000n);
    expect(tradePrice({ price: 2000n, seq: big + 1n }, { price: 1800n, seq: big })).toBe(1800n);
  });
});

describe('inference bids (rule 4, docs/MATCHING.md)', () => {
  const served = { ...O, serving: { llama: SERVES } };
  // 2,000 output at 4:1 needs 7.62 GPU-seconds per second on SERVES: 8 GPUs; the bid is sized into 12.
  const demand = {
    modelId: 'llama',
    outputTokensPerSecond: 2000,
    promptTokensPerSecond: 8000,
    ttftP95Ms: 300,
    sizedGpus: 12,
    takeOrPayPercent: 50,
  };
  const I = { ...B, inference: demand };

  it('admits an offer that serves the model within the SLO on the GPUs sized', () => {
    expect(pairIneligibility(I, served, NOW)).toBeNull();
    expect(termsCompatible(I, served, NOW)).toBe(true);
    expect(servingIneligibility(demand, served)).toBeNull();
  });

  it('names MODEL, TTFT_SLO and THROUGHPUT, before the price', () => {
    expect(pairIneligibility(I, { ...O, price: 9999n }, NOW)).toBe('MODEL');
    expect(pairIneligibility(I, { ...served, serving: { other: SERVES } }, NOW)).toBe('MODEL');
    expect(pairIneligibility({ ...I, inference: { ...demand, ttftP95Ms: 201 } }, served, NOW)).toBe(
      'TTFT_SLO',
    );
    expect(pairIneligibility({ ...I, inference: { ...demand, ttftP95Ms: 202 } }, served, NOW)).toBeNull();
    // At 200 output tokens/s per GPU: 2.85 + 10 = 12.85 -> 13 -> 16 GPUs, more than the 12 held for.
    const slower = { ...O, serving: { llama: { ...SERVES, outputTokensPerSecondPerGpu: 200 } } };
    expect(pairIneligibility(I, slower, NOW)).toBe('THROUGHPUT');
    expect(termsCompatible(I, slower, NOW)).toBe(false);
    expect(pairIneligibility({ ...I, inference: { ...demand, sizedGpus: 16 } }, slower, NOW)).toBeNull();
  });

  it("names TAKE_OR_PAY when the offer's pay-per-use floor is above the take-or-pay share, before the price", () => {
    // The cap on a per-token payout (the buyer's charge) would undercut a floor above the share.
    const floored = { ...served, payPerUseMinPercent: 51 };
    expect(pairIneligibility(I, floored, NOW)).toBe('TAKE_OR_PAY');
    expect(pairIneligibility(I, { ...floored, price: 9999n }, NOW)).toBe('TAKE_OR_PAY');
    expect(termsCompatible(I, floored, NOW)).toBe(false);
    expect(servingIneligibility(demand, floored)).toBe('TAKE_OR_PAY');
    // Equal is enough: the minimum charge then covers the floor at the ask (up to rounding).
    expect(pairIneligibility(I, { ...served, payPerUseMinPercent: 50 }, NOW)).toBeNull();
    // A share of 0 takes only offers without a floor.
    expect(
      pairIneligibility(
        { ...I, inference: { ...demand, takeOrPayPercent: 0 } },
        { ...served, payPerUseMinPercent: 1 },
        NOW,
      ),
    ).toBe('TAKE_OR_PAY');
    expect(
      pairIneligibility(
        { ...I, inference: { ...demand, takeOrPayPercent: 0 } },
        { ...served, payPerUseMinPercent: 0 },
        NOW,
      ),
    ).toBeNull();
    // The serving rules come first: an offer that does not serve the model is MODEL whatever its floor.
    expect(pairIneligibility(I, { ...O, payPerUseMinPercent: 100 }, NOW)).toBe('MODEL');
  });

  it('leaves GPU bids alone: an offer serving nothing is eligible for them, whatever its floor', () => {
    expect(pairIneligibility(B, O, NOW)).toBeNull();
    expect(pairIneligibility(B, served, NOW)).toBeNull();
    expect(pairIneligibility(B, { ...served, payPerUseMinPercent: 100 }, NOW)).toBeNull();
  });

  it("takes an offer read without a score as a new provider's, 80", () => {
    const { providerScore: _, ...unscored } = { ...O, providerScore: 0 };
    expect(pairIneligibility({ ...B, minProviderScore: 80 }, unscored, NOW)).toBeNull();
    expect(pairIneligibility({ ...B, minProviderScore: 80.1 }, unscored, NOW)).toBe('RELIABILITY');
    expect(pairIneligibility({ ...B, minProviderScore: 0 }, { ...O, providerScore: 0.1 }, NOW)).toBeNull();
  });
});
