import { costMinor } from '@/shared/money';
import type { Period } from '@/shared/periods';
import { type TransferDraft } from '@/modules/billing/ledger/domain/ledger-rules';
import type { TokenBillingTerms, TokenPeriodFigures } from './token-billing';

/**
 * Settlement of GPU leases as plain code; periods, pricing, the fee and early ends are written in
 * docs/LEASES.md "Settlement" and docs/LEDGER.md.
 */

export interface SettlingLease {
  id: string;
  buyerOrganisationId: string;
  providerOrganisationId: string;
  currency: string;
  gpus: number;
  pricePerGpuHour: bigint;
  durationHours: number;
  billingMode: 'RESERVED' | 'PAY_PER_USE';
  feeBps: number;
  payPerUseMinPercent: number;
  periodSeconds: number;
  status: 'ACTIVE' | 'ENDED' | 'TERMINATED';
  terminationReason: string | null;
  startedAt: Date;
  /** ACTIVE: when it will end; ENDED/TERMINATED: when it did. */
  endAt: Date;
  /** An inference lease billed per token (token-settlement-rules.ts); null or absent: by GPU-seconds. */
  tokenBilling?: TokenBillingTerms | null;
}

/**
 * MANUAL: GPU-seconds an admin stated for a period whose automatic settlement failed. TOKENS and
 * TAKE_OR_PAY: a per-token period (token-settlement-rules.ts).
 */
export type ChargeBasis =
  'RESERVED' | 'REPORTED' | 'MINIMUM' | 'ELAPSED' | 'MANUAL' | 'TOKENS' | 'TAKE_OR_PAY';

export interface PeriodCharge extends Period {
  gpuSeconds: bigint;
  basis: ChargeBasis;
  cost: bigint;
  fee: bigint;
  /** A per-token period's figures: its payout to the provider and the spread (token-settlement-rules.ts). */
  tokens?: TokenPeriodFigures;
}

/**
 * When a period may settle: RESERVED at its end, PAY_PER_USE and per-token (PER_TOKEN) after the
 * grace for reports.
 */
export function settlesAt(
  period: Period,
  billingMode: SettlingLease['billingMode'] | 'PER_TOKEN',
  graceMs: number,
): Date {
  return new Date(period.endsAt.getTime() + (billingMode === 'RESERVED' ? 0 : graceMs));
}

/** How the lease's periods wait for reports: per-token leases as pay-per-use ones do. */
export function settlementMode(
  lease: Pick<SettlingLease, 'billingMode' | 'tokenBilling'>,
): SettlingLease['billingMode'] | 'PER_TOKEN' {
  return lease.tokenBilling === null || lease.tokenBilling === undefined ? lease.billingMode : 'PER_TOKEN';
}

/** The GPU-seconds a period reserves: GPUs x its length. */
export function reservedGpuSeconds(lease: Pick<SettlingLease, 'gpus'>, period: Period): bigint {
  return (BigInt(lease.gpus) * BigInt(period.endsAt.getTime() - period.startsAt.getTime())) / 1000n;
}

/**
 * Whether the provider's (or an admin's) early end fell inside this period, cutting it short (its minimum is
 * waived). Periods are half-open: an end exactly on a boundary falls in the next period, which
 * never starts, so the full period before it is charged as any other.
 */
export function cutByProvider(lease: SettlingLease, period: Period): boolean {
  return (
    lease.status === 'TERMINATED' &&
    // An admin's end is settled as the provider's, with or without notice (domain/lease-rules in leases).
    (lease.terminationReason === 'PROVIDER_REQUEST' ||
      lease.terminationReason === 'PROVIDER_NOTICE' ||
      lease.terminationReason === 'RECLAIMED' ||
      lease.terminationReason === 'ADMIN') &&
    period.endsAt.getTime() === lease.endAt.getTime() &&
    period.endsAt.getTime() - period.startsAt.getTime() < lease.periodSeconds * 1000
  );
}

/**
 * Whether the period waits for its lease to close before it may settle: the last period of a lease
 * still ACTIVE when that period is cut short, which only a moved end does (a provider's notice or
 * reclaim). How the lease ends decides that period's charge (closed TERMINATED by the provider, it
 * pays no minimum: `cutByProvider`), and the lease sweep records it only once the end has come;
 * settled before, the period would be charged as if the lease had simply ended. A full last
 * period charges the same however the lease ends, and settles at its time as any other.
 */
export function awaitsClose(
  lease: Pick<SettlingLease, 'status' | 'endAt' | 'periodSeconds'>,
  period: Period,
): boolean {
  return (
    lease.status === 'ACTIVE' &&
    period.endsAt.getTime() === lease.endAt.getTime() &&
    period.endsAt.getTime() - period.startsAt.getTime() < lease.periodSeconds * 1000
  );
}

