import { gpuHourCapOf, pricePerMillionTokensOf, throughputShare, tokensPerHour } from './inference-pricing';

describe('inference pricing (docs/INFERENCE.md "Inference bids")', () => {
  // 2,000 output + 2,000 prompt tokens/s.
  const hourly = tokensPerHour(2000, 2000);

  it('counts prompt and output tokens alike, by the hour', () => {
    expect(hourly).toBe(14_400_000n);
    expect(tokensPerHour(1, 0)).toBe(3_600n);
  });

  it('converts a per-million-token cap into a GPU-hour cap, rounded down', () => {
    // 14.00 x 14.4 M tokens / 6 GPUs = 33.60 per GPU-hour exactly.
    expect(gpuHourCapOf(1400n, hourly, 6)).toBe(3360n);
    // 7.00 x 14.4 / 7 = 14.40; 7.00 x 14.4 / 9 = 11.20; 1.00 x 14.4 / 7 = 2.0571 -> 2.05.
    expect(gpuHourCapOf(700n, hourly, 7)).toBe(1440n);
    expect(gpuHourCapOf(100n, hourly, 7)).toBe(205n);
    // Below a minor unit per GPU-hour: zero, which placement refuses.
    expect(gpuHourCapOf(1n, tokensPerHour(1, 0), 10)).toBe(0n);
  });

  it('turns a trade price into a price per million tokens, rounded down, never above the cap', () => {
    expect(pricePerMillionTokensOf(3000n, hourly, 6)).toBe(1250n);
    expect(pricePerMillionTokensOf(3200n, hourly, 6)).toBe(1333n);
    for (const cap of [1n, 99n, 1400n, 123_457n]) {
      for (const gpus of [1, 3, 7, 64]) {
        const gpuHour = gpuHourCapOf(cap, hourly, gpus);
        expect(pricePerMillionTokensOf(gpuHour, hourly, gpus)).toBeLessThanOrEqual(cap);
      }
    }
  });

  it('charges at full sized throughput at most what the GPU-hours cost', () => {
    // A lease of 4 of 6 GPUs at 32.00: 1,333 output + 1,333 prompt tokens/s at 13.33 per million.
    const perMillion = pricePerMillionTokensOf(3200n, hourly, 6);
    const share = throughputShare(2000, 4, 6) * 2;
    expect((BigInt(share) * 3600n * perMillion) / 1_000_000n).toBeLessThanOrEqual(3200n * 4n);
  });

  it('splits throughput across leases by GPUs, rounded down', () => {
    expect(throughputShare(2000, 2, 6)).toBe(666);
    expect(throughputShare(2000, 4, 6)).toBe(1333);
    expect(throughputShare(2000, 6, 6)).toBe(2000);
    expect(throughputShare(0, 3, 6)).toBe(0);
  });

  it('refuses what cannot be priced', () => {
    expect(() => gpuHourCapOf(100n, 0n, 1)).toThrow(RangeError);
    expect(() => gpuHourCapOf(100n, hourly, 0)).toThrow(RangeError);
    expect(() => tokensPerHour(1.5, 0)).toThrow(RangeError);
    expect(() => tokensPerHour(-1, 0)).toThrow(RangeError);
  });
});
