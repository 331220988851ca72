import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '@/infra/clock/clock';
import { AppConfig } from '@/infra/config/app-config';
import { JOBS } from '@/infra/queues/job-catalogue';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { EventConsumersRegistry } from './event-consumers.registry';
import { OutboxRelay } from './outbox-relay.service';
import { OutboxRepository } from './outbox.repository';

const LOOKBACK_MS = 24 * 3_600_000;
const BATCH = 500;

export interface ReconcileReport {
  republished: number;
}

/**
 * Re-creates from Postgres the event work Redis lost: publishes rows the relay missed, and
 * re-publishes events a consumer never recorded whose job no longer exists (Redis restarted
 * without persistence, or a job vanished). A job that still exists, failed ones included, is
 * left alone: it is either on its way or waiting for an operator.
 */
@Injectable()
export class OutboxReconciler {
  private readonly logger = new Logger(OutboxReconciler.name);

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly relay: OutboxRelay,
    private readonly consumers: EventConsumersRegistry,
    private readonly producer: JobProducer,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  async reconcile(): Promise<ReconcileReport> {
    await this.relay.drainNow();
    const now = this.clock.now().getTime();
    const since = new Date(now - LOOKBACK_MS);
    const before = new Date(now - this.config.env.RECONCILE_STRANDED_AFTER_MS);
    const queue = this.producer.queue(JOBS['events.deliver'].queue);
    const republished: string[] = [];
    for (const { consumer, types } of this.consumers.all()) {
      const events = await this.outbox.systemFindUnconsumed(consumer, types, since, before, BATCH);
      for (const event of events) {
        if (republished.includes(event.id)) continue;
        if ((await queue.getJob(event.id)) !== undefined) continue;
        await this.producer.enqueue('events.deliver', event, { jobId: event.id });
        republished.push(event.id);
      }
    }
    await this.outbox.systemCountRepublished(republished);
    if (republished.length > 0) {
      this.logger.warn(`re-published ${republished.length} stranded events`);
    }
    return { republished: republished.length };
  }
}
