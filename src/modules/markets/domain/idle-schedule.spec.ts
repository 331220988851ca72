import {
  combinedWindowTimes,
  IdleSchedule,
  instantOfLocal,
  MAX_START_DELAY_MS,
  windowTimes,
  zoneOffset,
} from './idle-schedule';
import type { IdleWindowsSpec } from './order-terms';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (iso: string): number => Date.parse(iso);

const NIGHTS: IdleWindowsSpec = {
  timeZone: 'Asia/Shanghai',
  reclaimNoticeMinutes: 60,
  windows: [
    { days: ['MON', 'TUE', 'WED', 'THU'], start: '20:00', end: '08:00' },
    { days: ['FRI'], start: '20:00', end: '24:00' },
    { days: ['SAT', 'SUN'], start: '00:00', end: '24:00' },
  ],
};

describe('zone arithmetic through luxon', () => {
  it('reads offsets, daylight saving included', () => {
    expect(zoneOffset('Asia/Shanghai', at('2026-12-01T00:00:00Z'))).toBe(8 * HOUR);
    expect(zoneOffset('Europe/Berlin', at('2026-01-15T12:00:00Z'))).toBe(HOUR);
    expect(zoneOffset('Europe/Berlin', at('2026-07-15T12:00:00Z'))).toBe(2 * HOUR);
  });

  it('moves a skipped local time forward and takes the first of a repeated one', () => {
    // Europe/Berlin: 2026-03-29 02:00 -> 03:00 (skipped), 2026-10-25 03:00 -> 02:00 (repeated).
    expect(instantOfLocal('Europe/Berlin', at('2026-03-29T02:30:00Z'))).toBe(at('2026-03-29T01:30:00Z'));
    expect(instantOfLocal('Europe/Berlin', at('2026-10-25T02:30:00Z'))).toBe(at('2026-10-25T00:30:00Z'));
    expect(instantOfLocal('Europe/Berlin', at('2026-06-01T12:00:00Z'))).toBe(at('2026-06-01T10:00:00Z'));
  });
});

