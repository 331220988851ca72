/**
 * Test seam of a matching run, called between reading the book and computing the plan.
 * Production binds the inactive probe, so a run checks one boolean and awaits nothing; the
 * crash and wakeup suites override it through the Nest container (test/support/matching-hold.cjs).
 */
export abstract class MatchingRunProbe {
  abstract readonly active: boolean;
  abstract afterBookRead(marketId: string): Promise<void>;
}

export class InactiveMatchingRunProbe extends MatchingRunProbe {
  readonly active = false;

  afterBookRead(): Promise<void> {
    return Promise.resolve();
  }
}
