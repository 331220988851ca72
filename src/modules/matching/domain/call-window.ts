/**
 * When a CALL market with window `windowMs` and phase `phaseMs` next clears after `now` (epoch
 * ms): the first instant strictly after `now` that is a multiple of the window plus the phase
 * (docs/MATCHING.md "When a clearing runs"). Counted from the epoch, so every worker and every
 * quote names the same instant; the phase (the market's `call_phase_ms`, set by the database)
 * spreads markets with the same window so that their clearings do not coincide.
 */
export function nextClearingAt(now: number, windowMs: number, phaseMs: number): number {
  if (!Number.isInteger(windowMs) || windowMs <= 0) throw new Error(`bad call window ${windowMs} ms`);
  if (!Number.isInteger(phaseMs) || phaseMs < 0 || phaseMs >= windowMs) {
    throw new Error(`bad call phase ${phaseMs} ms for a ${windowMs} ms window`);
  }
  return (Math.floor((now - phaseMs) / windowMs) + 1) * windowMs + phaseMs;
}
