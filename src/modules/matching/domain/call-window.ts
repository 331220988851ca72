/**
 * When a CALL market with window `windowMs` next clears after `now` (epoch ms): the first
 * multiple of the window strictly after `now` (docs/MATCHING.md "Call markets", "When a
 * clearing runs"). Aligned to the epoch, so every worker and every quote names the same instant.
 */
export function nextClearingAt(now: number, windowMs: number): number {
  if (!Number.isInteger(windowMs) || windowMs <= 0) throw new Error(`bad call window ${windowMs} ms`);
  return (Math.floor(now / windowMs) + 1) * windowMs;
}
