import {
  currentPeriodEnd,
  earlyEndPenalty,
  leaseEndsAt,
  terminationOutcome,
  type LeaseClock,
} from './lease-rules';

const T0 = new Date('2026-12-01T08:00:00.000Z');
const at = (minutes: number): Date => new Date(T0.getTime() + minutes * 60_000);
const active: LeaseClock = { status: 'ACTIVE', startedAt: T0, endsAt: at(6 * 60), periodSeconds: 3600 };

describe('lease rules', () => {
  it('ends an ACTIVE lease its duration after the handover', () => {
    expect(leaseEndsAt(T0, 6)).toEqual(at(360));
  });

  it('finds the end of the period a moment falls in', () => {
    expect(currentPeriodEnd(T0, 3600, at(0))).toEqual(at(60));
    expect(currentPeriodEnd(T0, 3600, at(59))).toEqual(at(60));
    // On a boundary the next period has begun.
    expect(currentPeriodEnd(T0, 3600, at(60))).toEqual(at(120));
    expect(currentPeriodEnd(T0, 900, at(20))).toEqual(at(30));
  });

  it('lets either side terminate before the handover, refunding in full', () => {
    const scheduled: LeaseClock = { status: 'SCHEDULED', startedAt: null, endsAt: null, periodSeconds: 3600 };
    expect(terminationOutcome(scheduled, 'BUYER', at(5))).toEqual({
      kind: 'terminate',
      reason: 'BUYER_REQUEST',
      refundInFull: true,
    });
    expect(terminationOutcome(scheduled, 'PROVIDER', at(5))).toEqual({
      kind: 'terminate',
      reason: 'PROVIDER_REQUEST',
      refundInFull: true,
    });
  });

  it('ends a buyer-terminated ACTIVE lease at the end of its current period', () => {
    expect(terminationOutcome(active, 'BUYER', at(90))).toEqual({ kind: 'shorten', endsAt: at(120) });
    // In the last period there is nothing to shorten.
    expect(terminationOutcome(active, 'BUYER', at(5 * 60 + 10))).toEqual({ kind: 'unchanged' });
    // Asking twice changes nothing more.
    const shortened = { ...active, endsAt: at(120) };
    expect(terminationOutcome(shortened, 'BUYER', at(100))).toEqual({ kind: 'unchanged' });
  });

  it("moves a provider's end to now + the offer's notice, never later than the lease's own end", () => {
    const notice = { mode: 'NOTICE' as const, noticeHours: 2, gpus: 4 };
    expect(terminationOutcome(active, 'PROVIDER', at(90), notice)).toEqual({
      kind: 'notice',
      endsAt: at(210),
    });
    // Within the notice of its end, the lease ends as it would have: nothing to record.
    expect(terminationOutcome(active, 'PROVIDER', at(4 * 60), notice)).toEqual({ kind: 'unchanged' });
    // Notice given twice: the second moves nothing.
    expect(terminationOutcome({ ...active, endsAt: at(210) }, 'PROVIDER', at(100), notice)).toEqual({
      kind: 'unchanged',
    });
  });

  it('stops a provider-terminated ACTIVE lease now with the skipped notice as a penalty, capped by the time left', () => {
    const now = { mode: 'IMMEDIATE' as const, noticeHours: 2, gpus: 4 };
    expect(terminationOutcome(active, 'PROVIDER', at(90), now)).toEqual({
      kind: 'terminate',
      reason: 'PROVIDER_REQUEST',
      refundInFull: false,
      penaltyGpuSeconds: 4n * 7200n,
    });
    // 30 minutes left: the penalty is those 30 minutes, not the whole notice.
    expect(terminationOutcome(active, 'PROVIDER', at(330), now)).toMatchObject({
      penaltyGpuSeconds: 4n * 1800n,
    });
    // Ending now during a notice already given costs only the notice left.
    expect(terminationOutcome({ ...active, endsAt: at(210) }, 'PROVIDER', at(150), now)).toMatchObject({
      penaltyGpuSeconds: 4n * 3600n,
    });
    expect(earlyEndPenalty(1820n, 4n * 7200n)).toBe(14_560n);
    expect(earlyEndPenalty(333n, 7n)).toBe(0n);
  });

  it('lets an admin end a lease now, settled as the provider’s end (ADMIN)', () => {
    const scheduled: LeaseClock = { status: 'SCHEDULED', startedAt: null, endsAt: null, periodSeconds: 3600 };
    expect(terminationOutcome(scheduled, 'ADMIN', at(5))).toEqual({
      kind: 'terminate',
      reason: 'ADMIN',
      refundInFull: true,
    });
    expect(terminationOutcome(active, 'ADMIN', at(90))).toEqual({
      kind: 'terminate',
      reason: 'ADMIN',
      refundInFull: false,
    });
    expect(terminationOutcome({ ...active, status: 'ENDED' }, 'ADMIN', at(1))).toEqual({ kind: 'unchanged' });
  });

  // The lease sweep closes a lease some time after its end; an end asked for in between changes
  // nothing, or the lease would end past its hold and fail settlement (NEEDS_ATTENTION).
  it('leaves an ACTIVE lease past its end as it is, whoever ends it and however', () => {
    const past = at(6 * 60 + 5);
    const commitment = { noticeHours: 2, gpus: 4 };
    expect(terminationOutcome(active, 'ADMIN', past)).toEqual({ kind: 'unchanged' });
    expect(terminationOutcome(active, 'PROVIDER', past, { ...commitment, mode: 'IMMEDIATE' })).toEqual({
      kind: 'unchanged',
    });
    expect(terminationOutcome(active, 'PROVIDER', past, { ...commitment, mode: 'NOTICE' })).toEqual({
      kind: 'unchanged',
    });
    expect(terminationOutcome(active, 'BUYER', past)).toEqual({ kind: 'unchanged' });
    // At its end to the millisecond it has ended too.
    expect(terminationOutcome(active, 'ADMIN', at(6 * 60))).toEqual({ kind: 'unchanged' });
  });

  it('leaves ended and terminated leases as they are', () => {
    expect(terminationOutcome({ ...active, status: 'ENDED' }, 'BUYER', at(1))).toEqual({ kind: 'unchanged' });
    expect(terminationOutcome({ ...active, status: 'TERMINATED' }, 'PROVIDER', at(1))).toEqual({
      kind: 'unchanged',
    });
  });
});