describe('IdleSchedule', () => {
  // 2026-11-30 is a Monday; Asia/Shanghai is UTC+8 all year.
  const schedule = new IdleSchedule(NIGHTS);

  it('lists windows as UTC intervals, merging those that touch (Friday night to Sunday midnight)', () => {
    expect(schedule.intervals(at('2026-12-01T00:00:00Z'), at('2026-12-08T00:00:00Z'))).toEqual([
      { start: at('2026-12-01T12:00:00Z'), end: at('2026-12-02T00:00:00Z') },
      { start: at('2026-12-02T12:00:00Z'), end: at('2026-12-03T00:00:00Z') },
      { start: at('2026-12-03T12:00:00Z'), end: at('2026-12-04T00:00:00Z') },
      // Friday 20:00 to Monday 00:00 local.
      { start: at('2026-12-04T12:00:00Z'), end: at('2026-12-06T16:00:00Z') },
      { start: at('2026-12-07T12:00:00Z'), end: at('2026-12-08T00:00:00Z') },
    ]);
  });

  it('starts a lease at once inside a window it fits, later when it does not fit the rest of it', () => {
    const now = at('2026-12-01T14:00:00Z'); // Tuesday 22:00 local, 10 h of window left
    expect(schedule.leaseStart(now, 8 * HOUR, false, Infinity)).toBe(now);
    // 12 h fits Wednesday night's window whole.
    expect(schedule.leaseStart(now, 12 * HOUR, false, Infinity)).toBe(at('2026-12-02T12:00:00Z'));
    // 24 h fits only the weekend (52 h).
    expect(schedule.leaseStart(now, 24 * HOUR, false, Infinity)).toBe(at('2026-12-04T12:00:00Z'));
    // Interruptible: at once, whatever its length.
    expect(schedule.leaseStart(now, 24 * HOUR, true, Infinity)).toBe(now);
  });

  it('outside every window, the next one that fits; none past the bound or the 14-day horizon', () => {
    const now = at('2026-12-01T04:00:00Z'); // Tuesday 12:00 local
    expect(schedule.leaseStart(now, HOUR, false, Infinity)).toBe(at('2026-12-01T12:00:00Z'));
    expect(schedule.leaseStart(now, HOUR, true, Infinity)).toBe(at('2026-12-01T12:00:00Z'));
    expect(schedule.leaseStart(now, HOUR, false, at('2026-12-01T12:00:00Z'))).toBeNull();
    expect(schedule.leaseStart(now, 61 * HOUR, false, Infinity)).toBeNull();
    const sundays = new IdleSchedule({
      timeZone: 'UTC',
      reclaimNoticeMinutes: 5,
      windows: [{ days: ['SUN'], start: '00:00', end: '01:00' }],
    });
    expect(sundays.leaseStart(now, HOUR, false, Infinity)).toBe(at('2026-12-06T00:00:00Z'));
    expect(sundays.leaseStart(now, HOUR, false, now + MAX_START_DELAY_MS)).toBe(at('2026-12-06T00:00:00Z'));
    expect(sundays.leaseStart(at('2026-12-06T00:30:00Z'), HOUR, false, Infinity)).toBe(
      at('2026-12-13T00:00:00Z'),
    );
  });

  it('follows daylight saving: 22:00 local is 21:00Z in winter and 20:00Z in summer', () => {
    const berlin = new IdleSchedule({
      timeZone: 'Europe/Berlin',
      reclaimNoticeMinutes: 5,
      windows: [{ days: ['SAT'], start: '22:00', end: '06:00' }],
    });
    // 2026-03-28 is the Saturday before the change: that night is an hour shorter.
    expect(berlin.intervals(at('2026-03-28T00:00:00Z'), at('2026-03-30T00:00:00Z'))).toEqual([
      { start: at('2026-03-28T21:00:00Z'), end: at('2026-03-29T04:00:00Z') },
    ]);
    expect(berlin.intervals(at('2026-04-04T00:00:00Z'), at('2026-04-06T00:00:00Z'))).toEqual([
      { start: at('2026-04-04T20:00:00Z'), end: at('2026-04-05T04:00:00Z') },
    ]);
  });

  it('tells whether a window is open now, and which window holds or next follows an instant', () => {
    expect(schedule.isOpenAt(at('2026-12-01T14:00:00Z'))).toBe(true); // Tuesday 22:00 local
    expect(schedule.isOpenAt(at('2026-12-01T04:00:00Z'))).toBe(false); // Tuesday 12:00 local
    expect(schedule.isOpenAt(at('2026-12-02T00:00:00Z'))).toBe(false); // the end is not inside
    expect(schedule.windowAt(at('2026-12-01T14:00:00Z'))).toEqual({
      start: at('2026-12-01T12:00:00Z'),
      end: at('2026-12-02T00:00:00Z'),
    });
    expect(schedule.windowAt(at('2026-12-04T04:00:00Z'))).toEqual({
      start: at('2026-12-04T12:00:00Z'),
      end: at('2026-12-06T16:00:00Z'),
    });
  });

  it('counts covered time for statistics', () => {
    // Tuesday 00:00Z to Wednesday 00:00Z: Monday night's last 0 h + Tuesday night's 12 h.
    expect(schedule.coveredMs(at('2026-12-01T00:00:00Z'), at('2026-12-02T00:00:00Z'))).toBe(12 * HOUR);
    expect(schedule.coveredMs(at('2026-12-05T00:00:00Z'), at('2026-12-06T00:00:00Z'))).toBe(DAY);
  });
});

