import { DateTime, IANAZone } from 'luxon';

import { WEEKDAYS, type IdleWindowsSpec } from './order-terms';

/**
 * An offer's recurring idle windows as instants (docs/LEASES.md "Idle windows"): weekly windows
 * in local time of an IANA zone, turned into UTC intervals that follow the zone's daylight-saving
 * changes. Pure; zone arithmetic through luxon. Here, below every module that reads a schedule
 * (matching, leases, stats, listings); what may be published is checked by providers'
 * `validateIdleWindows`.
 */

/** Half-open `[start, end)` in epoch ms. */
export interface Interval {
  readonly start: number;
  readonly end: number;
}

/** A lease on idle windows starts within this of its match, or not at all (docs/MATCHING.md rule 8). */
export const MAX_START_DELAY_MS = 14 * 24 * 3_600_000;

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Minutes after midnight of `HH:MM` (`24:00` only as an end), or null when malformed. */
export function minutesOf(time: string, isEnd: boolean): number | null {
  if (isEnd && time === '24:00') return 24 * 60;
  const match = TIME.exec(time);
  return match === null ? null : Number(match[1]) * 60 + Number(match[2]);
}

/** Length of one occurrence in minutes: 1..1440 (an end at or before the start is the next day's). */
export function lengthOf(start: number, end: number): number {
  return end > start ? end - start : end + 24 * 60 - start;
}

/** The zone's offset from UTC at `instant`, ms (local wall clock minus UTC). */
export function zoneOffset(timeZone: string, instant: number): number {
  return IANAZone.create(timeZone).offset(instant) * MINUTE_MS;
}

/** The date and time of `local` (a wall-clock time read as if it were UTC), in `zone`. */
function wallClock(zone: IANAZone, local: number): DateTime {
  return DateTime.fromMillis(local, { zone: 'UTC' }).setZone(zone, { keepLocalTime: true });
}

/** The earlier of a repeated wall-clock time's instants (luxon's own pick depends on today's offset). */
function firstOccurrence(time: DateTime): number {
  return Math.min(...time.getPossibleOffsets().map((candidate) => candidate.toMillis()));
}

/**
 * The instant of a local wall-clock time (`local`: that wall time read as if it were UTC). A
 * time the clocks skip (spring forward) moves forward by the gap; a time they repeat (fall back)
 * is its first occurrence, as Temporal's "compatible" disambiguation does. Windows use
 * clockReaches instead, which differs for skipped times.
 */
export function instantOfLocal(timeZone: string, local: number): number {
  return firstOccurrence(wallClock(IANAZone.create(timeZone), local));
}

/**
 * docs/LEASES.md "Idle windows": the first instant at which the zone's clock reads `local` or
 * later. A time the clocks repeat is its first occurrence; a time they skip is the jump itself.
 */
function clockReaches(zone: IANAZone, local: number, offsetAt: (instant: number) => number): number {
  // The same offset a day either side: no change near this time (the common, cheap case).
  const offset = offsetAt(local - DAY_MS);
  if (offsetAt(local + DAY_MS) === offset) return local - offset * MINUTE_MS;
  const time = wallClock(zone, local);
  const instant = firstOccurrence(time);
  const readsAt = (at: number): number => at + zone.offset(at) * MINUTE_MS;
  if (readsAt(instant) === local) return instant;
  // Skipped: luxon moved it forward by the gap, so the clocks jumped within the gap before it.
  let before = local - time.offset * MINUTE_MS;
  let after = instant;
  while (after - before > 1) {
    const middle = Math.floor((before + after) / 2);
    if (readsAt(middle) >= local) after = middle;
    else before = middle;
  }
  return after;
}

/** How far the interval cache reaches past the first instant asked for, by default. */
const CACHE_SPAN_MS = 62 * DAY_MS;

/**
 * An offer's published windows as UTC intervals, merged where they touch. Occurrences are
 * computed from local dates, so they follow the zone's daylight-saving changes. Computing is the
 * costly part (zone look-ups), so the intervals of `cacheSpanMs` (about two months) from the
 * first instant asked for are kept; a read outside them computes them again. A schedule read
 * once (a listing's next window) passes a shorter span.
 */
