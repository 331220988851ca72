/** Statistics windows over hourly snapshot buckets (docs/STATS.md). Pure: no Nest, no I/O. */

export const HOUR_MS = 3_600_000;

export const STATS_WINDOWS = ['hour', 'day', 'week'] as const;
export type StatsWindow = (typeof STATS_WINDOWS)[number];

const WINDOW_HOURS: Record<StatsWindow, number> = { hour: 1, day: 24, week: 168 };

/** Start of the clock hour (UTC) containing `at`. */
export function floorHour(at: Date): Date {
  return new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);
}

/**
 * The complete hours a window covers at `now`: the last 1, 24 or 168 buckets that ended at or
 * before `now`. The hour in progress is never included, so a figure does not move while its
 * hour is still filling.
 */
export function windowRange(window: StatsWindow, now: Date): { from: Date; to: Date; hours: number } {
  const to = floorHour(now);
  const hours = WINDOW_HOURS[window];
  return { from: new Date(to.getTime() - hours * HOUR_MS), to, hours };
}
