import { Injectable, Logger } from '@nestjs/common';
import { RedisService } from '@/infra/redis/redis.service';
import { outcomeField, parseOutcomes, type JobOutcome, type JobOutcomeCount } from './job-outcomes';

/** How long a process gathers outcomes before sending them: one round trip a second, not one per job. */
export const JOB_OUTCOMES_FLUSH_MS = 1_000;

/**
 * Cluster-wide job outcome counters in one Redis hash, flushed in batches, best effort and not
 * bounded by job retention (docs/OBSERVABILITY.md).
 */
@Injectable()
export class JobOutcomes {
  private readonly key: string;
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly logger = new Logger(JobOutcomes.name);

  constructor(private readonly redis: RedisService) {
    this.key = redis.key('metrics', 'job-outcomes');
  }

  record(queue: string, name: string, outcome: JobOutcome): void {
    const field = outcomeField(queue, name, outcome);
    this.pending.set(field, (this.pending.get(field) ?? 0) + 1);
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.flush().catch((error: Error) => this.logger.warn(`job outcomes not counted: ${error.message}`));
      }, JOB_OUTCOMES_FLUSH_MS);
      // Never what keeps a process alive; shutdown flushes explicitly.
      this.timer.unref();
    }
  }

  /** Sends what was gathered; the batch is dropped if Redis does not take it. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const pipeline = this.redis.client.pipeline();
    for (const [field, count] of batch) pipeline.hincrby(this.key, field, count);
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error !== null);
    if (failed !== undefined) throw failed[0]!;
  }

  async read(): Promise<JobOutcomeCount[]> {
    return parseOutcomes(await this.redis.client.hgetall(this.key));
  }
}
