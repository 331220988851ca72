import { Injectable } from '@nestjs/common';
import { Histogram, type Metric } from 'prom-client';

/** Fine enough to read a p99 of tens of milliseconds, where the accept target sits. */
const SECONDS_BUCKETS = [
  0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1,
  2.5,
];

/**
 * Where a placement's time goes inside the group commit (docs/OBSERVABILITY.md): how long it waited
 * for its batch to begin, how long its batch took to commit, and how large batches are. Kept by
 * the process that commits (the API), registered by its `/metrics` registry; observing costs a
 * bucket search and an add, a few per order.
 */
@Injectable()
export class PlacementTimings {
  readonly wait = new Histogram({
    name: 'order_placement_wait_seconds',
    help: 'Time an order placement or cancellation waited for its group-commit batch to begin',
    buckets: SECONDS_BUCKETS,
    registers: [],
  });
  readonly commit = new Histogram({
    name: 'order_placement_commit_seconds',
    help: "Time from a group-commit batch's start to its COMMIT, observed once per order it carried",
    buckets: SECONDS_BUCKETS,
    registers: [],
  });
  readonly batchSize = new Histogram({
    name: 'order_placement_batch_size',
    help: 'Orders per group-commit batch',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000],
    registers: [],
  });

  get metrics(): Metric[] {
    return [this.wait, this.commit, this.batchSize];
  }
}
