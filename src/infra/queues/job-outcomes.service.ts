import { Injectable } from '@nestjs/common';
import { RedisService } from '../redis/redis.service';
import { outcomeField, parseOutcomes, type JobOutcome, type JobOutcomeCount } from './job-outcomes';

/**
 * Cluster-wide job outcome counters in one Redis hash under the process's prefix: every worker
 * process adds to it, any API process reads it, and unlike BullMQ's completed and failed sets
 * they are not bounded by job retention. Best effort: an outcome whose HINCRBY does not reach
 * Redis (Redis down, the process killed between the job's end and the increment) is not counted.
 */
@Injectable()
export class JobOutcomes {
  private readonly key: string;

  constructor(private readonly redis: RedisService) {
    this.key = redis.key('metrics', 'job-outcomes');
  }

  async record(queue: string, name: string, outcome: JobOutcome): Promise<void> {
    await this.redis.client.hincrby(this.key, outcomeField(queue, name, outcome), 1);
  }

  async read(): Promise<JobOutcomeCount[]> {
    return parseOutcomes(await this.redis.client.hgetall(this.key));
  }
}