export class IdleSchedule {
  private cache: { from: number; to: number; intervals: Interval[] } | null = null;
  private readonly occurrences: ReadonlyArray<{ day: number; start: number; length: number }>;

  constructor(
    readonly spec: IdleWindowsSpec,
    private readonly cacheSpanMs: number = CACHE_SPAN_MS,
  ) {
    const occurrences: Array<{ day: number; start: number; length: number }> = [];
    for (const window of spec.windows) {
      const start = minutesOf(window.start, false) ?? 0;
      const end = minutesOf(window.end, true) ?? 0;
      for (const day of window.days) {
        occurrences.push({ day: WEEKDAYS.indexOf(day), start, length: lengthOf(start, end) });
      }
    }
    this.occurrences = occurrences;
  }

  get reclaimNoticeMs(): number {
    return this.spec.reclaimNoticeMinutes * MINUTE_MS;
  }

  /**
   * The merged intervals that meet `[from, to)`, ascending. An interval is exact inside
   * `[from, to)`; one that runs on past `to` may be cut somewhere after it.
   */
  intervals(from: number, to: number): Interval[] {
    const cache = this.cache;
    const covered = cache !== null && from >= cache.from && to <= cache.to;
    const intervals = covered
      ? cache.intervals
      : this.compute(from - DAY_MS, Math.max(to, from + this.cacheSpanMs));
    return intervals.filter((interval) => interval.end > from && interval.start < to);
  }

  /**
   * docs/MATCHING.md rule 8 on idle windows: the first instant `s` at or after `now` and before
   * `before` (and within MAX_START_DELAY_MS of `now`) that lies in a window where a lease of
   * `durationMs` fits whole, or, for an interruptible lease, merely lies in a window; null when
   * there is none.
   */
  leaseStart(now: number, durationMs: number, interruptible: boolean, before: number): number | null {
    const horizon = Math.min(before, now + MAX_START_DELAY_MS);
    if (horizon <= now) return null;
    for (const interval of this.intervals(now, horizon + durationMs)) {
      const start = Math.max(now, interval.start);
      if (start >= horizon) return null;
      if (interruptible || start + durationMs <= interval.end) return start;
    }
    return null;
  }

  /** Whether `instant` lies inside a window (free capacity counts only then, docs/STATS.md). */
  isOpenAt(instant: number): boolean {
    return this.intervals(instant, instant + 1).length > 0;
  }

  /**
   * The window (merged) that holds `instant`, or else the next one to open: windows recur weekly,
   * so one opens within a week. Its end is exact unless the windows cover the whole week.
   */
  windowAt(instant: number): Interval | null {
    return this.intervals(instant, instant + 8 * DAY_MS)[0] ?? null;
  }

  /** Milliseconds of `[from, to)` inside the windows. */
  coveredMs(from: number, to: number): number {
    let covered = 0;
    for (const interval of this.intervals(from, to)) {
      covered += Math.min(to, interval.end) - Math.max(from, interval.start);
    }
    return covered;
  }

  private compute(from: number, to: number): Interval[] {
    const zone = IANAZone.create(this.spec.timeZone);
    // Offsets are the costly look-ups; a daily window asks again, two days on, what it asked a day on.
    const offsets = new Map<number, number>();
    const offsetAt = (instant: number): number => {
      let offset = offsets.get(instant);
      if (offset === undefined) offsets.set(instant, (offset = zone.offset(instant)));
      return offset;
    };
    // Local dates from the day before `from` to the day after `to` catch every occurrence that
    // meets the range, whatever the zone's offset and an occurrence that crosses midnight.
    const first = DateTime.fromMillis(from, { zone }).minus({ days: 1 });
    const last = DateTime.fromMillis(to, { zone }).plus({ days: 1 });
    // Each date's midnight read as UTC, stepping whole days: wall-clock arithmetic without the zone.
    const lastMidnight = Date.UTC(last.year, last.month - 1, last.day);
    const raw: Interval[] = [];
    // luxon's weekday: 1 is Monday.
    let weekday = first.weekday - 1;
    for (
      let midnight = Date.UTC(first.year, first.month - 1, first.day);
      midnight <= lastMidnight;
      midnight += DAY_MS, weekday = (weekday + 1) % 7
    ) {
      for (const occurrence of this.occurrences) {
        if (occurrence.day !== weekday) continue;
        const localStart = midnight + occurrence.start * MINUTE_MS;
        const start = clockReaches(zone, localStart, offsetAt);
        const end = clockReaches(zone, localStart + occurrence.length * MINUTE_MS, offsetAt);
        if (end > start) raw.push({ start, end });
      }
    }
    raw.sort((a, b) => a.start - b.start);
    const merged: Interval[] = [];
    for (const interval of raw) {
      const last = merged[merged.length - 1];
      if (last !== undefined && interval.start <= last.end) {
        merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, interval.end) };
      } else {
        merged.push(interval);
      }
    }
    // Exact inside [from + a day, to]: occurrences of the extra days are complete.
    this.cache = { from: from + DAY_MS, to, intervals: merged };
    return merged;
  }
}

