import { committedSpend, crossedBelow, fitsSpendCap, spendPeriodOf } from './billing-limits';

describe('billing limits', () => {
  it('cuts the spend period at midnight Asia/Shanghai on the 1st (16:00 UTC the day before)', () => {
    expect(spendPeriodOf(new Date('2026-11-30T15:59:59.999Z'))).toEqual({
      startsAt: new Date('2026-10-31T16:00:00.000Z'),
      endsAt: new Date('2026-11-30T16:00:00.000Z'),
    });
    expect(spendPeriodOf(new Date('2026-11-30T16:00:00.000Z'))).toEqual({
      startsAt: new Date('2026-11-30T16:00:00.000Z'),
      endsAt: new Date('2026-12-31T16:00:00.000Z'),
    });
    // December rolls into January of the next year; February 2028 has 29 days.
    expect(spendPeriodOf(new Date('2027-01-01T03:00:00.000Z')).startsAt).toEqual(
      new Date('2026-12-31T16:00:00.000Z'),
    );
    expect(spendPeriodOf(new Date('2028-02-15T00:00:00.000Z')).endsAt).toEqual(
      new Date('2028-02-29T16:00:00.000Z'),
    );
  });

  it('lets a hold reach the cap exactly, never past it; no cap lets anything through', () => {
    const committed = committedSpend(30_000n, 20_000n);
    expect(committed).toBe(50_000n);
    expect(fitsSpendCap(100_000n, committed, 50_000n)).toBe(true);
    expect(fitsSpendCap(100_000n, committed, 50_001n)).toBe(false);
    expect(fitsSpendCap(null, committed, 10n ** 15n)).toBe(true);
  });

  it('tells a crossing from at-or-above to below, and nothing else', () => {
    expect(crossedBelow(1_000n, 1_000n, 999n)).toBe(true);
    expect(crossedBelow(1_000n, 5_000n, 0n)).toBe(true);
    expect(crossedBelow(1_000n, 999n, 500n)).toBe(false);
    expect(crossedBelow(1_000n, 5_000n, 1_000n)).toBe(false);
    expect(crossedBelow(1_000n, 500n, 5_000n)).toBe(false);
    expect(crossedBelow(null, 5_000n, 0n)).toBe(false);
  });
});
