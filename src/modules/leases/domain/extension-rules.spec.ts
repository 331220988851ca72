import { DomainError } from '@/shared/domain-error';
import { extensionTerms, type ExtendableLease, type ExtensionSupply } from './extension-rules';

const HOUR = 3_600_000;
const T0 = new Date('2027-01-04T00:00:00Z');
const at = (hours: number): Date => new Date(T0.getTime() + hours * HOUR);

const lease: ExtendableLease = {
  status: 'ACTIVE',
  startedAt: T0,
  endsAt: at(4),
  durationHours: 4,
  noticeGivenAt: null,
  pricePerGpuHour: 1_820n,
  gpus: 2,
  settlementState: 'OPEN',
};
const supply: ExtensionSupply = {
  status: 'FILLED',
  pricePerGpuHour: 1_820n,
  availableUntil: at(48),
  providerStatus: 'VERIFIED',
  marketStatus: 'ACTIVE',
  currencyScale: 2,
  idleWindows: null,
};

/** The refusal's reason (409) or code, or 'ok'. */
function verdict(
  l: Partial<ExtendableLease>,
  s: Partial<ExtensionSupply>,
  hours: number,
  now = at(1),
): string {
  try {
    extensionTerms({ ...lease, ...l }, { ...supply, ...s }, hours, now);
    return 'ok';
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return (error.details?.reason as string | undefined) ?? error.code;
  }
}

describe('extensionTerms (docs/LEASES.md "Extending a lease")', () => {
  it('moves the end by whole hours at the lease’s price and holds price x GPUs x hours', () => {
    expect(extensionTerms(lease, supply, 3, at(1))).toEqual({
      previousEndsAt: at(4),
      endsAt: at(7),
      hours: 3,
      pricePerGpuHour: 1_820n,
      amount: 1_820n * 2n * 3n,
    });
  });

  it('sells below the ask never, at or above it always (the lease’s price, whatever the ask)', () => {
    expect(verdict({}, { pricePerGpuHour: 1_821n }, 1)).toBe('ASK_ABOVE_LEASE_PRICE');
    expect(verdict({}, { pricePerGpuHour: 1_820n }, 1)).toBe('ok');
    expect(extensionTerms(lease, { ...supply, pricePerGpuHour: 10n }, 1, at(1)).pricePerGpuHour).toBe(1_820n);
  });

  it('needs the offer live, its provider verified, the market open and the window to the new end', () => {
    expect(verdict({}, { status: 'CANCELLED' }, 1)).toBe('OFFER_CLOSED');
    expect(verdict({}, { status: 'EXPIRED' }, 1)).toBe('OFFER_CLOSED');
    expect(verdict({}, { providerStatus: 'SUSPENDED' }, 1)).toBe('OFFER_CLOSED');
    expect(verdict({}, { marketStatus: 'PAUSED' }, 1)).toBe('MARKET_PAUSED');
    expect(verdict({}, { availableUntil: at(6) }, 2)).toBe('ok');
    expect(verdict({}, { availableUntil: at(6) }, 3)).toBe('OUTSIDE_AVAILABILITY');
  });

  describe('on an offer with idle windows (nights 20:00-08:00 UTC, Monday to Thursday)', () => {
    // T0 is Monday 2027-01-04 00:00 UTC; the Monday night window runs 20:00 to Tuesday 08:00.
    const idleWindows = {
      timeZone: 'UTC',
      reclaimNoticeMinutes: 60,
      windows: [{ days: ['MON', 'TUE', 'WED', 'THU'] as const, start: '20:00', end: '08:00' }],
    };
    const night = { startedAt: at(20), endsAt: at(24), durationHours: 4 };

    it('adds hours up to the end of the window the lease ends in, and not one past it', () => {
      expect(verdict(night, { idleWindows }, 8, at(21))).toBe('ok');
      expect(verdict(night, { idleWindows }, 9, at(21))).toBe('OUTSIDE_IDLE_WINDOW');
    });

    it('says where the current window ends', () => {
      let details: Record<string, unknown> | undefined;
      try {
        extensionTerms({ ...lease, ...night }, { ...supply, idleWindows }, 20, at(21));
      } catch (error) {
        details = (error as DomainError).details;
      }
      expect(details).toEqual({
        reason: 'OUTSIDE_IDLE_WINDOW',
        windowEndsAt: at(32).toISOString(),
        endsAt: at(44).toISOString(),
      });
    });

    it('never reaches into the next window across a gap, nor extends a lease already past its window', () => {
      // Tuesday 08:00 to 20:00 is not for sale, though Tuesday night is.
      expect(verdict(night, { idleWindows, availableUntil: at(100) }, 32, at(21))).toBe(
        'OUTSIDE_IDLE_WINDOW',
      );
      // An interruptible lease that ran on past the window's end (Tuesday 10:00).
      expect(
        verdict({ startedAt: at(28), endsAt: at(34), durationHours: 6 }, { idleWindows }, 1, at(33)),
      ).toBe('OUTSIDE_IDLE_WINDOW');
    });
  });

  it('extends only an ACTIVE lease running to its term', () => {
    expect(verdict({ status: 'SCHEDULED', startedAt: null, endsAt: null }, {}, 1)).toBe('LEASE_NOT_ACTIVE');
    expect(verdict({ status: 'ENDED' }, {}, 1)).toBe('LEASE_NOT_ACTIVE');
    expect(verdict({}, {}, 1, at(4))).toBe('LEASE_NOT_ACTIVE');
    expect(verdict({ noticeGivenAt: at(1), endsAt: at(3) }, {}, 1)).toBe('TERMINATION_SCHEDULED');
    // The buyer's end moved it to the end of the period it is in.
    expect(verdict({ endsAt: at(2) }, {}, 1)).toBe('TERMINATION_SCHEDULED');
    expect(verdict({ settlementState: 'NEEDS_ATTENTION' }, {}, 1)).toBe('SETTLEMENT_HELD');
  });

  it('takes 1..720 whole hours, and 87,600 in all', () => {
    for (const hours of [0, -1, 721, 1.5, Number.NaN])
      expect(verdict({}, {}, hours)).toBe('VALIDATION_FAILED');
    expect(verdict({}, { availableUntil: at(100_000) }, 720)).toBe('ok');
    expect(verdict({ durationHours: 87_000, endsAt: at(87_000) }, { availableUntil: at(100_000) }, 600)).toBe(
      'ok',
    );
    expect(verdict({ durationHours: 87_000, endsAt: at(87_000) }, { availableUntil: at(100_000) }, 601)).toBe(
      'VALIDATION_FAILED',
    );
  });
});
