import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Job, JobsOptions, Queue } from 'bullmq';
import { JOBS, QUEUE, type JobName, type JobPayloads, type QueueName } from './job-catalogue';

export interface EnqueueOptions {
  /** Deterministic id for jobs whose effect must happen once; a second add is a no-op. */
  jobId?: string;
  delay?: number;
}

/** The only way application code adds jobs: typed by the catalogue, options from it. */
@Injectable()
export class JobProducer {
  private readonly logger = new Logger(JobProducer.name);
  private readonly queues: Record<QueueName, Queue>;

  constructor(
    @InjectQueue(QUEUE.events) events: Queue,
    @InjectQueue(QUEUE.maintenance) maintenance: Queue,
    @InjectQueue(QUEUE.matching) matching: Queue,
    @InjectQueue(QUEUE.leases) leases: Queue,
    @InjectQueue(QUEUE.settlement) settlement: Queue,
    @InjectQueue(QUEUE.webhooks) webhooks: Queue,
    @InjectQueue(QUEUE.stats) stats: Queue,
  ) {
    this.queues = { events, maintenance, matching, leases, settlement, webhooks, stats };
    for (const queue of Object.values(this.queues)) {
      // Without a listener an unreachable Redis would surface as an unhandled 'error' event.
      queue.on('error', (error: Error) => this.logger.warn(`queue ${queue.name}: ${error.message}`));
    }
  }

  queue(name: QueueName): Queue {
    return this.queues[name];
  }

  async enqueue<N extends JobName>(
    name: N,
    payload: JobPayloads[N],
    options: EnqueueOptions = {},
  ): Promise<Job> {
    const definition = JOBS[name];
    const jobOptions: JobsOptions = { ...definition.options, ...options };
    return this.queues[definition.queue].add(name, payload, jobOptions);
  }

  /**
   * Removes a finished job kept under a deterministic id (failed jobs are kept a week, and an add
   * under their id is a no-op until then), so that id can be used again. A running job is left.
   */
  async discard(name: JobName, jobId: string): Promise<void> {
    await this.queues[JOBS[name].queue].remove(jobId);
  }

  async enqueueMany<N extends JobName>(
    name: N,
    jobs: ReadonlyArray<{ payload: JobPayloads[N]; jobId?: string }>,
  ): Promise<Job[]> {
    if (jobs.length === 0) return [];
    const definition = JOBS[name];
    return this.queues[definition.queue].addBulk(
      jobs.map((j) => ({
        name,
        data: j.payload,
        opts: { ...definition.options, ...(j.jobId !== undefined ? { jobId: j.jobId } : {}) },
      })),
    );
  }
}