/** When an offer's idle windows next open and, while one is open, when it closes (epoch ms). */
export interface WindowTimes {
  readonly nextOpensAt: number | null;
  readonly closesAt: number | null;
}

const NO_WINDOW_TIMES: WindowTimes = { nextOpensAt: null, closesAt: null };

/**
 * How far windowTimes looks: a window that does not cover the whole week closes within a week,
 * and the next opens within a week of that (a day's slack for daylight saving).
 */
const WINDOW_TIMES_HORIZON_MS = 15 * DAY_MS;

/**
 * docs/LEASES.md "Idle windows": an offer's windows cut to its availability `[availableFrom,
 * availableUntil)`. When `now` lies in one, `closesAt` is where that stretch ends (at
 * `availableUntil` if sooner, or if the windows cover the whole week); `nextOpensAt` is the
 * start of the first stretch after `now` and after the one open now, null when none opens before
 * `availableUntil`. An offer without idle windows has neither: it is always available.
 */
export function windowTimes(
  spec: IdleWindowsSpec | null,
  now: number,
  availableFrom: number,
  availableUntil: number,
): WindowTimes {
  const from = Math.max(now, availableFrom);
  if (spec === null || from >= availableUntil) return NO_WINDOW_TIMES;
  const to = Math.min(availableUntil, from + WINDOW_TIMES_HORIZON_MS);
  // Intervals meet [from, to) and are exact inside it; one reaching `to` runs to availableUntil
  // (when `to` is the horizon, only a window covering the whole week reaches it from `now`).
  const stretches = new IdleSchedule(spec, 0).intervals(from, to).map((interval) => ({
    start: Math.max(interval.start, availableFrom),
    end: interval.end >= to ? availableUntil : interval.end,
  }));
  const open = stretches[0] !== undefined && stretches[0].start <= now ? stretches[0] : null;
  const next = stretches.find((stretch) => stretch.start > now);
  return { nextOpensAt: next?.start ?? null, closesAt: open?.end ?? null };
}

/** One offer's part in combinedWindowTimes. */
export interface OfferWindowTimes {
  /** Whether the offer has idle windows. */
  readonly windowed: boolean;
  readonly times: WindowTimes;
  readonly availableUntil: number;
}

/**
 * docs/LEASES.md "Idle windows" (quotes and the book): several offers' window times as one supply line
 * or ask level shows them. `nextOpensAt` is the earliest of their next openings; `closesAt` the
 * latest close among those available now, an offer without idle windows counting as open until
 * its `availableUntil`. When none of them has idle windows, neither: the supply is always
 * available, as an offer without idle windows shows it.
 */
export function combinedWindowTimes(offers: readonly OfferWindowTimes[]): WindowTimes {
  if (!offers.some((offer) => offer.windowed)) return NO_WINDOW_TIMES;
  let nextOpensAt: number | null = null;
  let closesAt: number | null = null;
  for (const { windowed, times, availableUntil } of offers) {
    const next = times.nextOpensAt;
    if (next !== null && (nextOpensAt === null || next < nextOpensAt)) nextOpensAt = next;
    const close = windowed ? times.closesAt : availableUntil;
    if (close !== null && (closesAt === null || close > closesAt)) closesAt = close;
  }
  return { nextOpensAt, closesAt };
}
