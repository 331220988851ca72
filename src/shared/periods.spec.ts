import { DomainError } from './domain-error';
import { periodStartingAt, periodsOf } from './periods';

const HOUR = 3_600_000;
const start = new Date('2026-03-01T00:00:00.000Z');
const at = (ms: number): Date => new Date(start.getTime() + ms);
const lease = { status: 'ACTIVE', periodSeconds: 3600, startedAt: start, endAt: at(2 * HOUR + HOUR / 2) };
const NOT_STARTED = 'The lease has not started; nothing to see.';

const refusal = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return { status: error.status, code: error.code, message: error.message, details: error.details };
  }
  return 'no error';
};

describe('periodsOf', () => {
  it('cuts the lease into periods from its start, the last at its end', () => {
    expect(periodsOf({ startedAt: start, endAt: lease.endAt, periodSeconds: 3600 })).toEqual([
      { index: 0, startsAt: start, endsAt: at(HOUR) },
      { index: 1, startsAt: at(HOUR), endsAt: at(2 * HOUR) },
      { index: 2, startsAt: at(2 * HOUR), endsAt: lease.endAt },
    ]);
  });
});

describe('periodStartingAt', () => {
  it('finds the period that starts at the instant, the cut last one too', () => {
    expect(periodStartingAt(lease, at(HOUR), NOT_STARTED)).toEqual({
      index: 1,
      startsAt: at(HOUR),
      endsAt: at(2 * HOUR),
    });
    expect(periodStartingAt(lease, at(2 * HOUR), NOT_STARTED).endsAt).toEqual(lease.endAt);
  });

  it('refuses an instant that starts none of its periods with a 400 on periodStart', () => {
    for (const instant of [at(HOUR + 1), at(-HOUR), at(3 * HOUR)]) {
      expect(refusal(() => periodStartingAt(lease, instant, NOT_STARTED))).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
        message: "periodStart is not the start of one of the lease's billing periods.",
        details: { field: 'periodStart' },
      });
    }
  });

  it('refuses a lease that has not started with a 409 LEASE_NOT_STARTED and the caller’s message', () => {
    const scheduled = { ...lease, status: 'SCHEDULED', startedAt: null, endAt: null };
    expect(refusal(() => periodStartingAt(scheduled, start, NOT_STARTED))).toEqual({
      status: 409,
      code: 'CONFLICT',
      message: NOT_STARTED,
      details: { reason: 'LEASE_NOT_STARTED', status: 'SCHEDULED' },
    });
  });
});
