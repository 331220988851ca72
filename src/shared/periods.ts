import { DomainError } from './domain-error';

/**
 * A lease's billing periods (docs/DESIGN.md, Settlement): `periodSeconds` long from its start, the
 * last cut at its end. Shared by settlement, token counts and SLO evidence, which all name a period.
 */

export interface Period {
  index: number;
  startsAt: Date;
  endsAt: Date;
}

/** Every billing period of the lease, in order; the last ends at the lease's end. */
export function periodsOf(lease: { startedAt: Date; endAt: Date; periodSeconds: number }): Period[] {
  const start = lease.startedAt.getTime();
  const end = lease.endAt.getTime();
  const length = lease.periodSeconds * 1000;
  const periods: Period[] = [];
  for (let index = 0, from = start; from < end; index += 1, from += length) {
    periods.push({ index, startsAt: new Date(from), endsAt: new Date(Math.min(from + length, end)) });
  }
  return periods;
}

/** A lease as `periodStartingAt` reads it: not started while `startedAt` or `endAt` is null. */
export interface LeaseTiming {
  status: string;
  periodSeconds: number;
  startedAt: Date | null;
  endAt: Date | null;
}

/**
 * The lease's period that starts at `periodStart`, for a route that names a period by its start.
 * 409 LEASE_NOT_STARTED (with `notStarted` as the message, each route saying what is missing) for
 * a lease that has not started; 400 (`details.field: "periodStart"`) for an instant that starts
 * none of its periods.
 */
export function periodStartingAt(lease: LeaseTiming, periodStart: Date, notStarted: string): Period {
  if (lease.startedAt === null || lease.endAt === null) {
    throw new DomainError('CONFLICT', notStarted, { reason: 'LEASE_NOT_STARTED', status: lease.status });
  }
  const period = periodsOf({
    startedAt: lease.startedAt,
    endAt: lease.endAt,
    periodSeconds: lease.periodSeconds,
  }).find((p) => p.startsAt.getTime() === periodStart.getTime());
  if (period === undefined) {
    throw new DomainError(
      'VALIDATION_FAILED',
      "periodStart is not the start of one of the lease's billing periods.",
      {
        field: 'periodStart',
      },
    );
  }
  return period;
}
