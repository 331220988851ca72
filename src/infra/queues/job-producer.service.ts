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
   * Adds a job under an id whose earlier job may be kept finished (failed jobs are retained for a
   * week, and a second add under their id is a no-op): that job is removed first. A job running
   * under the id is left alone, and the add is then a no-op.
   */
  async requeue<N extends JobName>(name: N, payload: JobPayloads[N], jobId: string): Promise<void> {
    const queue = this.queues[JOBS[name].queue];
    await queue.remove(jobId);
    await this.enqueue(name, payload, { jobId });
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
