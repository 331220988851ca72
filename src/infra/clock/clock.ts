/**
 * The only source of time in the exchange. Code asks `clock.now()`; nothing else reads the
 * system time, so tests can move time for API and worker processes alike.
 */
export abstract class Clock {
  abstract now(): Date;
}
