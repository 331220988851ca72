import type { QueueName } from './job-catalogue';

/**
 * Jobs one worker process runs at once, per queue. The database pool is sized from their sum
 * (database-pool.ts), so no job waits for a connection.
 */
export const WORKER_CONCURRENCY: Readonly<Record<QueueName, number>> = {
  events: 16,
  maintenance: 1,
  // Different markets run in parallel in one worker; one market never runs twice at once (lock).
  matching: 8,
  leases: 2,
  // Leases settle independently; a lease never settles twice at once (row lock).
  settlement: 4,
  webhooks: 8,
  // One refresh at a time per worker is plenty: each replaces the same buckets.
  stats: 1,
};
