import type { OrderStatus } from '@/generated/prisma/enums';

/**
 * The vocabulary of an order row that its home (`order-state.repository.ts`) stores and every
 * module that moves orders shares: live statuses, an offer's idle windows as stored, its SLO
 * terms. Rules over them stay with their modules (buyers' bid-rules, providers' offer-rules and
 * idle-windows, slo's slo-rules), which re-export these.
 */

/** Bids that can still fill. */
export const LIVE_BID_STATUSES = ['OPEN', 'PARTIALLY_FILLED'] as const satisfies readonly OrderStatus[];

/** Offers whose capacity can still be leased; CANCELLED and EXPIRED are terminal. */
export const LIVE_OFFER_STATUSES = [
  'OPEN',
  'PARTIALLY_FILLED',
  'FILLED',
] as const satisfies readonly OrderStatus[];
export type LiveOfferStatus = (typeof LIVE_OFFER_STATUSES)[number];

export const WEEKDAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Local wall-clock times, `HH:MM`; `end` may be `24:00`, and an end at or before `start` crosses midnight. */
export interface WeeklyWindow {
  readonly days: readonly Weekday[];
  readonly start: string;
  readonly end: string;
}

export interface IdleWindowsSpec {
  readonly timeZone: string;
  readonly windows: readonly WeeklyWindow[];
  /** Notice the provider gives before an interruptible lease is reclaimed, minutes (> 0). */
  readonly reclaimNoticeMinutes: number;
}

/** The JSON stored in `offers.idle_windows` (the notice has its own column). */
export function idleWindowsJson(spec: IdleWindowsSpec): { timeZone: string; windows: WeeklyWindow[] } {
  return {
    timeZone: spec.timeZone,
    windows: spec.windows.map((w) => ({ days: [...w.days], start: w.start, end: w.end })),
  };
}

/** A spec from the stored columns (written by idleWindowsJson, checked at placement); null when none. */
export function idleWindowsOf(stored: unknown, reclaimNoticeMinutes: number | null): IdleWindowsSpec | null {
  if (stored === null || stored === undefined || reclaimNoticeMinutes === null) return null;
  const { timeZone, windows } = stored as { timeZone: string; windows: WeeklyWindow[] };
  return { timeZone, windows, reclaimNoticeMinutes };
}

/** An offer's SLO as stored on offers and leases (checked by slo-rules' parseOfferSlo). */
export interface Slo {
  availabilityBps: number;
  ttftP95Ms?: number;
  outputTokensPerSecondPerGpu?: number;
  creditPercent: number;
}
