import { DomainError } from '@/shared/domain-error';
import {
  assertCancelledAlready,
  isLiveOffer,
  MAX_OFFER_HORIZON_DAYS,
  offerStatusFor,
  planAmendment,
  validateOfferWindow,
  type AmendableOffer,
} from './offer-rules';

const NOW = new Date('2027-03-01T08:00:00Z');
const HOUR = 3_600_000;
const at = (offsetMs: number): Date => new Date(NOW.getTime() + offsetMs);

function caught(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
}

describe('offerStatusFor', () => {
  it('follows free capacity both ways', () => {
    expect(offerStatusFor(8, 0)).toBe('OPEN');
    expect(offerStatusFor(8, 1)).toBe('PARTIALLY_FILLED');
    expect(offerStatusFor(8, 7)).toBe('PARTIALLY_FILLED');
    expect(offerStatusFor(8, 8)).toBe('FILLED');
    expect(offerStatusFor(1, 0)).toBe('OPEN');
  });
});

describe('isLiveOffer', () => {
  it('treats CANCELLED and EXPIRED as terminal and FILLED as live', () => {
    expect(isLiveOffer('OPEN')).toBe(true);
    expect(isLiveOffer('PARTIALLY_FILLED')).toBe(true);
    expect(isLiveOffer('FILLED')).toBe(true);
    expect(isLiveOffer('CANCELLED')).toBe(false);
    expect(isLiveOffer('EXPIRED')).toBe(false);
  });
});

describe('validateOfferWindow', () => {
  const valid = { availableFrom: at(0), availableUntil: at(24 * HOUR), minLeaseHours: 1 };

  it('accepts a window that starts now, in the past or in the future', () => {
    expect(() => validateOfferWindow(valid, NOW)).not.toThrow();
    expect(() => validateOfferWindow({ ...valid, availableFrom: at(-48 * HOUR) }, NOW)).not.toThrow();
    expect(() =>
      validateOfferWindow({ ...valid, availableFrom: at(24 * HOUR), availableUntil: at(48 * HOUR) }, NOW),
    ).not.toThrow();
  });

  it('refuses an end before or at the start', () => {
    const error = caught(() => validateOfferWindow({ ...valid, availableUntil: at(0) }, NOW));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details).toEqual({ field: 'availableUntil' });
    expect(error.message).toBe('availableUntil must be after availableFrom.');
    expect(() => validateOfferWindow({ ...valid, availableUntil: at(-HOUR) }, NOW)).toThrow(DomainError);
  });

  it('refuses a window that has already ended', () => {
    const error = caught(() =>
      validateOfferWindow(
        { availableFrom: at(-10 * HOUR), availableUntil: at(-HOUR), minLeaseHours: 1 },
        NOW,
      ),
    );
    expect(error.message).toBe('availableUntil must be in the future.');
  });

  it('refuses an end beyond the horizon, to the millisecond', () => {
    const horizon = MAX_OFFER_HORIZON_DAYS * 24 * HOUR;
    expect(() => validateOfferWindow({ ...valid, availableUntil: at(horizon) }, NOW)).not.toThrow();
    const error = caught(() => validateOfferWindow({ ...valid, availableUntil: at(horizon + 1) }, NOW));
    expect(error.message).toBe(`availableUntil must be at most ${MAX_OFFER_HORIZON_DAYS} days from now.`);
  });

  it('needs room for one minimum lease from the later of start and now', () => {
    expect(() => validateOfferWindow({ ...valid, minLeaseHours: 24 }, NOW)).not.toThrow();
    expect(() => validateOfferWindow({ ...valid, minLeaseHours: 25 }, NOW)).toThrow(/room for one lease/);
    // Started long ago: only the part from now on counts.
    const started = { availableFrom: at(-100 * HOUR), availableUntil: at(2 * HOUR), minLeaseHours: 3 };
    expect(() => validateOfferWindow(started, NOW)).toThrow(/room for one lease/);
    expect(() => validateOfferWindow({ ...started, minLeaseHours: 2 }, NOW)).not.toThrow();
  });
});

describe('planAmendment', () => {
  const offer: AmendableOffer = {
    status: 'PARTIALLY_FILLED',
    gpus: 8,
    leasedGpus: 3,
    pricePerGpuHour: 1820n,
    availableUntil: at(24 * HOUR),
  };

  it('reprices and takes a new seq', () => {
    expect(planAmendment(offer, { pricePerGpuHour: 1750n }, NOW)).toEqual({
      changed: true,
      gpus: 8,
      pricePerGpuHour: 1750n,
      status: 'PARTIALLY_FILLED',
      reassignSeq: true,
    });
  });

  it('lowers GPUs keeping its seq, down to the leased GPUs and no further', () => {
    expect(planAmendment(offer, { gpus: 5 }, NOW)).toMatchObject({
      changed: true,
      gpus: 5,
      reassignSeq: false,
    });
    expect(planAmendment(offer, { gpus: 3 }, NOW)).toMatchObject({ gpus: 3, status: 'FILLED' });
    const below = caught(() => planAmendment(offer, { gpus: 2 }, NOW));
    expect(below.code).toBe('CONFLICT');
    expect(below.details).toEqual({ field: 'gpus', leasedGpus: 3 });
  });

  it('refuses raising GPUs as a validation error', () => {
    const error = caught(() => planAmendment(offer, { gpus: 9 }, NOW));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details).toEqual({ field: 'gpus' });
  });

  it('reports no change when the request restates the offer', () => {
    expect(planAmendment(offer, { gpus: 8, pricePerGpuHour: 1820n }, NOW)).toMatchObject({
      changed: false,
      reassignSeq: false,
    });
  });

  it('derives the status from the new free capacity', () => {
    const open = { ...offer, status: 'OPEN' as const, leasedGpus: 0 };
    expect(planAmendment(open, { gpus: 1 }, NOW).status).toBe('OPEN');
    const filled = { ...offer, status: 'FILLED' as const, leasedGpus: 8 };
    expect(planAmendment(filled, { pricePerGpuHour: 1900n }, NOW).status).toBe('FILLED');
  });

  it('needs at least one field', () => {
    expect(caught(() => planAmendment(offer, {}, NOW)).code).toBe('VALIDATION_FAILED');
  });

  it('refuses terminal offers and offers whose window has ended with 409', () => {
    for (const status of ['CANCELLED', 'EXPIRED'] as const) {
      expect(caught(() => planAmendment({ ...offer, status }, { gpus: 5 }, NOW)).code).toBe('CONFLICT');
    }
    const ended = { ...offer, availableUntil: at(0) };
    expect(caught(() => planAmendment(ended, { gpus: 5 }, NOW)).message).toMatch(/window has ended/);
  });
});

describe('assertCancelledAlready', () => {
  it('lets an already cancelled offer through and refuses other terminal states', () => {
    expect(() => assertCancelledAlready('CANCELLED')).not.toThrow();
    const error = caught(() => assertCancelledAlready('EXPIRED'));
    expect(error.code).toBe('CONFLICT');
    expect(error.details).toEqual({ status: 'EXPIRED' });
  });
});
