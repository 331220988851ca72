/**
 * The only source of time in the exchange. Code asks `clock.now()`; nothing else reads the
 * system time, so tests can move time for API and worker processes alike.
 */
export abstract class Clock {
  abstract now(): Date;

  /** Brings this process's view of time up to date; called before each request and job. */
  async sync(): Promise<void> {
    await Promise.resolve();
  }
}
