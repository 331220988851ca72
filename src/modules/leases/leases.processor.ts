import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { dispatchJob, type JobHandlers } from '@/infra/queues/job-dispatch';
import { QueueProcessor } from '@/infra/queues/queue-processor.base';
import { LeaseLifecycleService } from './lease-lifecycle.service';

/** The lease sweep. Thin: the service holds the rules; errors propagate for retries. */
@Injectable()
export class LeasesProcessor extends QueueProcessor {
  private readonly handlers: JobHandlers<'leases'> = {
    'leases.sweep': async () => void (await this.lifecycle.sweep()),
  };

  constructor(private readonly lifecycle: LeaseLifecycleService) {
    super();
  }

  async process(job: Job): Promise<void> {
    await dispatchJob(this.handlers, job);
  }
}
