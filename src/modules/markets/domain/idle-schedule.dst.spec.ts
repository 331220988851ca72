import fc from 'fast-check';
import { DateTime, IANAZone } from 'luxon';

import { validateIdleWindows } from '@/modules/providers/domain/idle-windows';
import { IdleSchedule, MAX_START_DELAY_MS, windowTimes } from './idle-schedule';
import { WEEKDAYS, type IdleWindowsSpec, type WeeklyWindow } from './order-terms';

/**
 * Idle windows across daylight-saving changes (docs/LEASES.md "Idle windows"): a window opens and
 * closes at the first instant the zone's clock reads its start or end. The oracle reads instants
 * as local times (the one unambiguous direction) and never converts local times back.
 */

const NUM_RUNS = Number(process.env.IDLE_WINDOW_PROPERTY_RUNS ?? 200);
const SEED = process.env.IDLE_WINDOW_PROPERTY_SEED;
const options = { numRuns: NUM_RUNS, ...(SEED === undefined ? {} : { seed: Number(SEED) }) };

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK_MINUTES = 7 * 24 * 60;
const at = (iso: string): number => Date.parse(iso);

const ZONES = ['America/New_York', 'Europe/Berlin', 'Australia/Sydney', 'Asia/Shanghai', 'UTC'] as const;
const YEARS_FROM = at('2026-01-01T00:00:00Z');
const YEARS_TO = at('2028-01-01T00:00:00Z');

const offsetOf = (zone: string, instant: number): number => IANAZone.create(zone).offset(instant) * MINUTE;

/** Instants where the zone's offset changes in 2026–2027, found by hourly steps then bisection. */
function transitionsOf(zone: string): number[] {
  const found: number[] = [];
  for (let t = YEARS_FROM; t < YEARS_TO; t += HOUR) {
    if (offsetOf(zone, t) === offsetOf(zone, t + HOUR)) continue;
    let before = t;
    let after = t + HOUR;
    while (after - before > 1) {
      const middle = Math.floor((before + after) / 2);
      if (offsetOf(zone, middle) === offsetOf(zone, t)) before = middle;
      else after = middle;
    }
    found.push(after);
  }
  return found;
}
const TRANSITIONS = new Map(ZONES.map((zone) => [zone, transitionsOf(zone)]));

/** Minutes into the week (Monday 00:00 is 0) that `instant` reads in `zone`, at `offset` if given. */
function weekMinute(zone: string, instant: number, offset = offsetOf(zone, instant)): number {
  const local = DateTime.fromMillis(instant + offset, { zone: 'UTC' });
  return (local.weekday - 1) * 24 * 60 + local.hour * 60 + local.minute + local.second / 60;
}

interface Occurrence {
  readonly from: number;
  readonly to: number;
}

/** The declared occurrences in week minutes (one crossing Sunday midnight is also listed a week early). */
function occurrencesOf(windows: readonly WeeklyWindow[]): Occurrence[] {
  const minutes = (time: string): number => Number(time.slice(0, 2)) * 60 + Number(time.slice(3));
  const occurrences: Occurrence[] = [];
  for (const window of windows) {
    const start = minutes(window.start);
    const end = minutes(window.end);
    const length = end > start ? end - start : end + 24 * 60 - start;
    for (const day of window.days) {
      const from = WEEKDAYS.indexOf(day) * 24 * 60 + start;
      occurrences.push({ from, to: from + length });
      occurrences.push({ from: from - WEEK_MINUTES, to: from + length - WEEK_MINUTES });
    }
  }
  return occurrences;
}

const declares = (occurrences: readonly Occurrence[], minute: number): boolean =>
  occurrences.some((o) => o.from <= minute && minute < o.to);

/** The offset the clock showed before it went back, when `instant` is in a repeated hour's second pass. */
function offsetBeforeFallBack(zone: string, instant: number): number | null {
  const now = offsetOf(zone, instant);
  const before = offsetOf(zone, instant - 2 * HOUR);
  if (before <= now) return null;
  return offsetOf(zone, instant - (before - now)) === before ? before : null;
}

const covered = (schedule: IdleSchedule, instant: number): boolean =>
  schedule.coveredMs(instant, instant + 1) === 1;

const TIMES_NEAR_CHANGES = fc
  .tuple(fc.integer({ min: 0, max: 4 }), fc.constantFrom(0, 15, 30, 45, 59))
  .map(([h, m]) => `0${h}:${String(m).padStart(2, '0')}`);
const ANY_TIME = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
  .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
const TIME = fc.oneof(TIMES_NEAR_CHANGES, ANY_TIME);

