import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { Clock } from '@/infra/clock/clock';
import { AppConfig } from '@/infra/config/app-config';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { CoalescedRunner } from '@/shared/coalesced-runner';
import { OutboxService } from '@/modules/events/outbox.service';
import { audienceOf, planDeliveries } from './domain/delivery-plan';
import { WebhooksRepository, type QueuedDelivery } from './webhooks.repository';

/** Events read per dispatch transaction. */
export const DISPATCH_BATCH = 500;

/**
 * Turns published outbox events into webhook deliveries in batches, instead of one job and one
 * inbox transaction per event: it reads the events after a stored cursor in stream positions
 * (which only grow in commit order, so nothing committed behind the cursor is skipped), inserts
 * one delivery per subscribed endpoint and moves the cursor in one transaction that holds the
 * cursor row's lock, so several workers never dispatch an event twice; the delivery jobs are
 * enqueued after the commit. With no enabled endpoint anywhere a batch is only a cursor move.
 * Woken by the relay's announcement of each published batch, at most once per
 * `WEBHOOK_DISPATCH_MIN_INTERVAL_MS` (every worker hears every announcement, and one pass per
 * announcement cost each worker a cursor-lock transaction per relay pass); `webhooks.dispatch`
 * runs it on a schedule as the backstop, and the sweep enqueues what a crash after a commit left
 * without a job.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private readonly runner: CoalescedRunner;
  private unlisten: (() => void) | undefined;
  private stopping = false;

  constructor(
    private readonly outbox: OutboxService,
    private readonly webhooks: WebhooksRepository,
    private readonly producer: JobProducer,
    private readonly clock: Clock,
    config: AppConfig,
  ) {
    this.runner = new CoalescedRunner(
      async () => {
        await this.dispatchPending();
      },
      config.env.WEBHOOK_DISPATCH_MIN_INTERVAL_MS,
      (error) => this.logger.warn(`webhook dispatch: ${error.message}; the scheduled pass retries`),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    this.unlisten = await this.outbox.onPublished(() => this.wake());
    this.wake();
  }

  // Before the database and Redis close: a pass in flight finishes first.
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.unlisten?.();
    await this.runner.stop();
  }

  /** Starts a pass soon, or folds into the next one: no wake-up is lost. */
  wake(): void {
    this.runner.wake();
  }

  /** Dispatches every published event after the cursor; returns the deliveries created. */
  async dispatchPending(): Promise<number> {
    let created = 0;
    for (;;) {
      const batch = await this.dispatchBatch();
      // After the commit, so a job never runs before its delivery row is visible. A crash here
      // leaves PENDING rows without jobs: the sweep enqueues them.
      await this.producer.enqueueMany(
        'webhooks.deliver',
        batch.deliveries.map((d) => ({
          payload: { deliveryId: d.id, run: d.run },
          jobId: `${d.id}-${d.run}`,
        })),
      );
      created += batch.deliveries.length;
      if (batch.events < DISPATCH_BATCH || this.stopping) return created;
    }
  }

  @Transactional()
  private async dispatchBatch(): Promise<{ events: number; deliveries: QueuedDelivery[] }> {
    const now = this.clock.now();
    const cursor = await this.lockCursor(now);
    if (!(await this.webhooks.systemHasEnabledEndpoints())) {
      // Nobody to deliver to: skip to the newest position, every one below it is committed.
      const latest = await this.outbox.systemLatestPosition();
      if (latest > cursor) await this.webhooks.systemAdvanceDispatchCursor(latest, now);
      return { events: 0, deliveries: [] };
    }
    const events = await this.outbox.systemListPublishedAfter(cursor, DISPATCH_BATCH);
    const last = events.at(-1);
    if (last === undefined) return { events: 0, deliveries: [] };
    const endpoints = await this.webhooks.systemFindEnabledEndpoints(audienceOf(events));
    const deliveries = await this.webhooks.systemCreateDeliveries(planDeliveries(events, endpoints), now);
    await this.webhooks.systemAdvanceDispatchCursor(last.position, now);
    return { events: events.length, deliveries };
  }

  /** The cursor's position under its row lock; a new database starts it at the newest event. */
  private async lockCursor(now: Date): Promise<bigint> {
    const position = await this.webhooks.systemLockDispatchCursor();
    if (position !== null) return position;
    await this.webhooks.systemCreateDispatchCursor(await this.outbox.systemLatestPosition(), now);
    const created = await this.webhooks.systemLockDispatchCursor();
    if (created === null) throw new Error('webhook dispatch cursor missing after its creation');
    return created;
  }
}
