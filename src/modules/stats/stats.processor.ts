import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { dispatchJob, type JobHandlers } from '@/infra/queues/job-dispatch';
import { QueueProcessor } from '@/infra/queues/queue-processor.base';
import { ReliabilityService } from '@/modules/reliability/reliability.service';
import { StatsRefreshService } from './stats-refresh.service';

/** Statistics jobs. Thin: the service holds the rules; errors propagate for retries. */
@Injectable()
export class StatsProcessor extends QueueProcessor {
  private readonly handlers: JobHandlers<'stats'> = {
    'stats.refresh': async () => void (await this.refresh.refresh()),
    'stats.reliability': async () => void (await this.reliability.refreshAll()),
  };

  constructor(
    private readonly refresh: StatsRefreshService,
    private readonly reliability: ReliabilityService,
  ) {
    super();
  }

  async process(job: Job): Promise<void> {
    await dispatchJob(this.handlers, job);
  }
}