/** What one period charges, given the usage reported for it (if any). */
export function chargePeriod(
  lease: SettlingLease,
  period: Period,
  reportedGpuSeconds: bigint | null,
): PeriodCharge {
  const reserved = reservedGpuSeconds(lease, period);
  let gpuSeconds: bigint;
  let basis: ChargeBasis;
  if (lease.billingMode === 'RESERVED') {
    gpuSeconds = reserved;
    basis = cutByProvider(lease, period) ? 'ELAPSED' : 'RESERVED';
  } else {
    const minimum = cutByProvider(lease, period) ? 0n : (reserved * BigInt(lease.payPerUseMinPercent)) / 100n;
    const used = reportedGpuSeconds ?? 0n;
    if (used > reserved) throw new Error(`period ${period.index}: usage ${used} above reserved ${reserved}`);
    [gpuSeconds, basis] =
      used >= minimum && reportedGpuSeconds !== null ? [used, 'REPORTED'] : [minimum, 'MINIMUM'];
  }
  const cost = costMinor(lease.pricePerGpuHour, gpuSeconds);
  const fee = (cost * BigInt(lease.feeBps)) / 10_000n;
  return { ...period, gpuSeconds, basis, cost, fee };
}

/**
 * A period an admin settles by hand: the GPU-seconds they state (at most those reserved), at
 * the lease's trade price and fee, exactly as an automatic charge would price them.
 */
export function manualCharge(lease: SettlingLease, period: Period, gpuSeconds: bigint): PeriodCharge {
  const reserved = reservedGpuSeconds(lease, period);
  if (gpuSeconds < 0n || gpuSeconds > reserved) {
    throw new RangeError(`period ${period.index}: ${gpuSeconds} GPU-seconds outside 0..${reserved}`);
  }
  const cost = costMinor(lease.pricePerGpuHour, gpuSeconds);
  const fee = (cost * BigInt(lease.feeBps)) / 10_000n;
  return { ...period, gpuSeconds, basis: 'MANUAL', cost, fee };
}

/** The whole hold a lease took at match: its reserved cost at the trade price. */
export function leaseHold(lease: Pick<SettlingLease, 'pricePerGpuHour' | 'gpus' | 'durationHours'>): bigint {
  return lease.pricePerGpuHour * BigInt(lease.gpus) * BigInt(lease.durationHours);
}

/** A period's money: the buyer's held credit pays the provider (less the fee) and the platform. */
export function periodTransfer(lease: SettlingLease, charge: PeriodCharge): TransferDraft | null {
  if (charge.cost === 0n) return null;
  const proceeds = charge.cost - charge.fee;
  return {
    key: `settle:${lease.id}:${charge.index}`,
    kind: 'SETTLEMENT',
    currency: lease.currency,
    organisationId: lease.buyerOrganisationId,
    leaseId: lease.id,
    memo: `period ${charge.index + 1} (${charge.basis.toLowerCase()})`,
    entries: [
      { account: { organisationId: lease.buyerOrganisationId, kind: 'BUYER_HELD' }, amount: -charge.cost },
      ...(proceeds > 0n
        ? [
            {
              account: { organisationId: lease.providerOrganisationId, kind: 'PROVIDER_EARNINGS' as const },
              amount: proceeds,
            },
          ]
        : []),
      ...(charge.fee > 0n
        ? [{ account: { organisationId: null, kind: 'PLATFORM_FEES' as const }, amount: charge.fee }]
        : []),
    ],
  };
}

/** After the last period, what the lease still holds goes back to the buyer. */
export function finalReleaseTransfer(lease: SettlingLease, settledCost: bigint): TransferDraft | null {
  return releaseRest(lease, settledCost, 'REFUND', 'unused lease hold');
}

/**
 * An admin voids a lease's settlement: what it still holds goes back to the buyer as a
 * correction. Same key as the final release, so a lease's hold is released once either way.
 */
export function voidReleaseTransfer(
  lease: SettlingLease,
  settledCost: bigint,
  reason: string,
): TransferDraft | null {
  return releaseRest(lease, settledCost, 'CORRECTION', `settlement voided: ${reason}`.slice(0, 500));
}

function releaseRest(
  lease: SettlingLease,
  settledCost: bigint,
  kind: 'REFUND' | 'CORRECTION',
  memo: string,
): TransferDraft | null {
  const rest = leaseHold(lease) - settledCost;
  if (rest < 0n) throw new Error(`lease ${lease.id}: settled ${settledCost} above its hold`);
  if (rest === 0n) return null;
  return {
    key: `lease-release:${lease.id}`,
    kind,
    currency: lease.currency,
    organisationId: lease.buyerOrganisationId,
    leaseId: lease.id,
    memo,
    entries: [
      { account: { organisationId: lease.buyerOrganisationId, kind: 'BUYER_HELD' }, amount: -rest },
      { account: { organisationId: lease.buyerOrganisationId, kind: 'BUYER_AVAILABLE' }, amount: rest },
    ],
  };
}
