import { DomainError } from '@/shared/domain-error';
import { MAX_BID_LIFETIME_DAYS } from './bid-rules';

/**
 * Automatic re-placement of a bid as plain code (docs/LEASES.md "Re-placing a bid automatically").
 */

/** Most re-placements one plan may make. */
export const MAX_REPLACEMENTS = 100;
/** Largest budget, minor units (10,000,000,000,000.00 in a 2-decimal currency: the spend cap's bound). */
export const MAX_REPLACEMENT_BUDGET_MINOR = 1_000_000_000_000_000n;

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** The plan a re-placement is counted against, read under its lock. */
export interface PlanUse {
  maxCount: number;
  budget: bigint;
  usedCount: number;
  usedBudget: bigint;
  stoppedAt: Date | null;
}

/** Whether a closed lease re-places its bid: every end but the buyer's own. */
export function replaces(lease: { terminationReason: string | null; buyerEnded: boolean }): boolean {
  return !lease.buyerEnded && lease.terminationReason !== 'BUYER_REQUEST';
}

/** The refusal (409 `REPLACEMENT_LIMIT`) when the plan cannot take a re-placement holding `hold`. */
export function replacementRefusal(plan: PlanUse | undefined, hold: bigint): DomainError | null {
  const refuse = (why: string): DomainError =>
    new DomainError('CONFLICT', `Automatic re-placement stopped: ${why}.`, { reason: 'REPLACEMENT_LIMIT' });
  if (plan === undefined) return refuse('the plan is not this organisation’s');
  if (plan.stoppedAt !== null) return refuse('the buyer stopped it');
  if (plan.usedCount >= plan.maxCount) return refuse(`all ${plan.maxCount} re-placements are used`);
  if (plan.usedBudget + hold > plan.budget) return refuse('its hold would exceed what is left of the budget');
  return null;
}

/** A re-placement lives as long as the bid it repeats did (at least a minute, at most the bid limit). */
export function replacementExpiry(bid: { createdAt: Date; expiresAt: Date }, now: Date): Date {
  const lifetime = bid.expiresAt.getTime() - bid.createdAt.getTime();
  const bounded = Math.min(Math.max(lifetime, MINUTE_MS), MAX_BID_LIFETIME_DAYS * DAY_MS);
  return new Date(now.getTime() + bounded);
}
