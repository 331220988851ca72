import { DomainError } from '@/shared/domain-error';
import { type IdleWindowsSpec, validateIdleWindows } from './idle-windows';

const NIGHTS: IdleWindowsSpec = {
  timeZone: 'Asia/Shanghai',
  reclaimNoticeMinutes: 60,
  windows: [
    { days: ['MON', 'TUE', 'WED', 'THU'], start: '20:00', end: '08:00' },
    { days: ['FRI'], start: '20:00', end: '24:00' },
    { days: ['SAT', 'SUN'], start: '00:00', end: '24:00' },
  ],
};

function refusal(spec: IdleWindowsSpec): { code: string; field: unknown } | null {
  try {
    validateIdleWindows(spec);
    return null;
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return { code: error.code, field: (error.details as { field?: unknown } | undefined)?.field };
  }
}

describe('validateIdleWindows (docs/LEASES.md "Idle windows")', () => {
  it('accepts nights and weekends whose windows touch', () => {
    expect(refusal(NIGHTS)).toBeNull();
  });

  it.each([
    ['an unknown zone', { ...NIGHTS, timeZone: 'Mars/Olympus' }, 'INVALID_TIME_ZONE', 'idleWindows.timeZone'],
    [
      'a zero notice',
      { ...NIGHTS, reclaimNoticeMinutes: 0 },
      'VALIDATION_FAILED',
      'idleWindows.reclaimNoticeMinutes',
    ],
    [
      'a negative notice',
      { ...NIGHTS, reclaimNoticeMinutes: -5 },
      'VALIDATION_FAILED',
      'idleWindows.reclaimNoticeMinutes',
    ],
    [
      'a fractional notice',
      { ...NIGHTS, reclaimNoticeMinutes: 1.5 },
      'VALIDATION_FAILED',
      'idleWindows.reclaimNoticeMinutes',
    ],
    [
      'a zero-length window',
      { ...NIGHTS, windows: [{ days: ['MON'], start: '10:00', end: '10:00' }] },
      'VALIDATION_FAILED',
      'idleWindows.windows.0',
    ],
    [
      'midnight to midnight',
      { ...NIGHTS, windows: [{ days: ['MON'], start: '00:00', end: '00:00' }] },
      'VALIDATION_FAILED',
      'idleWindows.windows.0',
    ],
    [
      'overlapping windows',
      {
        ...NIGHTS,
        windows: [
          { days: ['FRI'], start: '20:00', end: '08:00' },
          { days: ['SAT'], start: '00:00', end: '24:00' },
        ],
      },
      'VALIDATION_FAILED',
      'idleWindows.windows',
    ],
    [
      'Sunday night overlapping Monday morning (the week wraps)',
      {
        ...NIGHTS,
        windows: [
          { days: ['SUN'], start: '22:00', end: '06:00' },
          { days: ['MON'], start: '05:00', end: '07:00' },
        ],
      },
      'VALIDATION_FAILED',
      'idleWindows.windows',
    ],
    [
      'a day named twice',
      { ...NIGHTS, windows: [{ days: ['MON', 'MON'], start: '01:00', end: '02:00' }] },
      'VALIDATION_FAILED',
      'idleWindows.windows.0',
    ],
    ['no window', { ...NIGHTS, windows: [] }, 'VALIDATION_FAILED', 'idleWindows.windows'],
    [
      'a malformed time',
      { ...NIGHTS, windows: [{ days: ['MON'], start: '25:00', end: '02:00' }] },
      'VALIDATION_FAILED',
      'idleWindows.windows.0',
    ],
  ] as const)('refuses %s', (_what, spec, code, field) => {
    expect(refusal(spec as IdleWindowsSpec)).toEqual({ code, field });
  });
});
