import type { OrderStatus } from '@/generated/prisma/enums';
import { DomainError } from '@/shared/domain-error';
import { MAX_DURATION_HOURS } from '@/shared/money';
import { LIVE_OFFER_STATUSES, type LiveOfferStatus } from '@/modules/markets/domain/order-terms';

/** Offers whose capacity can still be leased; CANCELLED and EXPIRED are terminal. */
export { LIVE_OFFER_STATUSES, type LiveOfferStatus };

/** How far ahead an offer's window may end. */
export const MAX_OFFER_HORIZON_DAYS = 366;
/** Longest minimum lease an offer may ask for: the longest lease a bid can ask for. */
export const MAX_MIN_LEASE_HOURS = MAX_DURATION_HOURS;
/** Notice a provider owes before ending an ACTIVE lease early (docs/LEASES.md): 1 h to a week. */
export const MAX_TERMINATION_NOTICE_HOURS = 168;
export const DEFAULT_TERMINATION_NOTICE_HOURS = 24;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export function isLiveOffer(status: OrderStatus): status is LiveOfferStatus {
  return (LIVE_OFFER_STATUSES as readonly OrderStatus[]).includes(status);
}

/** OPEN / PARTIALLY_FILLED / FILLED describe free capacity: offered GPUs minus leased GPUs. */
export function offerStatusFor(gpus: number, leasedGpus: number): LiveOfferStatus {
  if (leasedGpus <= 0) return 'OPEN';
  return leasedGpus < gpus ? 'PARTIALLY_FILLED' : 'FILLED';
}

export interface OfferWindow {
  availableFrom: Date;
  availableUntil: Date;
  minLeaseHours: number;
}

/**
 * The availability window must end after it starts, end in the future but within the horizon,
 * and leave room for at least one minimum lease from whichever is later of its start and now.
 */
export function validateOfferWindow(window: OfferWindow, now: Date): void {
  const from = window.availableFrom.getTime();
  const until = window.availableUntil.getTime();
  if (until <= from) {
    throw invalid('availableUntil', 'availableUntil must be after availableFrom.');
  }
  if (until <= now.getTime()) {
    throw invalid('availableUntil', 'availableUntil must be in the future.');
  }
  if (until > now.getTime() + MAX_OFFER_HORIZON_DAYS * DAY_MS) {
    throw invalid(
      'availableUntil',
      `availableUntil must be at most ${MAX_OFFER_HORIZON_DAYS} days from now.`,
    );
  }
  const usableFrom = Math.max(from, now.getTime());
  if (until - usableFrom < window.minLeaseHours * HOUR_MS) {
    throw invalid(
      'availableUntil',
      `The availability window must leave room for one lease of minLeaseHours (${window.minLeaseHours} h).`,
    );
  }
}

export interface AmendableOffer {
  status: OrderStatus;
  gpus: number;
  leasedGpus: number;
  pricePerGpuHour: bigint;
  availableUntil: Date;
}

export interface AmendmentRequest {
  gpus?: number;
  pricePerGpuHour?: bigint;
}

export interface AmendmentPlan {
  /** False when the request restates the offer as it is: nothing to write, no event. */
  changed: boolean;
  gpus: number;
  pricePerGpuHour: bigint;
  status: LiveOfferStatus;
  /** A price change loses time priority: the offer takes a new `seq`. */
  reassignSeq: boolean;
}

/**
 * Amend (DESIGN, Statuses): a live offer may change its price and lower its GPUs, never below
 * the GPUs its leases hold. Raising GPUs is a new offer.
 */
export function planAmendment(offer: AmendableOffer, request: AmendmentRequest, now: Date): AmendmentPlan {
  if (request.gpus === undefined && request.pricePerGpuHour === undefined) {
    throw new DomainError('VALIDATION_FAILED', 'Provide pricePerGpuHour, gpus or both.', {
      field: 'pricePerGpuHour',
    });
  }
  if (!isLiveOffer(offer.status)) {
    throw new DomainError('CONFLICT', `The offer is ${offer.status} and can no longer be amended.`, {
      status: offer.status,
    });
  }
  if (offer.availableUntil.getTime() <= now.getTime()) {
    throw new DomainError(
      'CONFLICT',
      'The offer’s availability window has ended; it can no longer be amended.',
      {
        status: offer.status,
      },
    );
  }
  const gpus = request.gpus ?? offer.gpus;
  if (gpus > offer.gpus) {
    throw invalid(
      'gpus',
      `gpus can only be lowered (the offer has ${offer.gpus}); place a new offer for more.`,
    );
  }
  if (gpus < offer.leasedGpus) {
    throw new DomainError('CONFLICT', `gpus cannot go below the ${offer.leasedGpus} GPUs held by leases.`, {
      field: 'gpus',
      leasedGpus: offer.leasedGpus,
    });
  }
  const pricePerGpuHour = request.pricePerGpuHour ?? offer.pricePerGpuHour;
  const reassignSeq = pricePerGpuHour !== offer.pricePerGpuHour;
  return {
    changed: reassignSeq || gpus !== offer.gpus,
    gpus,
    pricePerGpuHour,
    status: offerStatusFor(gpus, offer.leasedGpus),
    reassignSeq,
  };
}

/**
 * What a cancel that found no live offer to cancel answers: the offer unchanged if it is
 * already cancelled (cancels are idempotent by state), a 409 for any other terminal state.
 */
export function assertCancelledAlready(status: OrderStatus): void {
  if (status !== 'CANCELLED') {
    throw new DomainError('CONFLICT', `The offer is ${status} and can no longer be cancelled.`, { status });
  }
}

function invalid(field: string, message: string): DomainError {
  return new DomainError('VALIDATION_FAILED', message, { field });
}
