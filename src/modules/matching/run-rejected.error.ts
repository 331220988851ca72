/**
 * Why a run's commit was refused, rolling it back whole: `stale` when another run committed
 * since this one read the book (a stalled or paused worker), `moved` when an order or the market
 * changed since the read (cancelled, re-priced, expired, paused). Either way the run reads again.
 */
export class RunRejectedError extends Error {
  constructor(
    readonly reason: 'stale' | 'moved',
    message: string,
  ) {
    super(message);
    this.name = 'RunRejectedError';
  }
}
