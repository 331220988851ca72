import type { QueueName } from './job-catalogue';

/** The job states a queue's depth is reported in. */
export const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

export interface QueueBacklogRow {
  queue: QueueName;
  jobs: Record<QueueState, number>;
  /** Since when the oldest waiting job could have run (0 when none waits). */
  oldestWaitingAgeSeconds: number;
}

/**
 * When a waiting job became runnable: its creation plus its delay (a delayed job or a retry only
 * starts waiting once the delay is over), so the age measures time spent waiting for a worker.
 */
export function waitingAgeSeconds(job: { timestamp: number; delay?: number }, nowMs: number): number {
  return Math.max(0, (nowMs - (job.timestamp + (job.delay ?? 0))) / 1000);
}