describe('reclaiming a lease on idle windows (docs/LEASES.md "Idle windows")', () => {
  const reclaim = { mode: 'RECLAIM' as const, noticeHours: 24, gpus: 4, reclaimNoticeMinutes: 60 };
  const reclaimable: LeaseClock = { ...active, reclaimable: true, startsAt: T0 };

  it('ends a reclaimable ACTIVE lease at the reclaim notice, with no penalty', () => {
    expect(terminationOutcome(reclaimable, 'PROVIDER', at(30), reclaim)).toEqual({
      kind: 'reclaim',
      endsAt: at(90),
    });
    // Its own end comes first: nothing changes.
    expect(terminationOutcome(reclaimable, 'PROVIDER', at(330), reclaim)).toEqual({ kind: 'unchanged' });
  });

  it('refuses to reclaim a lease that is not reclaimable, or an offer without idle windows', () => {
    expect(terminationOutcome(active, 'PROVIDER', at(30), reclaim).kind).toBe('refused');
    expect(
      terminationOutcome(reclaimable, 'PROVIDER', at(30), { ...reclaim, reclaimNoticeMinutes: null }).kind,
    ).toBe('refused');
  });

  it('ends a SCHEDULED lease at once, refunded, only when its window opens at least the notice away', () => {
    const waiting: LeaseClock = {
      status: 'SCHEDULED',
      startedAt: null,
      endsAt: null,
      periodSeconds: 3600,
      reclaimable: true,
      startsAt: at(120),
    };
    expect(terminationOutcome(waiting, 'PROVIDER', at(60), reclaim)).toEqual({
      kind: 'terminate',
      reason: 'RECLAIMED',
      refundInFull: true,
    });
    expect(terminationOutcome(waiting, 'PROVIDER', at(61), reclaim).kind).toBe('refused');
  });

  it('leaves ended leases alone', () => {
    expect(terminationOutcome({ ...reclaimable, status: 'ENDED' }, 'PROVIDER', at(30), reclaim)).toEqual({
      kind: 'unchanged',
    });
  });
});
