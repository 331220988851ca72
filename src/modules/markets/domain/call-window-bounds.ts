/** Bounds of a CALL market's window, ms (the database checks them too). */
export const MIN_CALL_WINDOW_MS = 100;
export const MAX_CALL_WINDOW_MS = 60_000;
export const DEFAULT_CALL_WINDOW_MS = 1_000;
