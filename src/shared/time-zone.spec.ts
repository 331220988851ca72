import { isTimeZone, localDate } from './time-zone';

describe('time zones', () => {
  it('knows IANA names and refuses others', () => {
    expect(isTimeZone('Asia/Shanghai')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(isTimeZone('')).toBe(false);
    expect(isTimeZone("Asia/Shanghai'; --")).toBe(false);
  });

  it('reads the calendar date in the zone: 16:00 UTC is midnight in Shanghai', () => {
    expect(localDate(new Date('2026-12-01T15:59:59.999Z'), 'Asia/Shanghai')).toBe('2026-12-01');
    expect(localDate(new Date('2026-12-01T16:00:00Z'), 'Asia/Shanghai')).toBe('2026-12-02');
    expect(localDate(new Date('2026-12-01T16:00:00Z'), 'UTC')).toBe('2026-12-01');
    expect(localDate(new Date('2026-12-31T23:30:00Z'), 'Asia/Shanghai')).toBe('2027-01-01');
  });
});
