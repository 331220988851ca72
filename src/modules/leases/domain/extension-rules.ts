import { DomainError } from '@/shared/domain-error';
import { formatMoney } from '@/shared/money';
import { IdleSchedule } from '@/modules/markets/domain/idle-schedule';
import type { IdleWindowsSpec } from '@/modules/markets/domain/order-terms';

/**
 * Extending a lease, as plain code (docs/LEASES.md "Extending a lease"); one price per lease
 * keeps settlement, invoices and the hold rule exact.
 */

/** Hours one extension may add: the longest lease a bid may ask for (DESIGN, Money). */
export const MAX_EXTENSION_HOURS = 720;
/** Hours a lease may last in all, its extensions included: keeps price x GPUs x hours in a bigint. */
export const MAX_LEASE_TOTAL_HOURS = 87_600;

export interface ExtendableLease {
  status: 'SCHEDULED' | 'ACTIVE' | 'ENDED' | 'TERMINATED';
  startedAt: Date | null;
  endsAt: Date | null;
  durationHours: number;
  noticeGivenAt: Date | null;
  pricePerGpuHour: bigint;
  gpus: number;
  settlementState: string;
}

/** The offer the lease's GPUs come from, read under its row lock. */
export interface ExtensionSupply {
  status: 'OPEN' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELLED' | 'EXPIRED';
  pricePerGpuHour: bigint;
  availableUntil: Date;
  providerStatus: string;
  marketStatus: string;
  currencyScale: number;
  /** The offer's idle windows; null when it sells all hours of its availability. */
  idleWindows: IdleWindowsSpec | null;
}

export interface ExtensionTerms {
  previousEndsAt: Date;
  endsAt: Date;
  hours: number;
  pricePerGpuHour: bigint;
  /** What the extension holds: price x GPUs x hours. */
  amount: bigint;
}

const conflict = (reason: string, message: string, details: Record<string, unknown> = {}): DomainError =>
  new DomainError('CONFLICT', message, { reason, ...details });

/** What the lease may be extended by now, or the refusal (409) that says why not. */
export function extensionTerms(
  lease: ExtendableLease,
  supply: ExtensionSupply,
  hours: number,
  now: Date,
): ExtensionTerms {
  if (!Number.isInteger(hours) || hours < 1 || hours > MAX_EXTENSION_HOURS) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `hours must be a whole number from 1 to ${MAX_EXTENSION_HOURS}.`,
      {
        field: 'hours',
      },
    );
  }
  if (lease.status !== 'ACTIVE' || lease.startedAt === null || lease.endsAt === null) {
    throw conflict('LEASE_NOT_ACTIVE', `Only an ACTIVE lease can be extended; this one is ${lease.status}.`, {
      status: lease.status,
    });
  }
  if (lease.endsAt.getTime() <= now.getTime()) {
    throw conflict('LEASE_NOT_ACTIVE', 'The lease has reached its end.', { status: lease.status });
  }
  if (lease.noticeGivenAt !== null) {
    throw conflict(
      'TERMINATION_SCHEDULED',
      'The provider gave notice to end this lease; it cannot be extended.',
    );
  }
  const term = lease.startedAt.getTime() + lease.durationHours * 3_600_000;
  if (lease.endsAt.getTime() < term) {
    throw conflict('TERMINATION_SCHEDULED', 'You asked to end this lease early; it cannot be extended.');
  }
  if (lease.settlementState !== 'OPEN') {
    throw conflict('SETTLEMENT_HELD', 'The lease’s settlement awaits an admin; it cannot be extended now.');
  }
  if (lease.durationHours + hours > MAX_LEASE_TOTAL_HOURS) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `A lease lasts at most ${MAX_LEASE_TOTAL_HOURS} hours with its extensions; ${MAX_LEASE_TOTAL_HOURS - lease.durationHours} are left.`,
      { field: 'hours' },
    );
  }
  if (supply.status === 'CANCELLED' || supply.status === 'EXPIRED' || supply.providerStatus !== 'VERIFIED') {
    throw conflict('OFFER_CLOSED', 'The offer this lease came from no longer sells its GPUs.');
  }
  if (supply.marketStatus !== 'ACTIVE') {
    throw conflict('MARKET_PAUSED', 'The market is paused and makes no new trades.');
  }
  const endsAt = new Date(lease.endsAt.getTime() + hours * 3_600_000);
  if (endsAt.getTime() > supply.availableUntil.getTime()) {
    throw conflict('OUTSIDE_AVAILABILITY', 'The offer is not available until the new end.', {
      availableUntil: supply.availableUntil.toISOString(),
      endsAt: endsAt.toISOString(),
    });
  }
  if (supply.idleWindows !== null) refuseOutsideWindow(supply.idleWindows, lease.endsAt, endsAt);
  if (supply.pricePerGpuHour > lease.pricePerGpuHour) {
    throw conflict(
      'ASK_ABOVE_LEASE_PRICE',
      'The offer now asks more than this lease’s price; place a new bid.',
      {
        ask: formatMoney(supply.pricePerGpuHour, supply.currencyScale),
        pricePerGpuHour: formatMoney(lease.pricePerGpuHour, supply.currencyScale),
      },
    );
  }
  return {
    previousEndsAt: lease.endsAt,
    endsAt,
    hours,
    pricePerGpuHour: lease.pricePerGpuHour,
    amount: lease.pricePerGpuHour * BigInt(lease.gpus) * BigInt(hours),
  };
}

/**
 * On an offer with idle windows the hours added must lie inside the window the lease ends in,
 * whole: the provider sells only those hours, and an extension is not interruptible by the
 * reclaim of a window that closes (docs/LEASES.md "Extending a lease").
 */
function refuseOutsideWindow(spec: IdleWindowsSpec, from: Date, to: Date): void {
  const schedule = new IdleSchedule(spec);
  const start = from.getTime();
  const end = to.getTime();
  if (schedule.coveredMs(start, end) === end - start) return;
  // Inside [start, end) the intervals are exact, and the one holding the old end stops before the new end.
  const current = schedule.intervals(start, end).find((w) => w.start <= start && w.end > start);
  throw conflict(
    'OUTSIDE_IDLE_WINDOW',
    'The offer sells only its idle windows; the new end lies outside the current one.',
    {
      windowEndsAt: current === undefined ? null : new Date(current.end).toISOString(),
      endsAt: to.toISOString(),
    },
  );
}
