import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { Clock } from '../../infra/clock/clock';
import { IdempotencyRepository } from '../../infra/idempotency/idempotency.repository';
import { dispatchJob, type JobHandlers } from '../../infra/queues/job-dispatch';
import { OutboxReconciler } from './outbox-reconciler.service';

@Injectable()
export class MaintenanceProcessor extends WorkerHost {
  private readonly logger = new Logger(MaintenanceProcessor.name);
  private readonly handlers: JobHandlers<'maintenance'> = {
    'maintenance.reconcile': async () => {
      await this.reconciler.reconcile();
    },
    'maintenance.prune': async () => {
      const removed = await this.idempotency.systemDeleteExpired(this.clock.now());
      if (removed > 0) this.logger.log(`pruned ${removed} expired idempotency records`);
    },
  };

  constructor(
    private readonly reconciler: OutboxReconciler,
    private readonly idempotency: IdempotencyRepository,
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
