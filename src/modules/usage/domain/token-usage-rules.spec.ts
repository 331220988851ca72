import { DomainError } from '@/shared/domain-error';
import {
  countsAgree,
  neededGpuSeconds,
  periodForCounts,
  periodGpuSeconds,
  tolerance,
  withinCapacity,
} from './token-usage-rules';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const start = new Date('2026-03-01T00:00:00.000Z');
const at = (ms: number): Date => new Date(start.getTime() + ms);
const lease = {
  status: 'ACTIVE' as const,
  gpus: 2,
  periodSeconds: 3600,
  startedAt: start,
  endAt: at(3 * HOUR),
};
const GRACE = 15 * MINUTE;

const codeOf = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error instanceof DomainError ? [error.code, error.details?.reason ?? error.details?.field] : error;
  }
  return 'no error';
};

describe('periodForCounts', () => {
  it('takes an ended period until its grace is over, and only then', () => {
    expect(periodForCounts(lease, at(HOUR), at(2 * HOUR), GRACE)).toEqual({
      index: 1,
      startsAt: at(HOUR),
      endsAt: at(2 * HOUR),
    });
    expect(periodForCounts(lease, at(HOUR), at(2 * HOUR + GRACE - 1), GRACE).index).toBe(1);
    expect(codeOf(() => periodForCounts(lease, at(HOUR), at(2 * HOUR + GRACE), GRACE))).toEqual([
      'CONFLICT',
      'GRACE_OVER',
    ]);
  });

  it('refuses a period that has not ended, one that is not the lease’s, and an unstarted lease', () => {
    expect(codeOf(() => periodForCounts(lease, at(HOUR), at(2 * HOUR - 1), GRACE))).toEqual([
      'VALIDATION_FAILED',
      'periodStart',
    ]);
    expect(codeOf(() => periodForCounts(lease, at(HOUR + 1), at(3 * HOUR), GRACE))).toEqual([
      'VALIDATION_FAILED',
      'periodStart',
    ]);
    expect(codeOf(() => periodForCounts(lease, at(3 * HOUR), at(5 * HOUR), GRACE))).toEqual([
      'VALIDATION_FAILED',
      'periodStart',
    ]);
    expect(
      codeOf(() =>
        periodForCounts(
          { ...lease, status: 'SCHEDULED', startedAt: null, endAt: null },
          start,
          at(HOUR),
          GRACE,
        ),
      ),
    ).toEqual(['CONFLICT', 'LEASE_NOT_STARTED']);
  });

  it('cuts the last period at the lease’s end', () => {
    const short = { ...lease, status: 'TERMINATED' as const, endAt: at(HOUR + 30 * MINUTE) };
    const period = periodForCounts(short, at(HOUR), at(HOUR + 30 * MINUTE), GRACE);
    expect(period.endsAt).toEqual(short.endAt);
    expect(periodGpuSeconds(short, period)).toBe(3600n);
  });
});

describe('capacity', () => {
  // Example 1 of docs/INFERENCE.md: Llama 3.3 70B on H100, 2,804.6 prompt and 419.8 output tokens/s per GPU.
  const declared = {
    basis: 'DECLARED' as const,
    rates: [
      {
        model: 'llama-3.3-70b-instruct',
        promptTokensPerSecondPerGpu: 2804.6,
        outputTokensPerSecondPerGpu: 419.8,
      },
    ],
  };

  it('shares a GPU-second between prefill and decode', () => {
    // 2 GPUs x 1 h = 7,200 GPU-seconds: 20,193,120 prompt tokens alone, or 3,022,560 output tokens alone.
    const needed = neededGpuSeconds({ promptTokens: 2_804_600n, outputTokens: 419_800n }, declared);
    expect(needed).toBeCloseTo(2000, 9);
  });

  it('allows 10% headroom over the bare capacity and refuses beyond', () => {
    const gpuSeconds = 7200n;
    // 7,920 GPU-seconds (7,200 x 1.1) of output at 419.8: 3,324,816 tokens.
    expect(withinCapacity({ promptTokens: 0n, outputTokens: 3_324_816n }, declared, gpuSeconds)).toBe(true);
    expect(withinCapacity({ promptTokens: 0n, outputTokens: 3_324_817n }, declared, gpuSeconds)).toBe(false);
    expect(withinCapacity({ promptTokens: 22_212_432n, outputTokens: 0n }, declared, gpuSeconds)).toBe(true);
    expect(withinCapacity({ promptTokens: 22_212_433n, outputTokens: 0n }, declared, gpuSeconds)).toBe(false);
  });

  it('takes the most favourable profile, and bounds nothing without one', () => {
    const two = {
      basis: 'DECLARED' as const,
      rates: [
        ...declared.rates,
        {
          model: 'qwen2.5-7b-instruct',
          promptTokensPerSecondPerGpu: 25_983,
          outputTokensPerSecondPerGpu: 1020.3,
        },
      ],
    };
    expect(neededGpuSeconds({ promptTokens: 25_983n, outputTokens: 1020n }, two)).toBeCloseTo(
      1 + 1020 / 1020.3,
      9,
    );
    expect(
      withinCapacity({ promptTokens: 10n ** 15n, outputTokens: 0n }, { basis: 'NONE', rates: [] }, 1n),
    ).toBe(true);
  });

  it('ignores a rate of zero rather than dividing by it', () => {
    const zero = {
      basis: 'DECLARED' as const,
      rates: [{ model: 'm', promptTokensPerSecondPerGpu: 0, outputTokensPerSecondPerGpu: 0 }],
    };
    expect(neededGpuSeconds({ promptTokens: 1n, outputTokens: 1n }, zero)).toBeNull();
  });
});

describe('tolerance', () => {
  it('is the larger of 1,000 tokens and 2% of the larger count', () => {
    expect(tolerance(0n, 10n)).toBe(1000n);
    expect(tolerance(50_000n, 49_000n)).toBe(1000n);
    expect(tolerance(1_000_000n, 900_000n)).toBe(20_000n);
  });

  it('agrees within it on both figures and not beyond on either', () => {
    const provider = { promptTokens: 1_000_000n, outputTokens: 100_000n };
    expect(countsAgree(provider, { promptTokens: 980_000n, outputTokens: 99_000n })).toBe(true);
    expect(countsAgree(provider, { promptTokens: 979_999n, outputTokens: 100_000n })).toBe(false);
    expect(countsAgree(provider, { promptTokens: 1_000_000n, outputTokens: 97_999n })).toBe(false);
    expect(
      countsAgree({ promptTokens: 0n, outputTokens: 0n }, { promptTokens: 1000n, outputTokens: 1000n }),
    ).toBe(true);
  });
});
