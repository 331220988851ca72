import { Injectable, Logger } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { Clock } from '@/infra/clock/clock';
import { AppConfig } from '@/infra/config/app-config';
import { JOBS } from '@/infra/queues/job-catalogue';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { WebhooksRepository } from './webhooks.repository';

const SWEEP_BATCH = 500;
const PRUNE_BATCH = 1_000;
const DAY_MS = 24 * 3_600_000;

export interface SweepReport {
  requeued: number;
  failed: number;
}

/**
 * The deliveries' backstops. The sweep re-creates from Postgres the jobs Redis lost, like the
 * outbox reconciler: a PENDING delivery overdue by RECONCILE_STRANDED_AFTER_MS whose job is gone
 * (a crash between the dispatch commit and the enqueue, Redis without persistence) is enqueued
 * again; one whose job failed for good without recording it (stalled too often) is FAILED, so
 * its owner sees it and can replay it. The prune keeps the delivery log to its retention.
 */
@Injectable()
export class WebhookMaintenance {
  private readonly logger = new Logger(WebhookMaintenance.name);

  constructor(
    private readonly webhooks: WebhooksRepository,
    private readonly producer: JobProducer,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  async sweepStranded(): Promise<SweepReport> {
    const now = this.clock.now();
    const dueBefore = new Date(now.getTime() - this.config.env.RECONCILE_STRANDED_AFTER_MS);
    const overdue = await this.webhooks.systemFindOverdueDeliveries(dueBefore, SWEEP_BATCH);
    const queue = this.producer.queue(JOBS['webhooks.deliver'].queue);
    const report: SweepReport = { requeued: 0, failed: 0 };
    for (const delivery of overdue) {
      const jobId = `${delivery.id}-${delivery.run}`;
      const job = await queue.getJob(jobId);
      if (job === undefined) {
        await this.producer.enqueue(
          'webhooks.deliver',
          { deliveryId: delivery.id, run: delivery.run },
          { jobId },
        );
        report.requeued += 1;
      } else if ((await job.getState()) === 'failed') {
        await this.failDelivery(delivery.id, delivery.run, `delivery job failed: ${job.failedReason}`);
        report.failed += 1;
      }
      // Any other state: the job is waiting, delayed or running, on its way.
    }
    if (report.requeued + report.failed > 0) {
      this.logger.warn(`webhook sweep: ${report.requeued} re-enqueued, ${report.failed} failed`);
    }
    return report;
  }

  /** Deletes finished deliveries last changed before the retention; returns how many. */
  async pruneDeliveries(): Promise<number> {
    const cutoff = new Date(
      this.clock.now().getTime() - this.config.env.WEBHOOK_DELIVERY_RETENTION_DAYS * DAY_MS,
    );
    let pruned = 0;
    for (;;) {
      const count = await this.webhooks.systemPruneFinishedDeliveries(cutoff, PRUNE_BATCH);
      pruned += count;
      if (count < PRUNE_BATCH) return pruned;
    }
  }

  @Transactional()
  private async failDelivery(id: string, run: number, error: string): Promise<void> {
    await this.webhooks.systemFailDelivery(id, run, error.slice(0, 500), this.clock.now());
  }
}
