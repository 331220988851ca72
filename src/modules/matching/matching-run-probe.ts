/**
 * Test seam of a matching run, called at three moments: between reading the book and computing
 * the allocation, between the allocation (a clearing's solve) and the commit, and inside the
 * commit's transaction once every row is written, before it commits. Production binds the
 * inactive probe, so a run checks one boolean and awaits nothing; the crash and wakeup suites
 * override it through the Nest container (test/support/matching-hold.cjs).
 */
export type RunMoment = 'after-book-read' | 'before-commit' | 'inside-commit';

export abstract class MatchingRunProbe {
  abstract readonly active: boolean;
  abstract at(moment: RunMoment, marketId: string): Promise<void>;
}

export class InactiveMatchingRunProbe extends MatchingRunProbe {
  readonly active = false;

  at(): Promise<void> {
    return Promise.resolve();
  }
}
