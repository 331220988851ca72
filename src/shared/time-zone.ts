import { DateTime, IANAZone } from 'luxon';

/** IANA time zones through luxon (which reads the runtime's Intl data). */

/** Whether `name` is an IANA time zone this runtime knows (`Asia/Shanghai`, `UTC`). */
export function isTimeZone(name: string): boolean {
  if (name.length === 0 || name.length > 64 || !/^[A-Za-z0-9_+\-/]+$/.test(name)) return false;
  return IANAZone.isValidZone(name);
}

/** The calendar date of an instant in a time zone, as `YYYY-MM-DD`. */
export function localDate(instant: Date, timeZone: string): string {
  const date = DateTime.fromJSDate(instant, { zone: IANAZone.create(timeZone) }).toISODate();
  if (date === null) throw new RangeError(`Invalid time zone or instant: ${timeZone}`);
  return date;
}
