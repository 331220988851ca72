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
import { WebhooksRepository, type DispatchCursor, type QueuedDelivery } from './webhooks.repository';

/** Events read per dispatch transaction. */
export const DISPATCH_BATCH = 500;

/** A pass that found the cursor taken tries again after this long at least (never a busy loop). */
const BUSY_RETRY_MIN_MS = 25;

type Batch = { events: number; deliveries: QueuedDelivery[] } | 'busy';
const NOTHING: Batch = { events: 0, deliveries: [] };

/**
 * Turns published outbox events into webhook deliveries in batches behind one cursor, so several
 * workers never dispatch an event twice nor wait on each other (docs/EVENTS.md "Webhooks").
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private readonly runner: CoalescedRunner;
  private readonly busyRetryMs: number;
  private unlisten: (() => void) | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopping = false;
  // What the last pass saw; it picks the next pass's first statement (either path checks again).
  private endpointsSeen = false;

  constructor(
    private readonly outbox: OutboxService,
    private readonly webhooks: WebhooksRepository,
    private readonly producer: JobProducer,
    private readonly clock: Clock,
    config: AppConfig,
  ) {
    this.busyRetryMs = Math.max(config.env.WEBHOOK_DISPATCH_MIN_INTERVAL_MS, BUSY_RETRY_MIN_MS);
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
    clearTimeout(this.retry);
    await this.runner.stop();
  }

  /** Starts a pass soon, or folds into the next one: no wake-up is lost. */
  wake(): void {
    this.runner.wake();
  }

  /**
   * Dispatches every published event after the cursor; returns the deliveries created. When
   * another dispatcher holds the cursor it returns at once and this one passes again later.
   */
  async dispatchPending(): Promise<number> {
    let created = 0;
    for (;;) {
      const batch = await this.dispatchBatch();
      if (batch === 'busy') {
        // The holder may have read before the events this pass was woken for: look again.
        if (!this.stopping && this.retry === undefined) {
          this.retry = setTimeout(() => {
            this.retry = undefined;
            this.wake();
          }, this.busyRetryMs);
        }
        return created;
      }
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

  private async dispatchBatch(): Promise<Batch> {
    if (!this.endpointsSeen) {
      const cursor = await this.webhooks.systemSkipDispatchCursorToLatest(this.clock.now());
      if (cursor === 'busy') return 'busy';
      if (cursor !== 'missing' && !cursor.endpoints) return NOTHING;
    }
    return this.dispatchEvents();
  }

  @Transactional()
  private async dispatchEvents(): Promise<Batch> {
    const now = this.clock.now();
    const cursor = await this.takeCursor(now);
    if (cursor === 'busy') return 'busy';
    this.endpointsSeen = cursor.endpoints;
    if (!cursor.endpoints) {
      // Nobody to deliver to: skip to the newest position, every one below it is committed.
      const latest = await this.outbox.systemLatestPosition();
      if (latest > cursor.position) await this.webhooks.systemAdvanceDispatchCursor(latest, now);
      return NOTHING;
    }
    const events = await this.outbox.systemListPublishedAfter(cursor.position, DISPATCH_BATCH);
    const last = events.at(-1);
    if (last === undefined) return NOTHING;
    const endpoints = await this.webhooks.systemFindEnabledEndpoints(audienceOf(events));
    const deliveries = await this.webhooks.systemCreateDeliveriesAndAdvance(
      planDeliveries(events, endpoints),
      last.position,
      now,
    );
    return { events: events.length, deliveries };
  }

  /** The cursor under its row lock, or 'busy'; a new database starts it at the newest event. */
  private async takeCursor(now: Date): Promise<DispatchCursor | 'busy'> {
    const cursor = await this.webhooks.systemTakeDispatchCursor();
    if (cursor !== 'missing') return cursor;
    await this.webhooks.systemCreateDispatchCursor(await this.outbox.systemLatestPosition(), now);
    const created = await this.webhooks.systemTakeDispatchCursor();
    if (created === 'missing') throw new Error('webhook dispatch cursor missing after its creation');
    return created;
  }
}
