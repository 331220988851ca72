import fc from 'fast-check';
import {
  CONFIRMING_PERIODS,
  deliveredScale,
  recordDelivery,
  trustedThroughput,
  type DeliveryRecord,
} from './delivery-confirmation';

// docs/INFERENCE.md "Delivery confirms a declaration": example 1's reference, per GPU.
const reference = { promptTokensPerSecondPerGpu: 2804.6, outputTokensPerSecondPerGpu: 419.8 };
const none: DeliveryRecord = { deliveredScales: [], confirmedScale: 1 };

describe('deliveredScale', () => {
  it('delivery example 4: an hour on 2 GPUs that served 20,193,120 prompt and 3,022,560 output tokens delivered 2 x the reference', () => {
    // 20,193,120 / 2,804.6 = 7,200 and 3,022,560 / 419.8 = 7,200 reference GPU-seconds: 14,400 of
    // work in 2 x 3,600 = 7,200 GPU-seconds.
    const scale = deliveredScale(
      { promptTokens: 20_193_120n, outputTokens: 3_022_560n },
      reference,
      2 * 3600,
    );
    expect(scale).toBeCloseTo(2, 9);
  });

  it('is null without GPU time or without a reference throughput, 0 without tokens', () => {
    const counts = { promptTokens: 1n, outputTokens: 1n };
    expect(deliveredScale(counts, reference, 0)).toBeNull();
    expect(deliveredScale(counts, { ...reference, outputTokensPerSecondPerGpu: 0 }, 3600)).toBeNull();
    expect(deliveredScale({ promptTokens: 0n, outputTokens: 0n }, reference, 3600)).toBe(0);
  });
});

describe('recordDelivery', () => {
  it(`confirms nothing before ${CONFIRMING_PERIODS} periods, then the lowest of the best ${CONFIRMING_PERIODS}`, () => {
    const one = recordDelivery(none, 1.5);
    const two = recordDelivery(one, 1.3);
    expect(two).toEqual({ deliveredScales: [1.5, 1.3], confirmedScale: 1 });
    const three = recordDelivery(two, 1.2);
    expect(three).toEqual({ deliveredScales: [1.5, 1.3, 1.2], confirmedScale: 1.2 });
    // A quiet period does not lower it; a better one raises it.
    expect(recordDelivery(three, 0.1)).toEqual(three);
    expect(recordDelivery(three, 1.4)).toEqual({ deliveredScales: [1.5, 1.4, 1.3], confirmedScale: 1.3 });
  });

  it('never confirms below 1, and refuses a multiple that is not a finite non-negative number', () => {
    const quiet = [0.2, 0.5, 0.9].reduce(recordDelivery, none);
    expect(quiet.confirmedScale).toBe(1);
    expect(() => recordDelivery(none, Number.NaN)).toThrow(RangeError);
    expect(() => recordDelivery(none, -1)).toThrow(RangeError);
  });

  it('property: the confirmed multiple is at least 1, never decreases, and is shown by three periods', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 10, noNaN: true }), { maxLength: 20 }), (scales) => {
        let record = none;
        for (const scale of scales) {
          const next = recordDelivery(record, scale);
          expect(next.confirmedScale).toBeGreaterThanOrEqual(record.confirmedScale);
          record = next;
        }
        expect(record.confirmedScale).toBeGreaterThanOrEqual(1);
        const shown = scales.filter((scale) => scale >= record.confirmedScale).length;
        if (record.confirmedScale > 1) expect(shown).toBeGreaterThanOrEqual(CONFIRMING_PERIODS);
      }),
    );
  });
});

describe('trustedThroughput', () => {
  it('is the declaration capped by the reference times the confirmed multiple', () => {
    expect(trustedThroughput(3500, 2804.6, 1)).toBe(2804.6);
    expect(trustedThroughput(380, 419.8, 1)).toBe(380);
    expect(trustedThroughput(3500, 2804.6, 2)).toBe(3500);
  });
});
