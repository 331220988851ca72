import { Injectable } from '@nestjs/common';
import { Clock } from '@/infra/clock/clock';
import { QUEUE } from './job-catalogue';
import { JobProducer } from './job-producer.service';
import { QUEUE_STATES, waitingAgeSeconds, type QueueBacklogRow, type QueueState } from './queue-backlog';

/**
 * Depth by state and oldest waiting age of every queue, read from Redis, so any process reports
 * the whole cluster. Cost per queue: one pipeline of counts (LLEN/ZCARD) and one job fetched.
 */
@Injectable()
export class QueueBacklog {
  constructor(
    private readonly producer: JobProducer,
    private readonly clock: Clock,
  ) {}

  async read(): Promise<QueueBacklogRow[]> {
    return Promise.all(
      Object.values(QUEUE).map(async (name) => {
        const queue = this.producer.queue(name);
        const [counts, oldest] = await Promise.all([
          queue.getJobCounts('wait', 'prioritized', 'active', 'delayed', 'failed', 'completed'),
          // Ascending: the job that has waited longest (the next one a worker takes).
          queue.getJobs(['wait'], 0, 0, true),
        ]);
        const jobs = Object.fromEntries(
          QUEUE_STATES.map((state) => [state, counts[state === 'waiting' ? 'wait' : state] ?? 0]),
        ) as Record<QueueState, number>;
        const first = oldest[0];
        return {
          queue: name,
          jobs,
          oldestWaitingAgeSeconds: first ? waitingAgeSeconds(first, this.clock.now().getTime()) : 0,
        };
      }),
    );
  }
}
