/**
 * The rules of a lease's life after the match (DESIGN, Leases and capacity), as plain code.
 *
 * Early termination, which docs/LEASES.md states for users:
 * - before access is handed over (SCHEDULED) either side may terminate; nothing ran, so the
 *   buyer's hold is refunded in full;
 * - the buyer ending an ACTIVE lease stops it at the end of the billing period it is in: that
 *   period is paid as any period is, nothing after it;
 * - the provider ending an ACTIVE lease stops it now: the period it is in is paid only for the
 *   time elapsed (and, pay-per-use, only for usage reported, without the minimum), nothing after;
 * - a platform admin ending a lease (ADMIN) is settled as the provider ending it: the buyer pays
 *   no more than the time it had the GPUs, and the provider loses the rest.
 */

export type LeaseState = 'SCHEDULED' | 'ACTIVE' | 'ENDED' | 'TERMINATED';
export type TerminatingSide = 'BUYER' | 'PROVIDER' | 'ADMIN';
export type TerminationReason = 'BUYER_REQUEST' | 'PROVIDER_REQUEST' | 'ADMIN';

export interface LeaseClock {
  status: LeaseState;
  startedAt: Date | null;
  endsAt: Date | null;
  periodSeconds: number;
}

export type TerminationOutcome =
  | { kind: 'terminate'; reason: TerminationReason; refundInFull: boolean }
  | { kind: 'shorten'; endsAt: Date }
  | { kind: 'unchanged' };

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

export function terminationOutcome(lease: LeaseClock, side: TerminatingSide, now: Date): TerminationOutcome {
  const reason = REASON_OF[side];
  if (lease.status === 'ENDED' || lease.status === 'TERMINATED') return { kind: 'unchanged' };
  if (lease.status === 'SCHEDULED') return { kind: 'terminate', reason, refundInFull: true };
  if (side !== 'BUYER') return { kind: 'terminate', reason, refundInFull: false };
  if (lease.startedAt === null || lease.endsAt === null) throw new Error('an ACTIVE lease has started');
  const periodEnd = currentPeriodEnd(lease.startedAt, lease.periodSeconds, now);
  const endsAt = periodEnd < lease.endsAt ? periodEnd : lease.endsAt;
  return endsAt.getTime() === lease.endsAt.getTime() ? { kind: 'unchanged' } : { kind: 'shorten', endsAt };
}
