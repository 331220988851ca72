import { DomainError } from '@/shared/domain-error';
import { isTimeZone } from '@/shared/time-zone';
import { lengthOf, minutesOf } from '@/modules/markets/domain/idle-schedule';
import {
  WEEKDAYS,
  idleWindowsJson,
  idleWindowsOf,
  type IdleWindowsSpec,
  type Weekday,
  type WeeklyWindow,
} from '@/modules/markets/domain/order-terms';

/**
 * What a provider may publish as an offer's recurring idle windows (docs/LEASES.md "Idle
 * windows"). The schedule they make, in instants, is markets' `IdleSchedule`
 * (`markets/domain/idle-schedule.ts`), which matching, leases, stats and listings read.
 */

export { WEEKDAYS, idleWindowsJson, idleWindowsOf, type IdleWindowsSpec, type Weekday, type WeeklyWindow };

export const MAX_IDLE_WINDOWS = 21;
export const MAX_RECLAIM_NOTICE_MINUTES = 10_080;

const WEEK_MINUTES = 7 * 24 * 60;

/**
 * Refuses what cannot be published, with nothing written (400): an unknown zone, a malformed
 * or zero-length window, a day named twice, windows that overlap, a notice outside 1..10,080 min.
 * Windows that touch are allowed and behave as one.
 */
export function validateIdleWindows(spec: IdleWindowsSpec): void {
  if (!isTimeZone(spec.timeZone)) {
    throw new DomainError(
      'INVALID_TIME_ZONE',
      'idleWindows.timeZone must be an IANA time zone such as Asia/Shanghai.',
      {
        field: 'idleWindows.timeZone',
      },
    );
  }
  if (
    !Number.isInteger(spec.reclaimNoticeMinutes) ||
    spec.reclaimNoticeMinutes < 1 ||
    spec.reclaimNoticeMinutes > MAX_RECLAIM_NOTICE_MINUTES
  ) {
    throw invalid(
      'idleWindows.reclaimNoticeMinutes',
      `reclaimNoticeMinutes must be a whole number of minutes from 1 to ${MAX_RECLAIM_NOTICE_MINUTES}.`,
    );
  }
  if (spec.windows.length === 0 || spec.windows.length > MAX_IDLE_WINDOWS) {
    throw invalid('idleWindows.windows', `Publish 1 to ${MAX_IDLE_WINDOWS} windows.`);
  }
  const occurrences: Array<{ from: number; to: number }> = [];
  spec.windows.forEach((window, n) => {
    const field = `idleWindows.windows.${n}`;
    const start = minutesOf(window.start, false);
    const end = minutesOf(window.end, true);
    if (start === null || end === null)
      throw invalid(field, 'start and end must be HH:MM (end may be 24:00).');
    if (start === end) throw invalid(field, 'A window must not be of zero length.');
    if (window.days.length === 0 || new Set(window.days).size !== window.days.length) {
      throw invalid(field, 'days must name each day at most once, and at least one.');
    }
    for (const day of window.days) {
      const index = WEEKDAYS.indexOf(day);
      if (index < 0) throw invalid(field, `days must be among ${WEEKDAYS.join(', ')}.`);
      const from = index * 24 * 60 + start;
      occurrences.push({ from, to: from + lengthOf(start, end) });
    }
  });
  occurrences.sort((a, b) => a.from - b.from);
  for (let i = 0; i < occurrences.length; i += 1) {
    const current = occurrences[i]!;
    // The last occurrence of the week wraps into the first of the next.
    const next =
      i + 1 < occurrences.length ? occurrences[i + 1]! : { from: occurrences[0]!.from + WEEK_MINUTES };
    if (current.to > next.from) throw invalid('idleWindows.windows', 'Windows must not overlap.');
  }
}

function invalid(field: string, message: string): DomainError {
  return new DomainError('VALIDATION_FAILED', message, { field });
}
