import { DomainError } from '@/shared/domain-error';
import { periodStartingAt, type Period } from '@/shared/periods';
import type { ServingCapacity } from '@/modules/inference/domain/serving-capacity';

/**
 * Token counts that can be checked (docs/USAGE.md): when a period takes counts, whether counts
 * fit what the leased GPUs could serve, and whether the two sides' counts agree. Pure.
 */

export interface TokenCounts {
  promptTokens: bigint;
  outputTokens: bigint;
}

export interface LeaseForTokens {
  status: 'SCHEDULED' | 'ACTIVE' | 'ENDED' | 'TERMINATED';
  gpus: number;
  periodSeconds: number;
  startedAt: Date | null;
  /** ACTIVE: its planned end; closed: when it ended. */
  endAt: Date | null;
}

/** Measurement noise and clock skew at period edges: counts may exceed the bare capacity by 10%. */
export const CAPACITY_HEADROOM = 1.1;

/**
 * Two sides' counts agree when each of prompt and output differs by at most the larger of
 * 1,000 tokens and 2% of the larger count; beyond that a USAGE dispute opens.
 */
export const TOLERANCE_TOKENS = 1_000n;
export const TOLERANCE_BPS = 200n;

/**
 * The period `periodStart` names, if it takes counts now: one of the lease's periods, ended, and
 * still inside its grace (end + SETTLEMENT_GRACE_MINUTES). 400 for a period that is not one of
 * the lease's or has not ended, 409 once the grace is over.
 */
export function periodForCounts(
  lease: LeaseForTokens,
  periodStart: Date,
  now: Date,
  graceMs: number,
): Period {
  const period = periodStartingAt(
    lease,
    periodStart,
    'The lease has not started; there are no tokens to count.',
  );
  if (period.endsAt.getTime() > now.getTime()) {
    throw new DomainError(
      'VALIDATION_FAILED',
      'The period has not ended yet; count its tokens once it has.',
      {
        field: 'periodStart',
      },
    );
  }
  if (now.getTime() >= period.endsAt.getTime() + graceMs) {
    throw new DomainError('CONFLICT', "The period's grace for token counts is over.", {
      reason: 'GRACE_OVER',
      closedAt: new Date(period.endsAt.getTime() + graceMs).toISOString(),
    });
  }
  return period;
}

/** GPU-seconds the lease's GPUs had in the period: GPUs x its length. */
export function periodGpuSeconds(lease: Pick<LeaseForTokens, 'gpus'>, period: Period): bigint {
  return (BigInt(lease.gpus) * BigInt(period.endsAt.getTime() - period.startsAt.getTime())) / 1000n;
}

/**
 * GPU-seconds the counts need at the most favourable of the rates: a GPU's second is shared
 * between prefill and decode (as sizing assumes, docs/INFERENCE.md), so the counts need
 * prompt / promptRate + output / outputRate GPU-seconds. Null when no rate bounds them.
 */
export function neededGpuSeconds(counts: TokenCounts, capacity: ServingCapacity): number | null {
  let best: number | null = null;
  for (const rate of capacity.rates) {
    if (rate.promptTokensPerSecondPerGpu <= 0 || rate.outputTokensPerSecondPerGpu <= 0) continue;
    const needed =
      Number(counts.promptTokens) / rate.promptTokensPerSecondPerGpu +
      Number(counts.outputTokens) / rate.outputTokensPerSecondPerGpu;
    if (best === null || needed < best) best = needed;
  }
  return best;
}

/** Whether counts fit the period's GPU-seconds at the capacity, with the headroom. */
export function withinCapacity(counts: TokenCounts, capacity: ServingCapacity, gpuSeconds: bigint): boolean {
  const needed = neededGpuSeconds(counts, capacity);
  return needed === null || needed <= Number(gpuSeconds) * CAPACITY_HEADROOM;
}

/** The most two counts may differ by and still agree. */
export function tolerance(a: bigint, b: bigint): bigint {
  const larger = a > b ? a : b;
  const relative = (larger * TOLERANCE_BPS) / 10_000n;
  return relative > TOLERANCE_TOKENS ? relative : TOLERANCE_TOKENS;
}

/** Whether the provider's and the buyer's counts agree within the tolerance, for both figures. */
export function countsAgree(provider: TokenCounts, buyer: TokenCounts): boolean {
  const close = (a: bigint, b: bigint): boolean => (a > b ? a - b : b - a) <= tolerance(a, b);
  return close(provider.promptTokens, buyer.promptTokens) && close(provider.outputTokens, buyer.outputTokens);
}
