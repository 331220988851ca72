import { DomainError } from '@/shared/domain-error';
import {
  assertBidCancelledAlready,
  MAX_BID_LIFETIME_DAYS,
  normaliseBidShape,
  validateBidExpiry,
} from './bid-rules';

const NOW = new Date('2027-03-01T08:00:00Z');
const DAY = 24 * 3_600_000;

function caught(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
}

describe('normaliseBidShape', () => {
  it('defaults to one GPU per site and anywhere', () => {
    expect(normaliseBidShape({ gpus: 8 })).toEqual({ minGpusPerSite: 1, provinces: [] });
  });

  it('keeps minGpusPerSite up to gpus and refuses more', () => {
    expect(normaliseBidShape({ gpus: 8, minGpusPerSite: 8 }).minGpusPerSite).toBe(8);
    const error = caught(() => normaliseBidShape({ gpus: 8, minGpusPerSite: 9 }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details).toEqual({ field: 'minGpusPerSite' });
  });

  it('sorts provinces without touching the input', () => {
    const provinces = ['520000', '150000', '440000'];
    expect(normaliseBidShape({ gpus: 1, provinces }).provinces).toEqual(['150000', '440000', '520000']);
    expect(provinces).toEqual(['520000', '150000', '440000']);
  });
});

describe('validateBidExpiry', () => {
  it('accepts an expiry in the future up to the maximum lifetime', () => {
    expect(() => validateBidExpiry(new Date(NOW.getTime() + 1), NOW)).not.toThrow();
    expect(() => validateBidExpiry(new Date(NOW.getTime() + MAX_BID_LIFETIME_DAYS * DAY), NOW)).not.toThrow();
  });

  it('refuses now, the past and beyond the maximum lifetime', () => {
    expect(caught(() => validateBidExpiry(NOW, NOW)).message).toBe('expiresAt must be in the future.');
    expect(caught(() => validateBidExpiry(new Date(NOW.getTime() - DAY), NOW)).details).toEqual({
      field: 'expiresAt',
    });
    const late = caught(() =>
      validateBidExpiry(new Date(NOW.getTime() + MAX_BID_LIFETIME_DAYS * DAY + 1), NOW),
    );
    expect(late.message).toBe(`expiresAt must be at most ${MAX_BID_LIFETIME_DAYS} days from now.`);
  });
});

describe('assertBidCancelledAlready', () => {
  it('lets a cancelled bid through and refuses filled or expired ones with 409', () => {
    expect(() => assertBidCancelledAlready('CANCELLED')).not.toThrow();
    for (const status of ['FILLED', 'EXPIRED'] as const) {
      const error = caught(() => assertBidCancelledAlready(status));
      expect(error.code).toBe('CONFLICT');
      expect(error.details).toEqual({ status });
    }
  });
});
