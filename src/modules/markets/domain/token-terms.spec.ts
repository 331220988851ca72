import {
  MARKET_PROMPT_TO_OUTPUT_RATIO,
  outputRatePerGpu,
  pricePerMillionTokensAtAsk,
  tokenCapacity,
  tokensPerGpuHour,
} from './token-terms';

// docs/INFERENCE.md "Market data in inference terms": the worked examples.
const rates = (prompt: number, output: number) => ({
  promptTokensPerSecondPerGpu: prompt,
  outputTokensPerSecondPerGpu: output,
});

describe('token terms of GPU supply', () => {
  it('states figures at the reference workload mix, 1,024 : 256 prompt to output tokens', () => {
    expect(MARKET_PROMPT_TO_OUTPUT_RATIO).toBe(4);
  });

  it('shares a GPU-second between prefill and decode: 2,400 / 400 per GPU at 4:1 is 240 output tokens/s', () => {
    // 4 / 2,400 + 1 / 400 = 1 / 240 GPU-seconds per output token with its prompt.
    expect(outputRatePerGpu(rates(2400, 400))).toBeCloseTo(240, 9);
    expect(tokensPerGpuHour(rates(2400, 400))).toBe(4_320_000n);
    // Without prompt tokens, the output rate alone.
    expect(outputRatePerGpu(rates(2400, 400), 0)).toBe(400);
    expect(tokensPerGpuHour(rates(0, 400), 0)).toBe(1_440_000n);
  });

  it('rounds tokens down but never loses one to float error', () => {
    // 4 / 8,000 + 1 / 500 = 0.0025 in floats is a hair off: still 7,200,000 tokens an hour.
    expect(tokensPerGpuHour(rates(8000, 500))).toBe(7_200_000n);
    // The reference of Llama 3.3 70B on H100: 262.583 output tokens/s, 4,726,499.7 tokens an hour.
    expect(tokensPerGpuHour(rates(2804.6, 419.8))).toBe(4_726_499n);
  });

  it('prices an ask per million tokens rounded up: the lowest cap per million that reaches it', () => {
    // 21.60 per GPU-hour over 4,320,000 tokens: exactly 5.00 per million.
    expect(pricePerMillionTokensAtAsk(2160n, rates(2400, 400))).toBe(500n);
    // 18.00: 416.67 -> 417 (4.17).
    expect(pricePerMillionTokensAtAsk(1800n, rates(2400, 400))).toBe(417n);
    // 18.20 on the H100 reference: 1,820,000,000 / 4,726,499 = 385.06 -> 386.
    expect(pricePerMillionTokensAtAsk(1820n, rates(2804.6, 419.8))).toBe(386n);
    // A cap of 4.17 per million on that mix reaches 18.00 per GPU-hour; 4.16 does not
    // (a bid's GPU-hour cap is cap x tokens / 1,000,000, rounded down).
    expect((417n * 4_320_000n) / 1_000_000n).toBeGreaterThanOrEqual(1800n);
    expect((416n * 4_320_000n) / 1_000_000n).toBeLessThan(1800n);
  });

  it('serves no tokens from a profile without throughput', () => {
    expect(pricePerMillionTokensAtAsk(1800n, rates(0, 400))).toBeNull();
    expect(pricePerMillionTokensAtAsk(1800n, rates(2400, 0))).toBeNull();
    expect(tokenCapacity(8, 1, rates(2400, 0))).toMatchObject({ gpus: 8, tokensPerSecond: 0 });
  });

  it('counts capacity in whole replicas of the model', () => {
    // 10 free GPUs, replicas of 4: 2 replicas, 8 GPUs x 240 = 1,920 output and 7,680 prompt tokens/s.
    expect(tokenCapacity(10, 4, rates(2400, 400))).toEqual({
      replicas: 2,
      gpus: 8,
      outputTokensPerSecond: 1920,
      promptTokensPerSecond: 7680,
      tokensPerSecond: 9600,
    });
    // Fewer free GPUs than a replica serve the model nothing.
    expect(tokenCapacity(3, 4, rates(2400, 400))).toEqual({
      replicas: 0,
      gpus: 0,
      outputTokensPerSecond: 0,
      promptTokensPerSecond: 0,
      tokensPerSecond: 0,
    });
    expect(() => tokenCapacity(-1, 4, rates(2400, 400))).toThrow(RangeError);
    expect(() => tokenCapacity(4, 0, rates(2400, 400))).toThrow(RangeError);
  });
});
