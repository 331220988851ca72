import { ApiProperty } from '@nestjs/swagger';
import type { WindowTimes } from '../domain/idle-schedule';
import { WEEKDAYS, type IdleWindowsSpec, type Weekday } from '../domain/order-terms';

/**
 * An offer's recurring idle windows and when they place its GPUs in time, as listings, offers,
 * quotes and the book show them (docs/LEASES.md "Idle windows"); one shape for all.
 */
export class WeeklyWindowResponse {
  @ApiProperty({
    enum: WEEKDAYS,
    isArray: true,
    example: ['MON', 'TUE', 'WED', 'THU'],
    description: 'Days a window starts on, in the time zone',
  })
  days!: Weekday[];
  @ApiProperty({ example: '20:00', description: 'Local start, HH:MM' })
  start!: string;
  @ApiProperty({
    example: '08:00',
    description: 'Local end, HH:MM or 24:00; at or before start, the next day',
  })
  end!: string;
}

export class IdleWindowsResponse {
  @ApiProperty({ example: 'Asia/Shanghai', description: 'IANA time zone of the site' })
  timeZone!: string;
  @ApiProperty({ type: [WeeklyWindowResponse] })
  windows!: WeeklyWindowResponse[];
  @ApiProperty({
    example: 60,
    description: 'Notice before the provider reclaims an interruptible lease, minutes',
  })
  reclaimNoticeMinutes!: number;

  /** The stored windows as the API shows them; null when the offer has none. */
  static of(spec: IdleWindowsSpec | null): IdleWindowsResponse | null {
    if (spec === null) return null;
    return {
      timeZone: spec.timeZone,
      windows: spec.windows.map((w) => ({ days: [...w.days], start: w.start, end: w.end })),
      reclaimNoticeMinutes: spec.reclaimNoticeMinutes,
    };
  }
}

/**
 * When supply can next be had: `windowTimes` of one offer (listings, offers), or
 * `combinedWindowTimes` of several (a quote's supply line, an ask level of the book).
 */
export class WindowTimesResponse {
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    example: '2026-12-01T12:00:00.000Z',
    description:
      'When an idle window next opens within the availability window, after the one open now if any ' +
      '(docs/LEASES.md "Idle windows"); null when the offer has no idle windows (always available), ' +
      'none opens before availableUntil, or the offer is cancelled or expired. For several offers (a ' +
      "quote's supply line, an ask level of the book): the earliest of their next openings",
  })
  nextWindowOpensAt!: string | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    example: '2026-12-02T00:00:00.000Z',
    description:
      'While an idle window is open now: when it closes, or availableUntil if sooner; null when none is ' +
      'open or the offer has no idle windows. For several offers: the latest close among those available ' +
      'now, one without idle windows counting as open until its availableUntil; null when none is, or ' +
      'when none of them has idle windows (always available)',
  })
  windowClosesAt!: string | null;

  /** One offer's window times (epoch ms) as the API shows them. */
  static of(times: WindowTimes): WindowTimesResponse {
    return { nextWindowOpensAt: isoOrNull(times.nextOpensAt), windowClosesAt: isoOrNull(times.closesAt) };
  }
}

const isoOrNull = (instant: number | null): string | null =>
  instant === null ? null : new Date(instant).toISOString();
