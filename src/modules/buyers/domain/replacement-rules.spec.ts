import { replacementExpiry, replacementRefusal, replaces, type PlanUse } from './replacement-rules';

const plan: PlanUse = { maxCount: 2, budget: 10_000n, usedCount: 0, usedBudget: 0n, stoppedAt: null };
const reason = (p: PlanUse | undefined, hold: bigint): string | null =>
  (replacementRefusal(p, hold)?.details?.reason as string | undefined) ?? null;

describe('automatic re-placement (docs/LEASES.md "Re-placing a bid automatically")', () => {
  it('re-places after every end but the buyer’s own', () => {
    expect(replaces({ terminationReason: null, buyerEnded: false })).toBe(true);
    for (const r of ['PROVIDER_REQUEST', 'PROVIDER_NOTICE', 'PROVIDER_FAILURE', 'ADMIN', 'RECLAIMED']) {
      expect(replaces({ terminationReason: r, buyerEnded: false })).toBe(true);
    }
    expect(replaces({ terminationReason: 'BUYER_REQUEST', buyerEnded: true })).toBe(false);
    expect(replaces({ terminationReason: null, buyerEnded: true })).toBe(false);
  });

  it('keeps within the count and the budget, a hold that reaches the budget exactly included', () => {
    expect(reason(plan, 10_000n)).toBeNull();
    expect(reason(plan, 10_001n)).toBe('REPLACEMENT_LIMIT');
    expect(reason({ ...plan, usedCount: 1, usedBudget: 6_000n }, 4_000n)).toBeNull();
    expect(reason({ ...plan, usedCount: 1, usedBudget: 6_000n }, 4_001n)).toBe('REPLACEMENT_LIMIT');
    expect(reason({ ...plan, usedCount: 2, usedBudget: 2n }, 1n)).toBe('REPLACEMENT_LIMIT');
    expect(reason({ ...plan, stoppedAt: new Date() }, 1n)).toBe('REPLACEMENT_LIMIT');
    expect(reason(undefined, 1n)).toBe('REPLACEMENT_LIMIT');
  });

  it('lives as long as the bid it repeats, within a minute and 30 days', () => {
    const now = new Date('2027-01-04T00:00:00Z');
    const bid = (ms: number) => ({ createdAt: new Date(0), expiresAt: new Date(ms) });
    expect(replacementExpiry(bid(3_600_000), now)).toEqual(new Date(now.getTime() + 3_600_000));
    expect(replacementExpiry(bid(10), now)).toEqual(new Date(now.getTime() + 60_000));
    expect(replacementExpiry(bid(90 * 86_400_000), now)).toEqual(new Date(now.getTime() + 30 * 86_400_000));
  });
});
