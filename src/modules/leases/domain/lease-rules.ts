import { costMinor } from '@/shared/money';

/**
 * The rules of a lease's life after the match, as plain code: ending early (notice, penalty,
 * reclaim, admin) is written in docs/LEASES.md "Ending a lease early" and "Idle windows".
 */

export type LeaseState = 'SCHEDULED' | 'ACTIVE' | 'ENDED' | 'TERMINATED';
export type TerminatingSide = 'BUYER' | 'PROVIDER' | 'ADMIN';
export type TerminationReason = 'BUYER_REQUEST' | 'PROVIDER_REQUEST' | 'ADMIN' | 'RECLAIMED';
/**
 * How a provider ends a lease: at the offer's notice, now with a penalty, or (a reclaimable lease
 * only) at the offer's reclaim notice.
 */
export type ProviderEndMode = 'NOTICE' | 'IMMEDIATE' | 'RECLAIM';

export interface LeaseClock {
  status: LeaseState;
  startedAt: Date | null;
  endsAt: Date | null;
  periodSeconds: number;
  /** When an idle-window lease's window opens; null: at once. */
  startsAt?: Date | null;
  /** Whether the provider may reclaim it (an interruptible bid on idle windows). */
  reclaimable?: boolean;
}

export type TerminationOutcome =
  /** `penaltyGpuSeconds`: the notice a provider skipped, in GPU-seconds the buyer is paid for. */
  | { kind: 'terminate'; reason: TerminationReason; refundInFull: boolean; penaltyGpuSeconds?: bigint }
  /** The buyer's end: the lease stops at the end of the period it is in. */
  | { kind: 'shorten'; endsAt: Date }
  /** The provider's notice: the lease stops at `endsAt` (now + notice). */
  | { kind: 'notice'; endsAt: Date }
  /** The provider's reclaim: the lease stops at `endsAt` (now + reclaim notice), TERMINATED(RECLAIMED). */
  | { kind: 'reclaim'; endsAt: Date }
  /** A reclaim the lease does not allow; `why` is said to the provider (409). */
  | { kind: 'refused'; why: string }
  | { kind: 'unchanged' };

/** What a provider's end is bound by: the offer's notice, and the way it chose. */
export interface ProviderCommitment {
  mode: ProviderEndMode;
  noticeHours: number;
  gpus: number;
  /** The offer's reclaim notice, minutes; null when it has no idle windows. */
  reclaimNoticeMinutes?: number | null;
}

/** The penalty for ending without notice: `gpuSeconds` of the lease at its trade price, floored. */
export function earlyEndPenalty(pricePerGpuHour: bigint, gpuSeconds: bigint): bigint {
  return costMinor(pricePerGpuHour, gpuSeconds);
}

/** When an ACTIVE lease ends: its whole duration from the handover. */
export function leaseEndsAt(startedAt: Date, durationHours: number): Date {
  return new Date(startedAt.getTime() + durationHours * 3_600_000);
}

/** The end of the billing period `now` falls in (periods run from the start, `periodSeconds` long). */
export function currentPeriodEnd(startedAt: Date, periodSeconds: number, now: Date): Date {
  const period = periodSeconds * 1000;
  const elapsed = Math.max(0, now.getTime() - startedAt.getTime());
  return new Date(startedAt.getTime() + (Math.floor(elapsed / period) + 1) * period);
}

const REASON_OF: Record<TerminatingSide, TerminationReason> = {
  BUYER: 'BUYER_REQUEST',
  PROVIDER: 'PROVIDER_REQUEST',
  ADMIN: 'ADMIN',
};

export function terminationOutcome(
  lease: LeaseClock,
  side: TerminatingSide,
  now: Date,
  commitment?: ProviderCommitment,
): TerminationOutcome {
  const reason = REASON_OF[side];
  if (lease.status === 'ENDED' || lease.status === 'TERMINATED') return { kind: 'unchanged' };
  // Past its end and not yet closed by the lease sweep: it ran its course and ends as ENDED. Ending
  // it now would record an end past its hold, periods nobody paid for.
  if (lease.status === 'ACTIVE' && lease.endsAt !== null && lease.endsAt.getTime() <= now.getTime())
    return { kind: 'unchanged' };
  if (side === 'PROVIDER' && commitment?.mode === 'RECLAIM') return reclaimOutcome(lease, now, commitment);
  if (lease.status === 'SCHEDULED') return { kind: 'terminate', reason, refundInFull: true };
  if (side === 'ADMIN') return { kind: 'terminate', reason, refundInFull: false };
  if (lease.startedAt === null || lease.endsAt === null) throw new Error('an ACTIVE lease has started');
  if (side === 'PROVIDER') {
    if (commitment === undefined) throw new Error("a provider's end needs the offer's commitment");
    const noticeMs = commitment.noticeHours * 3_600_000;
    if (commitment.mode === 'NOTICE') {
      const endsAt = new Date(now.getTime() + noticeMs);
      return endsAt < lease.endsAt ? { kind: 'notice', endsAt } : { kind: 'unchanged' };
    }
    const leftMs = Math.max(0, lease.endsAt.getTime() - now.getTime());
    const skippedSeconds = Math.floor(Math.min(noticeMs, leftMs) / 1000);
    return {
      kind: 'terminate',
      reason,
      refundInFull: false,
      penaltyGpuSeconds: BigInt(skippedSeconds) * BigInt(commitment.gpus),
    };
  }
  const periodEnd = currentPeriodEnd(lease.startedAt, lease.periodSeconds, now);
  const endsAt = periodEnd < lease.endsAt ? periodEnd : lease.endsAt;
  return endsAt.getTime() === lease.endsAt.getTime() ? { kind: 'unchanged' } : { kind: 'shorten', endsAt };
}

/** The provider's reclaim of a live lease (docs/LEASES.md "Idle windows"). */
function reclaimOutcome(lease: LeaseClock, now: Date, commitment: ProviderCommitment): TerminationOutcome {
  const noticeMinutes = commitment.reclaimNoticeMinutes ?? null;
  if (lease.reclaimable !== true || noticeMinutes === null) {
    return {
      kind: 'refused',
      why: 'Only a lease of an interruptible bid on idle windows can be reclaimed; end it with NOTICE or IMMEDIATE.',
    };
  }
  const endsAt = new Date(now.getTime() + noticeMinutes * 60_000);
  if (lease.status === 'SCHEDULED') {
    // Nothing ran: a window that opens at least the notice away is simply not delivered.
    if (lease.startsAt !== null && lease.startsAt !== undefined && lease.startsAt >= endsAt) {
      return { kind: 'terminate', reason: 'RECLAIMED', refundInFull: true };
    }
    return {
      kind: 'refused',
      why: 'The lease’s window opens within the reclaim notice: hand over access, then reclaim it.',
    };
  }
  if (lease.endsAt === null) throw new Error('an ACTIVE lease has an end');
  return endsAt < lease.endsAt ? { kind: 'reclaim', endsAt } : { kind: 'unchanged' };
}
