import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { Clock } from '../../infra/clock/clock';
import { dispatchJob, type JobHandlers } from '../../infra/queues/job-dispatch';
import { OutboxReconciler } from './outbox-reconciler.service';

@Injectable()
export class MaintenanceProcessor extends WorkerHost {
  private readonly logger = new Logger(MaintenanceProcessor.name);
  private readonly handlers: JobHandlers<'maintenance'> = {
    'maintenance.reconcile': async () => {
      await this.reconciler.reconcile();
    },
  };

  constructor(
    private readonly reconciler: OutboxReconciler,
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
    this.logger.warn(`job ${job?.name ?? '?'} failed: ${error.message}`);
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.logger.warn(`maintenance worker: ${error.message}`);
  }
}
