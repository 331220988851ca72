import fc from 'fast-check';
import { periodsOf } from '@/shared/periods';
import { assertBalanced } from '@/modules/billing/ledger/domain/ledger-rules';
import {
  awaitsClose,
  chargePeriod,
  finalReleaseTransfer,
  leaseHold,
  manualCharge,
  periodTransfer,
  settlesAt,
  voidReleaseTransfer,
  type SettlingLease,
} from './settlement-rules';

const T0 = new Date('2026-12-01T08:00:00.000Z');
const HOUR = 3_600_000;
const base: SettlingLease = {
  id: 'l1',
  buyerOrganisationId: 'b',
  providerOrganisationId: 'p',
  currency: 'CNY',
  gpus: 2,
  pricePerGpuHour: 1000n,
  durationHours: 3,
  billingMode: 'RESERVED',
  feeBps: 300,
  payPerUseMinPercent: 30,
  periodSeconds: 3600,
  status: 'ENDED',
  terminationReason: null,
  startedAt: T0,
  endAt: new Date(T0.getTime() + 3 * HOUR),
};

describe('settlement rules', () => {
  it('cuts periods from the start, the last at the lease end', () => {
    expect(periodsOf(base).map((p) => [p.index, p.endsAt.getTime() - p.startsAt.getTime()])).toEqual([
      [0, HOUR],
      [1, HOUR],
      [2, HOUR],
    ]);
    const cut = { ...base, endAt: new Date(T0.getTime() + 2 * HOUR + 20 * 60_000) };
    expect(periodsOf(cut).map((p) => p.endsAt.getTime() - p.startsAt.getTime())).toEqual([
      HOUR,
      HOUR,
      20 * 60_000,
    ]);
  });

  it('settles reserved periods at their end and pay-per-use ones after the grace', () => {
    const [first] = periodsOf(base);
    expect(settlesAt(first!, 'RESERVED', 15 * 60_000)).toEqual(new Date(T0.getTime() + HOUR));
    expect(settlesAt(first!, 'PAY_PER_USE', 15 * 60_000)).toEqual(
      new Date(T0.getTime() + HOUR + 15 * 60_000),
    );
  });

  it("holds an open lease's last period cut short until the lease closes, since how it ends decides its charge", () => {
    // A provider's notice moved the end to 2 h 20: still ACTIVE until the lease sweep closes it.
    const noticed = {
      ...base,
      status: 'ACTIVE' as const,
      endAt: new Date(T0.getTime() + 2 * HOUR + 20 * 60_000),
    };
    expect(periodsOf(noticed).map((p) => awaitsClose(noticed, p))).toEqual([false, false, true]);
    // A full last period charges the same however the lease ends: it does not wait.
    const running = { ...base, status: 'ACTIVE' as const };
    expect(periodsOf(running).some((p) => awaitsClose(running, p))).toBe(false);
    // Closed: nothing waits.
    const closed = { ...noticed, status: 'TERMINATED' as const, terminationReason: 'PROVIDER_NOTICE' };
    expect(periodsOf(closed).some((p) => awaitsClose(closed, p))).toBe(false);
  });

  it('charges by the DESIGN formulas (worked examples)', () => {
    const [p0] = periodsOf(base);
    // Reserved: 2 GPUs x 3,600 s at 10.00/GPU-h = 20.00; fee 3% = 0.60.
    expect(chargePeriod(base, p0!, null)).toMatchObject({
      gpuSeconds: 7200n,
      cost: 2000n,
      fee: 60n,
      basis: 'RESERVED',
    });
    const ppu = { ...base, billingMode: 'PAY_PER_USE' as const };
    // Reported 3,600 GPU-s: 10.00; below the 30% minimum (2,160 GPU-s = 6.00) the minimum is paid.
    expect(chargePeriod(ppu, p0!, 3600n)).toMatchObject({ cost: 1000n, fee: 30n, basis: 'REPORTED' });
    expect(chargePeriod(ppu, p0!, 100n)).toMatchObject({ gpuSeconds: 2160n, cost: 600n, basis: 'MINIMUM' });
    expect(chargePeriod(ppu, p0!, null)).toMatchObject({ gpuSeconds: 2160n, cost: 600n, fee: 18n });
    expect(() => chargePeriod(ppu, p0!, 7201n)).toThrow(/above reserved/);
    // A price that does not divide: floor(777 x 1 / 3600) = 0 for one GPU-second.
    expect(chargePeriod({ ...ppu, pricePerGpuHour: 777n, payPerUseMinPercent: 0 }, p0!, 1n).cost).toBe(0n);
  });

  it('waives the minimum of the period a provider cut short, and charges reserved time elapsed', () => {
    const cut: SettlingLease = {
      ...base,
      status: 'TERMINATED',
      terminationReason: 'PROVIDER_REQUEST',
      endAt: new Date(T0.getTime() + 2 * HOUR + 20 * 60_000),
    };
    const last = periodsOf(cut)[2]!;
    expect(chargePeriod({ ...cut, billingMode: 'PAY_PER_USE' }, last, null)).toMatchObject({
      gpuSeconds: 0n,
      cost: 0n,
    });
    expect(chargePeriod(cut, last, null)).toMatchObject({ gpuSeconds: 2400n, basis: 'ELAPSED', cost: 666n });
    // An admin's end is settled as the provider's: elapsed time, no minimum.
    const byAdmin = { ...cut, terminationReason: 'ADMIN' };
    expect(chargePeriod(byAdmin, last, null)).toMatchObject({
      gpuSeconds: 2400n,
      basis: 'ELAPSED',
      cost: 666n,
    });
    expect(chargePeriod({ ...byAdmin, billingMode: 'PAY_PER_USE' }, last, null).gpuSeconds).toBe(0n);
    // A reclaim on idle windows is settled as the provider's end at notice (docs/LEASES.md "Idle
    // windows"): the period the end falls in is paid for the time elapsed, without its minimum.
    const reclaimed = { ...cut, terminationReason: 'RECLAIMED' };
    expect(chargePeriod(reclaimed, last, null)).toMatchObject({
      gpuSeconds: 2400n,
      basis: 'ELAPSED',
      cost: 666n,
    });
    expect(chargePeriod({ ...reclaimed, billingMode: 'PAY_PER_USE' }, last, null)).toMatchObject({
      gpuSeconds: 0n,
      basis: 'MINIMUM',
      cost: 0n,
      fee: 0n,
    });
    // Usage reported in the cut period is still charged, and the periods before it keep their minimum.
    expect(chargePeriod({ ...reclaimed, billingMode: 'PAY_PER_USE' }, last, 1200n)).toMatchObject({
      gpuSeconds: 1200n,
      basis: 'REPORTED',
    });
    const before = periodsOf(reclaimed)[1]!;
    expect(chargePeriod({ ...reclaimed, billingMode: 'PAY_PER_USE' }, before, null).gpuSeconds).toBe(2160n);
    // A buyer's early end keeps the minimum: only the provider's (or an admin's) cut waives it.
    const byBuyer = { ...cut, terminationReason: 'BUYER_REQUEST', billingMode: 'PAY_PER_USE' as const };
    expect(chargePeriod(byBuyer, last, null).gpuSeconds).toBe(720n);
    // Ended by the provider exactly on a boundary: the end is in a period that never starts, so
    // the full period before it keeps its minimum (30% of 2 GPUs x 3,600 s).
    const onBoundary = {
      ...cut,
      billingMode: 'PAY_PER_USE' as const,
      endAt: new Date(T0.getTime() + 2 * HOUR),
    };
    const full = periodsOf(onBoundary)[1]!;
    expect(chargePeriod(onBoundary, full, null)).toMatchObject({ gpuSeconds: 2160n, basis: 'MINIMUM' });
    expect(chargePeriod({ ...onBoundary, billingMode: 'RESERVED' }, full, null).basis).toBe('RESERVED');
  });

  // Any lease, any reports: money balances, the buyer pays exactly what the provider and the
  // platform receive, and the hold is used up exactly by periods plus the final release.
  it('conserves money over a whole lease (property)', () => {
    const lease = fc.record({
      gpus: fc.integer({ min: 1, max: 10_000 }),
      pricePerGpuHour: fc.bigInt({ min: 1n, max: 100_000_000n }),
      durationHours: fc.integer({ min: 1, max: 48 }),
      billingMode: fc.constantFrom('RESERVED' as const, 'PAY_PER_USE' as const),
      feeBps: fc.integer({ min: 0, max: 5000 }),
      payPerUseMinPercent: fc.integer({ min: 0, max: 100 }),
      cutAfterMs: fc.option(fc.integer({ min: 1, max: 48 * HOUR - 1 }), { nil: undefined }),
      usage: fc.array(fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }), {
        maxLength: 48,
      }),
    });
    fc.assert(
      fc.property(lease, (l) => {
        const cut = l.cutAfterMs !== undefined && l.cutAfterMs < l.durationHours * HOUR;
        const settling: SettlingLease = {
          ...base,
          ...l,
          status: cut ? 'TERMINATED' : 'ENDED',
          terminationReason: cut ? 'PROVIDER_REQUEST' : null,
          endAt: new Date(T0.getTime() + (cut ? l.cutAfterMs! : l.durationHours * HOUR)),
        };
        let paid = 0n;
        let received = 0n;
        for (const period of periodsOf(settling)) {
          const share = l.usage[period.index] ?? null;
          const reserved =
            (BigInt(l.gpus) * BigInt(period.endsAt.getTime() - period.startsAt.getTime())) / 1000n;
          const reported = share === null ? null : (reserved * BigInt(Math.floor(share * 1000))) / 1000n;
          const charge = chargePeriod(settling, period, reported);
          expect(charge.fee).toBeLessThanOrEqual(charge.cost);
          const transfer = periodTransfer(settling, charge);
          if (transfer) {
            assertBalanced(transfer);
            for (const entry of transfer.entries) {
              if (entry.account.kind === 'BUYER_HELD') paid -= entry.amount;
              else received += entry.amount;
            }
          }
        }
        expect(received).toBe(paid);
        const release = finalReleaseTransfer(settling, paid);
        const released = release?.entries.find((e) => e.account.kind === 'BUYER_AVAILABLE')?.amount ?? 0n;
        expect(paid + released).toBe(leaseHold(settling));
      }),
      { numRuns: 1000 },
    );
  });

  it('prices a period settled by hand like any other, within what the period reserved', () => {
    const [period] = periodsOf(base);
    // 2 GPUs x 1 h reserve 7,200 GPU-s; 3,600 at 10.00 = 10.00, fee 3% = 0.30.
    expect(manualCharge(base, period!, 3600n)).toMatchObject({ basis: 'MANUAL', cost: 1000n, fee: 30n });
    expect(manualCharge(base, period!, 0n)).toMatchObject({ cost: 0n, fee: 0n });
    expect(() => manualCharge(base, period!, 7201n)).toThrow(RangeError);
    expect(() => manualCharge(base, period!, -1n)).toThrow(RangeError);
  });

  it('voids by returning the rest of the hold under the final release key, once', () => {
    // Hold 2 x 3 h x 10.00 = 60.00; 10.00 settled: 50.00 back.
    const release = voidReleaseTransfer(base, 1000n, 'provider refunded');
    expect(release).toMatchObject({
      key: finalReleaseTransfer(base, 1000n)!.key,
      kind: 'CORRECTION',
      memo: 'settlement voided: provider refunded',
    });
    assertBalanced(release!);
    expect(release!.entries.map((e) => [e.account.kind, e.amount])).toEqual([
      ['BUYER_HELD', -5000n],
      ['BUYER_AVAILABLE', 5000n],
    ]);
    expect(voidReleaseTransfer(base, leaseHold(base), 'all settled')).toBeNull();
  });

  it('charges exactly beyond 2^53 and refuses, never rounds, beyond the ledger range', () => {
    // A price of 2^53 + 1 fen per GPU-hour: a double would round it to an even number.
    const lease: SettlingLease = { ...base, gpus: 1, pricePerGpuHour: 2n ** 53n + 1n, feeBps: 9999 };
    const [p0] = periodsOf(lease);
    const charge = chargePeriod(lease, p0!, null);
    expect(charge).toMatchObject({
      gpuSeconds: 3600n,
      cost: 9_007_199_254_740_993n,
      fee: 9_006_298_534_815_518n,
    });
    const transfer = periodTransfer(lease, charge)!;
    expect(transfer.entries.map((e) => e.amount)).toEqual([
      -9_007_199_254_740_993n,
      900_719_925_475n,
      9_006_298_534_815_518n,
    ]);
    expect(() => assertBalanced(transfer)).not.toThrow();
    // Pay-per-use, 3 GPUs, 10,799 GPU-seconds reported: floor((2^53 + 1) x 10,799 / 3,600), fee 2.5%.
    const used = chargePeriod({ ...lease, gpus: 3, billingMode: 'PAY_PER_USE', feeBps: 250 }, p0!, 10_799n);
    expect(used).toMatchObject({ cost: 27_019_095_764_429_995n, fee: 675_477_394_110_749n });
    // Beyond 2^63 - 1 a period cannot be posted: the transfer is refused whole.
    const huge = { ...lease, pricePerGpuHour: 2n ** 63n };
    expect(() => assertBalanced(periodTransfer(huge, chargePeriod(huge, p0!, null))!)).toThrow(
      /exceeds the ledger's range/,
    );
  });
});
