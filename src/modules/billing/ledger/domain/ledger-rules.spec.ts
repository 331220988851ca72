import fc from 'fast-check';
import {
  assertBalanced,
  bidHoldAmount,
  bidHoldTransfer,
  bidReleaseTransfer,
  LedgerRuleError,
  leaseHoldAmounts,
  leaseHoldTransfer,
  MAX_LEDGER_AMOUNT,
  topUpTransfer,
  type TransferDraft,
} from './ledger-rules';

const ORG = '00000000-0000-7000-8000-000000000001';
const sum = (t: TransferDraft): bigint => t.entries.reduce((total, e) => total + e.amount, 0n);
const on = (t: TransferDraft, kind: string): bigint =>
  t.entries.filter((e) => e.account.kind === kind).reduce((total, e) => total + e.amount, 0n);

describe('ledger rules', () => {
  it('holds max price x GPUs x hours, exactly, at the largest order the edge accepts', () => {
    expect(bidHoldAmount(2000n, 8, 3)).toBe(48_000n);
    // 1,000,000.00 per GPU-hour x 10,000 GPUs x 720 h: beyond 2^53, still exact.
    expect(bidHoldAmount(100_000_000n, 10_000, 720)).toBe(720_000_000_000_000n);
    expect(bidHoldAmount(100_000_000n, 10_000, 720) * 13n).toBe(9_360_000_000_000_000n);
    expect(() => bidHoldAmount(0n, 1, 1)).toThrow(LedgerRuleError);
    expect(() => bidHoldAmount(1n, 0, 1)).toThrow(LedgerRuleError);
    expect(() => bidHoldAmount(1n, 1, 1.5)).toThrow(LedgerRuleError);
  });

  it('refuses amounts beyond the ledger column rather than rounding them', () => {
    expect(() => bidHoldAmount(MAX_LEDGER_AMOUNT, 2, 1)).toThrow(/exceeds the ledger's range/);
    const edge = topUpTransfer({
      topUpId: 't',
      organisationId: ORG,
      amount: MAX_LEDGER_AMOUNT,
      currency: 'CNY',
    });
    expect(on(edge, 'BUYER_AVAILABLE')).toBe(MAX_LEDGER_AMOUNT);
    expect(() =>
      topUpTransfer({ topUpId: 't', organisationId: ORG, amount: MAX_LEDGER_AMOUNT + 1n, currency: 'CNY' }),
    ).toThrow(LedgerRuleError);
  });

  it('refuses unbalanced, one-sided and empty transfers', () => {
    const base = { key: 'k', kind: 'CORRECTION' as const, currency: 'CNY', organisationId: ORG };
    const available = { organisationId: ORG, kind: 'BUYER_AVAILABLE' as const };
    const held = { organisationId: ORG, kind: 'BUYER_HELD' as const };
    expect(() => assertBalanced({ ...base, entries: [] })).toThrow(/fewer than two/);
    expect(() => assertBalanced({ ...base, entries: [{ account: available, amount: 5n }] })).toThrow(
      /fewer than two/,
    );
    expect(() =>
      assertBalanced({
        ...base,
        entries: [
          { account: available, amount: 5n },
          { account: held, amount: -4n },
        ],
      }),
    ).toThrow(/sum to 1/);
    expect(() =>
      assertBalanced({
        ...base,
        entries: [
          { account: available, amount: 0n },
          { account: held, amount: 0n },
        ],
      }),
    ).toThrow(/moves nothing/);
  });

  it('keys each movement by the fact it records, so a repeat is the same transfer', () => {
    const hold = bidHoldTransfer({ bidId: 'b1', organisationId: ORG, amount: 10n, currency: 'CNY' });
    expect(hold.key).toBe('bid-hold:b1');
    const release = bidReleaseTransfer({
      bidId: 'b1',
      organisationId: ORG,
      currency: 'CNY',
      maxPricePerGpuHour: 5n,
      unfilledGpus: 2,
      durationHours: 1,
      reason: 'expired',
    });
    expect(release).toMatchObject({ key: 'bid-release:b1', memo: 'bid expired' });
    expect(
      bidReleaseTransfer({
        bidId: 'b1',
        organisationId: ORG,
        currency: 'CNY',
        maxPricePerGpuHour: 5n,
        unfilledGpus: 0,
        durationHours: 1,
        reason: 'cancelled',
      }),
    ).toBeNull();
  });

  it('moves nothing at match when the trade is at the cap, and refuses a trade above it', () => {
    const conversion = {
      leaseId: 'l1',
      bidId: 'b1',
      organisationId: ORG,
      currency: 'CNY',
      gpus: 4,
      durationHours: 3,
      bidMaxPricePerGpuHour: 2000n,
      tradePricePerGpuHour: 2000n,
    };
    expect(leaseHoldTransfer(conversion)).toBeNull();
    expect(() => leaseHoldTransfer({ ...conversion, tradePricePerGpuHour: 2001n })).toThrow(
      /above the bid's cap/,
    );
    // The worked example of docs/LEDGER.md.
    const at18 = leaseHoldTransfer({ ...conversion, tradePricePerGpuHour: 1800n });
    expect(at18 && on(at18, 'BUYER_AVAILABLE')).toBe(2400n);
    expect(leaseHoldAmounts({ ...conversion, tradePricePerGpuHour: 1800n })).toEqual({
      leaseHold: 21_600n,
      released: 2_400n,
    });
  });

  // Any bid, filled by any leases at prices up to its cap and then cancelled or expired: the
  // hold comes back exactly, as the leases' holds plus everything released, and every
  // transfer balances.
  it('returns a bid hold exactly: lease holds + released = hold, for any fills (property)', () => {
    const bid = fc.record({
      cap: fc.bigInt({ min: 1n, max: 100_000_000n }),
      gpus: fc.integer({ min: 1, max: 10_000 }),
      hours: fc.integer({ min: 1, max: 720 }),
    });
    fc.assert(
      fc.property(
        bid.chain((b) =>
          fc.tuple(
            fc.constant(b),
            fc.array(fc.tuple(fc.integer({ min: 1, max: b.gpus }), fc.bigInt({ min: 1n, max: b.cap })), {
              maxLength: 20,
            }),
          ),
        ),
        ([b, fills]) => {
          const hold = bidHoldTransfer({
            bidId: 'b',
            organisationId: ORG,
            amount: bidHoldAmount(b.cap, b.gpus, b.hours),
            currency: 'CNY',
          });
          let held = on(hold, 'BUYER_HELD');
          let leaseHolds = 0n;
          let filled = 0;
          for (const [i, [wanted, price]] of fills.entries()) {
            const gpus = Math.min(wanted, b.gpus - filled);
            if (gpus === 0) break;
            filled += gpus;
            const conversion = {
              leaseId: `l${i}`,
              bidId: 'b',
              organisationId: ORG,
              currency: 'CNY',
              gpus,
              durationHours: b.hours,
              bidMaxPricePerGpuHour: b.cap,
              tradePricePerGpuHour: price,
            };
            leaseHolds += leaseHoldAmounts(conversion).leaseHold;
            const transfer = leaseHoldTransfer(conversion);
            if (transfer) {
              expect(sum(transfer)).toBe(0n);
              held += on(transfer, 'BUYER_HELD');
            }
          }
          const release = bidReleaseTransfer({
            bidId: 'b',
            organisationId: ORG,
            currency: 'CNY',
            maxPricePerGpuHour: b.cap,
            unfilledGpus: b.gpus - filled,
            durationHours: b.hours,
            reason: 'cancelled',
          });
          if (release) held += on(release, 'BUYER_HELD');
          expect(sum(hold)).toBe(0n);
          expect(held).toBe(leaseHolds);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
