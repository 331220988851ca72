import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { Clock } from '@/infra/clock/clock';
import { IdempotencyRepository } from '@/infra/idempotency/idempotency.repository';
import { dispatchJob, type JobHandlers } from '@/infra/queues/job-dispatch';
import { MetricsCountersService } from '@/infra/metrics/metrics-counters.service';
import { QueueProcessor } from '@/infra/queues/queue-processor.base';
import { InboxRepository } from './inbox.repository';
import { OutboxReconciler } from './outbox-reconciler.service';
import { OutboxRepository } from './outbox.repository';

/** Published events and inbox rows are kept this long (replay and audit), then pruned. */
export const EVENT_RETENTION_MS = 7 * 24 * 3_600_000;
const PRUNE_BATCH = 5_000;

@Injectable()
export class MaintenanceProcessor extends QueueProcessor {
  private readonly handlers: JobHandlers<'maintenance'> = {
    'maintenance.reconcile': async () => {
      await this.reconciler.reconcile();
    },
    'maintenance.prune': async () => {
      await this.prune();
    },
  };

  constructor(
    private readonly reconciler: OutboxReconciler,
    private readonly idempotency: IdempotencyRepository,
    private readonly outbox: OutboxRepository,
    private readonly inbox: InboxRepository,
    private readonly clock: Clock,
    private readonly metricsCounters: MetricsCountersService,
  ) {
    super();
  }

  /**
   * Expired idempotency records, and outbox and inbox rows older than EVENT_RETENTION_MS (the
   * reconciler looks back 24 h), deleted in batches so no statement holds locks for long; and
   * the metrics counter rows of closed database connections, folded into one.
   */
  private async prune(): Promise<void> {
    const now = this.clock.now();
    const idempotency = await this.idempotency.systemDeleteExpired(now);
    const cutoff = new Date(now.getTime() - EVENT_RETENTION_MS);
    let outbox = 0;
    let inbox = 0;
    for (let removed = PRUNE_BATCH; removed === PRUNE_BATCH; outbox += removed) {
      removed = await this.outbox.systemPrunePublished(cutoff, PRUNE_BATCH);
    }
    for (let removed = PRUNE_BATCH; removed === PRUNE_BATCH; inbox += removed) {
      removed = await this.inbox.systemPrune(cutoff, PRUNE_BATCH);
    }
    const slots = await this.metricsCounters.foldGoneSlots();
    if (idempotency + outbox + inbox + slots > 0) {
      this.logger.log(
        `pruned ${idempotency} idempotency records, ${outbox} outbox events, ${inbox} inbox rows, ` +
          `${slots} metrics counter slots`,
      );
    }
  }

  async process(job: Job): Promise<void> {
    await dispatchJob(this.handlers, job);
  }
}
