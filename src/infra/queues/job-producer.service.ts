import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { DeduplicationOptions, Job, JobsOptions, Queue } from 'bullmq';
import { Clock } from '@/infra/clock/clock';
import { JOBS, QUEUE, type JobName, type JobPayloads, type QueueName } from './job-catalogue';

export interface EnqueueOptions {
  /** Deterministic id for jobs whose effect must happen once; a second add is a no-op. */
  jobId?: string;
  delay?: number;
  /**
   * One job per id at a time for work that handles everything asked so far (a market's run):
   * an add while one waits is dropped; an add while one is active leaves one to follow it.
   */
  deduplicationId?: string;
}

/** BullMQ's options for `deduplicationId`: keep one to follow an active job, so no ask is lost. */
function deduplication(id: string | undefined): { deduplication?: DeduplicationOptions } {
  return id === undefined ? {} : { deduplication: { id, keepLastIfActive: true } };
}

/** Instants of delayed jobs are rounded up to this: one job serves all instants of one second. */
export const DUE_BUCKET_MS = 1_000;
// A delayed job fired a hair early (another machine's clock) would find nothing due yet.
const DUE_MARGIN_MS = 250;
// Job ids of delayed jobs this process added recently, to skip repeating the add.
const RECENT_DUE_IDS = 10_000;

/** The id of the delayed job that serves instant `at` (epoch ms): its prefix and second. */
export function dueJobId(prefix: string, at: number): string {
  return `${prefix}-at-${Math.ceil(at / DUE_BUCKET_MS) * DUE_BUCKET_MS}`;
}

/** The only way application code adds jobs: typed by the catalogue, options from it. */
@Injectable()
export class JobProducer {
  private readonly logger = new Logger(JobProducer.name);
  private readonly queues: Record<QueueName, Queue>;
  private readonly recentDue = new Set<string>();

  constructor(
    @InjectQueue(QUEUE.events) events: Queue,
    @InjectQueue(QUEUE.maintenance) maintenance: Queue,
    @InjectQueue(QUEUE.matching) matching: Queue,
    @InjectQueue(QUEUE.leases) leases: Queue,
    @InjectQueue(QUEUE.settlement) settlement: Queue,
    @InjectQueue(QUEUE.webhooks) webhooks: Queue,
    @InjectQueue(QUEUE.stats) stats: Queue,
    private readonly clock: Clock,
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
    const { deduplicationId, ...rest } = options;
    const jobOptions: JobsOptions = { ...definition.options, ...rest, ...deduplication(deduplicationId) };
    return this.queues[definition.queue].add(name, payload, jobOptions);
  }

  /**
   * A delayed job for work that handles everything due by `at`, one per second (`dueJobId`), so
   * instants of one second share it; nothing when `at` is not ahead of now (docs/MATCHING.md).
   */
  async enqueueDue<N extends JobName>(
    name: N,
    payload: JobPayloads[N],
    prefix: string,
    at: number,
  ): Promise<void> {
    const now = this.clock.now().getTime();
    if (!Number.isFinite(at) || at <= now) return;
    const jobId = dueJobId(prefix, at);
    if (this.recentDue.has(jobId)) return;
    const due = Math.ceil(at / DUE_BUCKET_MS) * DUE_BUCKET_MS;
    await this.enqueue(name, payload, { jobId, delay: due - now + DUE_MARGIN_MS });
    this.recentDue.add(jobId);
    if (this.recentDue.size > RECENT_DUE_IDS) {
      // Sets iterate in insertion order: forget the oldest.
      this.recentDue.delete(this.recentDue.values().next().value!);
    }
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
    jobs: ReadonlyArray<{ payload: JobPayloads[N]; jobId?: string; deduplicationId?: string }>,
  ): Promise<Job[]> {
    if (jobs.length === 0) return [];
    const definition = JOBS[name];
    return this.queues[definition.queue].addBulk(
      jobs.map((j) => ({
        name,
        data: j.payload,
        opts: {
          ...definition.options,
          ...(j.jobId !== undefined ? { jobId: j.jobId } : {}),
          ...deduplication(j.deduplicationId),
        },
      })),
    );
  }
}
