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
