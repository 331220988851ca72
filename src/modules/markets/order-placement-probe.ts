/**
 * Test seam of the group commit of placements: `queued` is told how many placements wait for
 * the next commit each time one joins them, and `beforeCommit` is awaited after every statement
 * of a batch, before its COMMIT. Production binds the inactive probe, so a placement checks one
 * boolean and awaits nothing; the group-commit suites override it through the Nest container
 * (test/support/placement-hold.cjs) to form batches at will and to SIGKILL a process mid-batch.
 */
export abstract class OrderPlacementProbe {
  abstract readonly active: boolean;
  abstract queued(waiting: number): void;
  abstract beforeCommit(placements: number): Promise<void>;
}

export class InactiveOrderPlacementProbe extends OrderPlacementProbe {
  readonly active = false;

  queued(): void {}

  beforeCommit(): Promise<void> {
    return Promise.resolve();
  }
}