const WINDOW: fc.Arbitrary<WeeklyWindow> = fc.record({
  days: fc.subarray([...WEEKDAYS], { minLength: 1 }),
  start: TIME,
  end: fc.oneof(TIME, fc.constant('24:00')),
});

function publishable(spec: IdleWindowsSpec): boolean {
  try {
    validateIdleWindows(spec);
    return true;
  } catch {
    return false;
  }
}

const SPEC: fc.Arbitrary<IdleWindowsSpec> = fc
  .record({
    timeZone: fc.constantFrom(...ZONES),
    windows: fc.array(WINDOW, { minLength: 1, maxLength: 3 }),
    reclaimNoticeMinutes: fc.constant(30),
  })
  .filter(publishable);

/** A spec and an instant, most often within four days of one of the zone's changes. */
const CASE = SPEC.chain((spec) => {
  const transitions = TRANSITIONS.get(spec.timeZone as (typeof ZONES)[number]) ?? [];
  const anywhere = fc.integer({ min: YEARS_FROM, max: YEARS_TO - 30 * DAY });
  const near =
    transitions.length === 0
      ? anywhere
      : fc
          .tuple(fc.constantFrom(...transitions), fc.integer({ min: -4 * DAY, max: 4 * DAY }))
          .map(([transition, shift]) => transition + shift);
  return fc.tuple(fc.constant(spec), fc.oneof({ arbitrary: near, weight: 3 }, anywhere));
});

