import { cpus, loadavg } from 'node:os';

/**
 * How much slower than when idle this machine runs now: the 1-minute load average per core,
 * between 1 and 4. `CX_TEST_TIME_SCALE` fixes it. Test timeouts are liveness bounds, so they
 * stretch by it; a test that asserts a time bound measures the elapsed time and asserts on it.
 */
export function loadFactor(): number {
  const fixed = Number(process.env.CX_TEST_TIME_SCALE);
  if (Number.isFinite(fixed) && fixed > 0) return fixed;
  const perCore = (loadavg()[0] ?? 0) / Math.max(1, cpus().length);
  return Math.min(4, Math.max(1, perCore));
}

/** A liveness timeout stretched by the current load. */
export function scaled(ms: number): number {
  return Math.round(ms * loadFactor());
}

/**
 * Polls until `probe` returns a value other than undefined, or fails once `timeoutMs`, stretched
 * by the load at that moment (loadFactor), has passed.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
  intervalMs = 25,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    const waited = Date.now() - started;
    if (waited > timeoutMs && waited > scaled(timeoutMs)) {
      throw new Error(`timed out after ${waited} ms (base ${timeoutMs} ms) waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
