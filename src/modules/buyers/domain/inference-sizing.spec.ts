import { BEIJING, GUANGDONG, GUIZHOU, NOW, offer } from '../../../../test/matching/book-fixtures';
import type { BookOffer, OfferServing } from '@/modules/matching/domain/book';
import {
  promptFromRatio,
  sizeInferenceBid,
  type InferenceAsk,
  type InferenceFrame,
} from './inference-sizing';

/** The window times of a supply line whose offers have no idle windows: always available. */
const ALWAYS = { nextOpensAt: null, closesAt: null };

// docs/INFERENCE.md example 1's reference: Llama 3.3 70B on H100, replicas of 4 GPUs.
const EXAMPLE_1: OfferServing = {
  promptTokensPerSecondPerGpu: 2804.6,
  outputTokensPerSecondPerGpu: 419.8,
  ttftP50Ms: 111,
  ttftP95Ms: 202,
  gpusPerReplica: 4,
};
// A single-GPU model: 3,000 prompt / 1,000 output tokens/s per GPU.
const FAST: OfferServing = {
  ...EXAMPLE_1,
  promptTokensPerSecondPerGpu: 3000,
  outputTokensPerSecondPerGpu: 1000,
  gpusPerReplica: 1,
};
const SLOW: OfferServing = { ...FAST, promptTokensPerSecondPerGpu: 1500, outputTokensPerSecondPerGpu: 500 };

const LIMITS = { maxGpus: 10_000, maxPricePerGpuHour: 100_000_000n };
const FRAME: InferenceFrame = {
  organisationId: 'buyer',
  durationHours: 24,
  provinces: [],
  minGpusPerSite: 1,
  partialAllowed: false,
};

const serving = (
  id: string,
  siteId: string,
  price: bigint,
  free: number,
  profile: OfferServing | null,
  fields: Partial<BookOffer> = {},
): BookOffer =>
  offer({
    id,
    siteId,
    price,
    free,
    seq: BigInt(id.charCodeAt(0)),
    ...(profile ? { serving: { m: profile } } : {}),
    ...fields,
  });