describe("windowTimes: when a listed offer's window next opens, and when the open one closes", () => {
  const times = (spec: IdleWindowsSpec | null, now: string, from: string, until: string) => {
    const { nextOpensAt, closesAt } = windowTimes(spec, at(now), at(from), at(until));
    const iso = (instant: number | null) => (instant === null ? null : new Date(instant).toISOString());
    return { nextOpensAt: iso(nextOpensAt), closesAt: iso(closesAt) };
  };
  const FROM = '2026-11-01T00:00:00.000Z';
  const UNTIL = '2027-01-31T00:00:00.000Z';
  const berlinSaturdayNights: IdleWindowsSpec = {
    timeZone: 'Europe/Berlin',
    reclaimNoticeMinutes: 30,
    windows: [{ days: ['SAT'], start: '22:00', end: '06:00' }],
  };

  it('has neither for an offer without idle windows: always available', () => {
    expect(times(null, '2026-12-01T04:00:00Z', FROM, UNTIL)).toEqual({ nextOpensAt: null, closesAt: null });
  });

  it('inside a window that spans midnight: it closes the next morning, the next opens that evening', () => {
    // Tuesday 22:00 in Shanghai; the window runs to Wednesday 08:00 and opens again at 20:00.
    expect(times(NIGHTS, '2026-12-01T14:00:00Z', FROM, UNTIL)).toEqual({
      closesAt: '2026-12-02T00:00:00.000Z',
      nextOpensAt: '2026-12-02T12:00:00.000Z',
    });
    // Friday night runs on through the weekend: one window, closing at Monday 00:00 local.
    expect(times(NIGHTS, '2026-12-04T15:00:00Z', FROM, UNTIL)).toEqual({
      closesAt: '2026-12-06T16:00:00.000Z',
      nextOpensAt: '2026-12-07T12:00:00.000Z',
    });
  });

  it('outside every window: the next opening, nothing closing; an end instant is outside', () => {
    expect(times(NIGHTS, '2026-12-01T04:00:00Z', FROM, UNTIL)).toEqual({
      nextOpensAt: '2026-12-01T12:00:00.000Z',
      closesAt: null,
    });
    expect(times(NIGHTS, '2026-12-02T00:00:00Z', FROM, UNTIL)).toEqual({
      nextOpensAt: '2026-12-02T12:00:00.000Z',
      closesAt: null,
    });
  });

  it('none before availableUntil: no next opening; an open window closes at availableUntil if sooner', () => {
    // Tuesday 12:00 local; the offer ends at 19:00 local, an hour before the window.
    expect(times(NIGHTS, '2026-12-01T04:00:00Z', FROM, '2026-12-01T11:00:00Z')).toEqual({
      nextOpensAt: null,
      closesAt: null,
    });
    // It ends at the opening itself: the window is half-open, so nothing opens before it.
    expect(times(NIGHTS, '2026-12-01T04:00:00Z', FROM, '2026-12-01T12:00:00Z').nextOpensAt).toBeNull();
    // Inside Tuesday night, the offer ending at 02:00 local.
    expect(times(NIGHTS, '2026-12-01T14:00:00Z', FROM, '2026-12-01T18:00:00Z')).toEqual({
      nextOpensAt: null,
      closesAt: '2026-12-01T18:00:00.000Z',
    });
    // Ended already.
    expect(times(NIGHTS, '2026-12-01T14:00:00Z', FROM, '2026-12-01T14:00:00Z')).toEqual({
      nextOpensAt: null,
      closesAt: null,
    });
  });

  it('an offer not yet available opens at the later of its availableFrom and the window', () => {
    // Available from Tuesday 23:00 local, inside Tuesday night's window.
    expect(times(NIGHTS, '2026-12-01T04:00:00Z', '2026-12-01T15:00:00Z', UNTIL)).toEqual({
      nextOpensAt: '2026-12-01T15:00:00.000Z',
      closesAt: null,
    });
    // Available from Wednesday 09:00 local, outside: Wednesday night's opening.
    expect(times(NIGHTS, '2026-12-01T04:00:00Z', '2026-12-02T01:00:00Z', UNTIL)).toEqual({
      nextOpensAt: '2026-12-02T12:00:00.000Z',
      closesAt: null,
    });
  });

  it('follows daylight saving: Berlin clocks go forward under a Saturday night, and back under another', () => {
    // Saturday 2026-03-28 13:00 CET: opens 22:00 CET.
    expect(
      times(berlinSaturdayNights, '2026-03-28T12:00:00Z', '2026-03-01T00:00:00Z', '2026-05-01T00:00:00Z'),
    ).toEqual({
      nextOpensAt: '2026-03-28T21:00:00.000Z',
      closesAt: null,
    });
    // Inside it: closes at 06:00 CEST (7 h, not 8), and next Saturday opens at 22:00 CEST.
    expect(
      times(berlinSaturdayNights, '2026-03-28T23:00:00Z', '2026-03-01T00:00:00Z', '2026-05-01T00:00:00Z'),
    ).toEqual({
      closesAt: '2026-03-29T04:00:00.000Z',
      nextOpensAt: '2026-04-04T20:00:00.000Z',
    });
    // Autumn: opens 22:00 CEST, closes 06:00 CET (9 h), next Saturday 22:00 CET.
    expect(
      times(berlinSaturdayNights, '2026-10-24T21:00:00Z', '2026-10-01T00:00:00Z', '2026-12-01T00:00:00Z'),
    ).toEqual({
      closesAt: '2026-10-25T05:00:00.000Z',
      nextOpensAt: '2026-10-31T21:00:00.000Z',
    });
  });

  it('windows covering the whole week never close before availableUntil; a one-hour gap a week away is found', () => {
    const always: IdleWindowsSpec = {
      timeZone: 'UTC',
      reclaimNoticeMinutes: 30,
      windows: [{ days: ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'], start: '00:00', end: '24:00' }],
    };
    expect(times(always, '2026-12-01T04:00:00Z', FROM, UNTIL)).toEqual({
      nextOpensAt: null,
      closesAt: UNTIL,
    });
    // Shut only on Mondays 00:00-01:00: from Tuesday, it closes six days on and reopens an hour later.
    const allButAnHour: IdleWindowsSpec = {
      ...always,
      windows: [
        { days: ['MON'], start: '01:00', end: '24:00' },
        { days: ['TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'], start: '00:00', end: '24:00' },
      ],
    };
    expect(times(allButAnHour, '2026-12-01T04:00:00Z', FROM, UNTIL)).toEqual({
      closesAt: '2026-12-07T00:00:00.000Z',
      nextOpensAt: '2026-12-07T01:00:00.000Z',
    });
  });
});

describe('combinedWindowTimes: several offers as a supply line or an ask level shows them', () => {
  const none = { nextOpensAt: null, closesAt: null };

  it('is always available when none of the offers has idle windows', () => {
    expect(combinedWindowTimes([{ windowed: false, times: none, availableUntil: 500 }])).toEqual(none);
    expect(combinedWindowTimes([])).toEqual(none);
  });

  it('takes the earliest next opening and the latest close among those open now', () => {
    const combined = combinedWindowTimes([
      { windowed: true, times: { nextOpensAt: 300, closesAt: 120 }, availableUntil: 900 },
      { windowed: true, times: { nextOpensAt: 200, closesAt: null }, availableUntil: 900 },
      { windowed: true, times: { nextOpensAt: null, closesAt: 150 }, availableUntil: 900 },
    ]);
    expect(combined).toEqual({ nextOpensAt: 200, closesAt: 150 });
  });

  it('counts an offer without idle windows as open until its availableUntil', () => {
    const combined = combinedWindowTimes([
      { windowed: false, times: none, availableUntil: 900 },
      { windowed: true, times: { nextOpensAt: 200, closesAt: null }, availableUntil: 1_000 },
    ]);
    expect(combined).toEqual({ nextOpensAt: 200, closesAt: 900 });
  });

  it('is shut when no offer is open now', () => {
    const shut = { windowed: true, times: { nextOpensAt: 200, closesAt: null }, availableUntil: 900 };
    expect(combinedWindowTimes([shut])).toEqual({ nextOpensAt: 200, closesAt: null });
  });
});