describe('idle windows across daylight-saving changes (docs/LEASES.md "Idle windows")', () => {
  it('transitions are found in zones with daylight saving, none in Shanghai or UTC', () => {
    expect(TRANSITIONS.get('Europe/Berlin')).toContain(at('2026-03-29T01:00:00Z'));
    expect(TRANSITIONS.get('America/New_York')).toContain(at('2026-11-01T06:00:00Z'));
    expect(TRANSITIONS.get('Australia/Sydney')).toContain(at('2026-10-03T16:00:00Z'));
    expect(TRANSITIONS.get('Asia/Shanghai')).toEqual([]);
    expect(TRANSITIONS.get('UTC')).toEqual([]);
  });

  it('an instant is in the schedule exactly when its local weekday and time are in a declared window', () => {
    fc.assert(
      fc.property(
        CASE,
        fc.array(fc.integer({ min: 0, max: 4 * DAY }), { maxLength: 30 }),
        ([spec, from], shifts) => {
          const schedule = new IdleSchedule(spec);
          const occurrences = occurrencesOf(spec.windows);
          const boundaries = schedule
            .intervals(from, from + 4 * DAY)
            .flatMap((i) => [i.start - 1, i.start, i.end - 1, i.end]);
          for (const instant of [...shifts.map((s) => from + s), ...boundaries]) {
            const inside = covered(schedule, instant);
            const reads = declares(occurrences, weekMinute(spec.timeZone, instant));
            const earlier = offsetBeforeFallBack(spec.timeZone, instant);
            if (earlier === null) {
              expect({ instant, inside }).toEqual({ instant, inside: reads });
            } else if (inside) {
              // The repeated hour's second pass: still open if it opened on the first.
              const readBefore = declares(occurrences, weekMinute(spec.timeZone, instant, earlier));
              expect({ instant, declared: reads || readBefore }).toEqual({ instant, declared: true });
            }
          }
        },
      ),
      options,
    );
  });

  it('a window opens and closes on a declared wall-clock time, or at the jump over one', () => {
    fc.assert(
      fc.property(CASE, ([spec, from]) => {
        const schedule = new IdleSchedule(spec);
        const starts = new Set<number>();
        const ends = new Set<number>();
        for (const o of occurrencesOf(spec.windows)) {
          starts.add((o.from + WEEK_MINUTES) % WEEK_MINUTES);
          ends.add((o.to + WEEK_MINUTES) % WEEK_MINUTES);
        }
        const onOrJumpedOver = (instant: number, declared: Set<number>): boolean => {
          const reads = weekMinute(spec.timeZone, instant);
          if (declared.has(reads)) return true;
          const readBefore = weekMinute(spec.timeZone, instant - 1);
          return [...declared].some((m) => readBefore < m && m < reads);
        };
        for (const interval of schedule.intervals(from, from + 8 * DAY)) {
          if (interval.start > from) expect(onOrJumpedOver(interval.start, starts)).toBe(true);
          if (interval.end < from + 8 * DAY) expect(onOrJumpedOver(interval.end, ends)).toBe(true);
        }
      }),
      options,
    );
  });

  it('a lease start is never before now nor past the horizon, and lies in the windows', () => {
    fc.assert(
      fc.property(
        CASE,
        fc.integer({ min: MINUTE, max: 3 * DAY }),
        fc.boolean(),
        ([spec, now], duration, interruptible) => {
          const schedule = new IdleSchedule(spec);
          const start = schedule.leaseStart(now, duration, interruptible, Infinity);
          if (start === null) return;
          expect(start).toBeGreaterThanOrEqual(now);
          expect(start).toBeLessThan(now + MAX_START_DELAY_MS);
          expect(covered(schedule, start)).toBe(true);
          if (!interruptible) expect(schedule.coveredMs(start, start + duration)).toBe(duration);
          // Nothing earlier was in a window: an interruptible lease takes the first instant.
          if (interruptible) expect(schedule.coveredMs(now, start)).toBe(0);
        },
      ),
      options,
    );
  });

  it('windowTimes: open now exactly when covered, closing where coverage stops, next opening after a gap', () => {
    fc.assert(
      fc.property(CASE, fc.integer({ min: 0, max: 20 * DAY }), ([spec, now], length) => {
        const until = now + length;
        const schedule = new IdleSchedule(spec);
        const { nextOpensAt, closesAt } = windowTimes(spec, now, now, until);
        expect(closesAt !== null).toBe(now < until && covered(schedule, now));
        if (closesAt !== null) {
          expect(closesAt).toBeLessThanOrEqual(until);
          expect(schedule.coveredMs(now, closesAt)).toBe(closesAt - now);
          if (closesAt < until) expect(covered(schedule, closesAt)).toBe(false);
        }
        const gapFrom = closesAt ?? now;
        if (nextOpensAt === null) {
          // Nothing opens before the offer ends (or, open all week, nothing closes).
          if (closesAt === null || closesAt < until) expect(schedule.coveredMs(gapFrom, until)).toBe(0);
        } else {
          expect(nextOpensAt).toBeGreaterThan(now);
          expect(nextOpensAt).toBeLessThan(until);
          expect(covered(schedule, nextOpensAt)).toBe(true);
          expect(schedule.coveredMs(gapFrom, nextOpensAt)).toBe(0);
        }
      }),
      options,
    );
  });

  it.each([
    // Night of the change, 22:00 to 06:00: an hour shorter in spring, an hour longer in autumn.
    ['Europe/Berlin', '2026-03-28T12:00:00Z', 'SAT', '22:00', '06:00', 7],
    ['Europe/Berlin', '2026-10-24T12:00:00Z', 'SAT', '22:00', '06:00', 9],
    ['America/New_York', '2026-03-07T17:00:00Z', 'SAT', '22:00', '06:00', 7],
    ['America/New_York', '2026-10-31T17:00:00Z', 'SAT', '22:00', '06:00', 9],
    ['Australia/Sydney', '2026-10-03T02:00:00Z', 'SAT', '22:00', '06:00', 7],
    ['Australia/Sydney', '2026-04-04T02:00:00Z', 'SAT', '22:00', '06:00', 9],
    // An end the clocks skip (Berlin 02:00 -> 03:00): the window closes at the jump, not an hour on.
    ['Europe/Berlin', '2026-03-28T12:00:00Z', 'SAT', '22:00', '02:30', 4],
    // A start the clocks skip: the window opens at the jump (03:00 CEST), 02:30 being past.
    ['Europe/Berlin', '2026-03-28T12:00:00Z', 'SUN', '02:30', '06:00', 3],
    // A start the clocks repeat (Berlin 03:00 -> 02:00): the first 02:30, then the repeated hour too.
    ['Europe/Berlin', '2026-10-24T12:00:00Z', 'SUN', '02:30', '06:00', 4.5],
    // An end the clocks repeat: the first 02:30.
    ['Europe/Berlin', '2026-10-24T12:00:00Z', 'SUN', '00:00', '02:30', 2.5],
    ['Asia/Shanghai', '2026-03-28T12:00:00Z', 'SAT', '22:00', '06:00', 8],
  ] as const)('%s from %s, %s %s-%s lasts %d h', (timeZone, from, day, start, end, hours) => {
    const schedule = new IdleSchedule({
      timeZone,
      reclaimNoticeMinutes: 30,
      windows: [{ days: [day], start, end }],
    });
    const intervals = schedule.intervals(at(from), at(from) + 2 * DAY);
    expect(intervals).toHaveLength(1);
    expect(intervals[0]!.end - intervals[0]!.start).toBe(hours * HOUR);
  });
});
