import type { OrderStatus } from '@/generated/prisma/enums';
import { DomainError } from '@/shared/domain-error';

/** Bids that can still fill; FILLED, CANCELLED and EXPIRED are terminal. */
export { LIVE_BID_STATUSES } from '@/modules/markets/domain/order-terms';

/** How far ahead a bid may expire. */
export const MAX_BID_LIFETIME_DAYS = 30;

/** Provinces a bid may list: the 31 mainland provincial-level divisions the exchange knows. */
export const MAX_BID_PROVINCES = 31;

const DAY_MS = 24 * 3_600_000;

export interface BidShape {
  gpus: number;
  minGpusPerSite?: number;
  provinces?: readonly string[];
}

export interface NormalisedBidShape {
  minGpusPerSite: number;
  provinces: string[];
}

/**
 * Fills in the documented defaults: `minGpusPerSite` 1 (any split across sites), `provinces`
 * empty (anywhere), sorted so equal sets are stored equally.
 */
export function normaliseBidShape(shape: BidShape): NormalisedBidShape {
  const minGpusPerSite = shape.minGpusPerSite ?? 1;
  if (minGpusPerSite > shape.gpus) {
    throw new DomainError('VALIDATION_FAILED', `minGpusPerSite must be between 1 and gpus (${shape.gpus}).`, {
      field: 'minGpusPerSite',
    });
  }
  return { minGpusPerSite, provinces: [...(shape.provinces ?? [])].sort() };
}

/** A bid expires in the future and within MAX_BID_LIFETIME_DAYS. */
export function validateBidExpiry(expiresAt: Date, now: Date): void {
  if (expiresAt.getTime() <= now.getTime()) {
    throw new DomainError('VALIDATION_FAILED', 'expiresAt must be in the future.', { field: 'expiresAt' });
  }
  if (expiresAt.getTime() > now.getTime() + MAX_BID_LIFETIME_DAYS * DAY_MS) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `expiresAt must be at most ${MAX_BID_LIFETIME_DAYS} days from now.`,
      {
        field: 'expiresAt',
      },
    );
  }
}

/**
 * What a cancel that found no live bid answers: the bid unchanged if already cancelled
 * (idempotent by state), a 409 for FILLED or EXPIRED.
 */
export function assertBidCancelledAlready(status: OrderStatus): void {
  if (status !== 'CANCELLED') {
    throw new DomainError('CONFLICT', `The bid is ${status} and can no longer be cancelled.`, { status });
  }
}