describe('sizeInferenceBid (docs/INFERENCE.md "Sizing an inference bid")', () => {
  // Example 1 of "Sizing": 2,000 output tokens/s at 4:1, 10 M tokens/s an hour... 36 M tokens an hour.
  const LLAMA: InferenceAsk = {
    modelId: 'm',
    outputTokensPerSecond: 2000,
    promptTokensPerSecond: 8000,
    ttftP95Ms: 300,
    takeOrPayPercent: 50,
    maxPricePerMillionTokens: 500n,
  };

  it('rounds to whole replicas and raises the site minimum to one replica', () => {
    // 8,000 / 2,804.6 + 2,000 / 419.8 = 7.617 -> 8 GPUs, 2 replicas of 4.
    const sized = sizeInferenceBid(LLAMA, FRAME, [serving('A', 'S1', 1000n, 16, EXAMPLE_1)], NOW, LIMITS);
    expect(sized).toMatchObject({ kind: 'sized', gpus: 8, gpusPerReplica: 4, minGpusPerSite: 4 });
    if (sized.kind !== 'sized') return;
    // 5.00 per million x 36 M tokens an hour / 8 GPUs = 22.50 per GPU-hour.
    expect(sized.maxPricePerGpuHour).toBe(2250n);
    expect(sized.quote.fillableGpus).toBe(8);
    // 10.00 x 8 x 1 M / 36 M = 2.22 per million.
    expect(sized.expectedPricePerMillionTokens).toBe(222n);
    expect(sized.demand).toEqual({ ...LLAMA, sizedGpus: 8, gpusPerReplica: 4 });
  });

  it('rounds a size up to whole replicas of the largest replica it admits (its lot)', () => {
    // 2,000 + 8,000 tokens/s: FAST needs 2,000/1,000 + 8,000/3,000 = 4.67 -> 5 GPUs in replicas of
    // 1; QUICK (replicas of 4) needs 2.5 -> 4. Size 4 admits QUICK alone, whose 2 free GPUs hold
    // no replica; size 5 admits both, so its lot is 4 and it becomes 8, which A fills whole.
    const quick = { ...EXAMPLE_1, promptTokensPerSecondPerGpu: 4000, outputTokensPerSecondPerGpu: 4000 };
    const offers = [serving('A', 'S1', 1000n, 8, FAST), serving('D', 'S2', 1000n, 2, quick)];
    const sized = sizeInferenceBid(LLAMA, FRAME, offers, NOW, LIMITS);
    expect(sized).toMatchObject({ kind: 'sized', gpus: 8, gpusPerReplica: 4, minGpusPerSite: 4 });
    if (sized.kind !== 'sized') return;
    expect(sized.quote.fillableGpus).toBe(8);
    expect(sized.demand).toMatchObject({ sizedGpus: 8, gpusPerReplica: 4 });
  });

  it('splits across sites in whole replicas where one site is short', () => {
    const offers = [
      serving('A', 'S1', 1000n, 4, EXAMPLE_1, { province: GUIZHOU }),
      serving('B', 'S2', 1100n, 8, EXAMPLE_1, { province: GUANGDONG }),
      // Three GPUs are less than a replica: the site cannot open.
      serving('C', 'S3', 900n, 3, EXAMPLE_1),
    ];
    const sized = sizeInferenceBid(LLAMA, { ...FRAME, partialAllowed: true }, offers, NOW, LIMITS);
    expect(sized.kind).toBe('sized');
    if (sized.kind !== 'sized') return;
    expect(sized.quote.sites).toEqual([
      { siteId: 'S1', province: GUIZHOU, gpus: 4, window: ALWAYS },
      { siteId: 'S2', province: GUANGDONG, gpus: 4, window: ALWAYS },
    ]);
    expect(sized.quote.excluded).toEqual([{ constraint: 'CO_LOCATION', gpus: 3, offers: 1 }]);
    // A buyer's own larger minimum stands: 8 GPUs at one site.
    const together = sizeInferenceBid(LLAMA, { ...FRAME, minGpusPerSite: 8 }, offers, NOW, LIMITS);
    expect(together).toMatchObject({ kind: 'sized', minGpusPerSite: 8 });
    if (together.kind === 'sized')
      expect(together.quote.sites).toEqual([{ siteId: 'S2', province: GUANGDONG, gpus: 8, window: ALWAYS }]);
  });

  describe('choosing the size', () => {
    // 2,000 + 2,000 tokens/s (14.4 M an hour): FAST sizes it into 2.67 -> 3 GPUs, SLOW into 5.33 -> 6.
    const ASK: InferenceAsk = { ...LLAMA, promptTokensPerSecond: 2000, maxPricePerMillionTokens: 1400n };

    it('takes the smallest size that fills whole now', () => {
      const offers = [serving('A', 'S1', 3000n, 3, FAST), serving('B', 'S2', 3200n, 4, SLOW)];
      const sized = sizeInferenceBid(ASK, FRAME, offers, NOW, LIMITS);
      // 14.00 x 14.4 M / 3 GPUs = 67.20 per GPU-hour.
      expect(sized).toMatchObject({ kind: 'sized', gpus: 3, maxPricePerGpuHour: 6720n });
      if (sized.kind === 'sized')
        expect(sized.quote.excluded).toEqual([{ constraint: 'THROUGHPUT', gpus: 4, offers: 1 }]);
    });

    it('grows to a size slower offers are eligible for when the fast ones are short', () => {
      const offers = [serving('A', 'S1', 3000n, 2, FAST), serving('B', 'S2', 3200n, 4, SLOW)];
      const sized = sizeInferenceBid(ASK, FRAME, offers, NOW, LIMITS);
      expect(sized).toMatchObject({ kind: 'sized', gpus: 6, maxPricePerGpuHour: 3360n });
      if (sized.kind === 'sized') expect(sized.quote.fillableGpus).toBe(6);
    });

    it('rests on price at the smallest size the supply fills whole', () => {
      const offers = [serving('A', 'S1', 3000n, 2, FAST), serving('B', 'S2', 3200n, 4, SLOW)];
      // 7.00 per million is 16.80 per GPU-hour on 6 GPUs.
      const sized = sizeInferenceBid({ ...ASK, maxPricePerMillionTokens: 700n }, FRAME, offers, NOW, LIMITS);
      expect(sized).toMatchObject({ kind: 'sized', gpus: 6, maxPricePerGpuHour: 1680n });
      if (sized.kind !== 'sized') return;
      expect(sized.quote.fillableGpus).toBe(0);
      expect(sized.quote.excluded).toEqual([{ constraint: 'PRICE', gpus: 6, offers: 2 }]);
      expect(sized.supply.fillableGpus).toBe(6);
      // At the supply's ask, floor((2 x 30.00 + 4 x 32.00) / 6) = 31.33: 13.05 per million.
      expect(sized.expectedPricePerMillionTokens).toBe(1305n);
    });

    it('takes the most supplied size for a partial bid, and is unreachable for an all-or-nothing one', () => {
      const offers = [serving('A', 'S1', 3000n, 2, FAST), serving('B', 'S2', 3200n, 3, SLOW)];
      expect(sizeInferenceBid(ASK, { ...FRAME, partialAllowed: true }, offers, NOW, LIMITS)).toMatchObject({
        kind: 'sized',
        gpus: 6,
        supply: { fillableGpus: 5 },
      });
      expect(sizeInferenceBid(ASK, FRAME, offers, NOW, LIMITS)).toEqual({
        kind: 'unreachable',
        largestSize: 6,
      });
    });

    it('is unreachable past the GPUs a bid may hold', () => {
      const offers = [serving('A', 'S1', 3000n, 2, FAST)];
      expect(sizeInferenceBid(ASK, FRAME, offers, NOW, { ...LIMITS, maxGpus: 2 })).toEqual({
        kind: 'unreachable',
        largestSize: null,
      });
    });
  });

  it('is not served when no visible offer serves the model within the SLO and provinces', () => {
    const ask = { ...LLAMA, ttftP95Ms: 201 };
    expect(sizeInferenceBid(ask, FRAME, [serving('A', 'S1', 1000n, 16, EXAMPLE_1)], NOW, LIMITS)).toEqual({
      kind: 'not-served',
    });
    const served = serving('A', 'S1', 1000n, 16, EXAMPLE_1, { province: GUIZHOU });
    expect(sizeInferenceBid(LLAMA, { ...FRAME, provinces: [BEIJING] }, [served], NOW, LIMITS).kind).toBe(
      'not-served',
    );
    expect(sizeInferenceBid(LLAMA, FRAME, [serving('A', 'S1', 1000n, 16, null)], NOW, LIMITS).kind).toBe(
      'not-served',
    );
    expect(sizeInferenceBid(LLAMA, FRAME, [{ ...served, verified: false }], NOW, LIMITS).kind).toBe(
      'not-served',
    );
    expect(sizeInferenceBid(LLAMA, FRAME, [{ ...served, organisationId: 'buyer' }], NOW, LIMITS).kind).toBe(
      'not-served',
    );
  });
});

describe('promptFromRatio', () => {
  it('multiplies by a 2-decimal ratio and rounds up', () => {
    expect(promptFromRatio(2000, 4)).toBe(8000);
    expect(promptFromRatio(3, 0.33)).toBe(1);
    expect(promptFromRatio(101, 1.01)).toBe(103);
    expect(promptFromRatio(100, 0.07)).toBe(7);
    expect(promptFromRatio(5, 0)).toBe(0);
  });
});
