import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { Clock } from '../../infra/clock/clock';
import { dispatchJob, type JobHandlers } from '../../infra/queues/job-dispatch';
import { LeaseLifecycleService } from './lease-lifecycle.service';

/** The lease sweep. Thin: the service holds the rules; errors propagate for retries. */
@Injectable()
export class LeasesProcessor extends WorkerHost {
  private readonly logger = new Logger(LeasesProcessor.name);
  private readonly handlers: JobHandlers<'leases'> = {
    'leases.sweep': async () => void (await this.lifecycle.sweep()),
  };

  constructor(
    private readonly lifecycle: LeaseLifecycleService,
    private readonly clock: Clock,
  ) {
    super();
  }

  async process(job: Job): Promise<void> {
    await this.clock.sync();
    await dispatchJob(this.handlers, job);
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, error: Error): void {
    this.logger.warn(
      `job ${job?.name ?? '?'} ${job?.id ?? '?'} failed (attempt ${job?.attemptsMade ?? '?'}): ${error.message}`,
    );
  }
}
