import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { Client } from 'pg';
import { Clock } from '@/infra/clock/clock';
import { AppConfig } from '@/infra/config/app-config';
import type { PrismaPgTransactionalAdapter } from '@/infra/prisma/prisma-pg-transactional-adapter';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { CoalescedRunner } from '@/shared/coalesced-runner';
import { EventConsumersRegistry } from './event-consumers.registry';
import { LiveEventsBus } from './live-events.bus';
import { OutboxRepository, type PublishedBatch } from './outbox.repository';
import { RELAY_LEADER_RENEW_MS, RelayLeadership } from './relay-leadership';

const BATCH = 500;
const ENQUEUE_TIMEOUT_MS = 5_000;
export const OUTBOX_CHANNEL = 'outbox_events';

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Publishes committed outbox rows to BullMQ with the event id as job id. Woken by the insert
 * trigger's NOTIFY on the one relay that leads (RelayLeadership); a poll on every relay covers
 * lost notifications, a dropped LISTEN connection and a leader that died. Several relays (one
 * per worker process) skip each other's rows.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private listener: Client | undefined;
  private poll: NodeJS.Timeout | undefined;
  private renew: NodeJS.Timeout | undefined;
  private reconnect: NodeJS.Timeout | undefined;
  // The relay is on every order's way to matching: a pass at once when idle, and under load at
  // most one per OUTBOX_RELAY_INTERVAL_MS (docs/EVENTS.md "Guarantees").
  private readonly runner: CoalescedRunner;
  private stopped = false;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly producer: JobProducer,
    private readonly consumers: EventConsumersRegistry,
    private readonly live: LiveEventsBus,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly leadership: RelayLeadership,
  ) {
    this.runner = new CoalescedRunner(
      () => this.drain(),
      config.env.OUTBOX_RELAY_INTERVAL_MS,
      (error) => this.logger.warn(`outbox relay: ${error.message}; retrying on the next tick`),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.leadership.refresh();
    this.renew = setInterval(() => void this.leadership.refresh(), RELAY_LEADER_RENEW_MS);
    await this.listen();
    this.poll = setInterval(() => this.wake(), this.config.env.OUTBOX_POLL_INTERVAL_MS);
    this.wake();
  }

  // Before the database and Redis close: a relay pass in flight finishes first.
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    clearInterval(this.renew);
    clearTimeout(this.reconnect);
    await this.runner.stop();
    await this.leadership.resign();
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
  }

  /** Starts a drain, or asks the running one to go round again: no wakeup is lost. */
  wake(): void {
    this.runner.wake();
  }

  /** Publishes until the outbox is empty; for the reconciler and tests. */
  async drainNow(): Promise<void> {
    await this.runner.idle();
    await this.drain().catch((error: Error) =>
      this.logger.warn(`outbox relay: ${error.message}; retrying on the next tick`),
    );
  }

  private async drain(): Promise<void> {
    let count = BATCH;
    while (count === BATCH && !this.stopped) {
      const batch = await this.relayBatch();
      count = batch.count;
      // After the commit, so a stream woken by it finds the rows. A lost announcement only
      // delays streams until their next heartbeat re-read.
      await this.live
        .announce(batch.published)
        .catch((error: Error) => this.logger.warn(`live events announcement: ${error.message}`));
    }
  }

  // A raw pg transaction (docs/ARCHITECTURE.md "Raw pg transactions"): the relay runs once per
  // batch of placements, and the triggers it calls read with raw SQL only.
  @Transactional<PrismaPgTransactionalAdapter>({ driver: 'pg' })
  private async relayBatch(): Promise<{ count: number; published: PublishedBatch }> {
    // Only the leader waits for the position lock; a poller that finds it taken leaves the rows to
    // the relay holding it and to the leader, which every insert wakes (docs/EVENTS.md).
    const { events, published } = await this.outbox.systemClaimAndMarkPublished(
      BATCH,
      this.clock.now(),
      this.leadership.isLeader,
    );
    if (events.length === 0) return { count: 0, published };
    // An event no inbox consumer reads needs no deliver job (a run records three per fill): it
    // stays in the outbox, and the reconciler re-publishes it for a consumer that a later
    // release adds. Triggers (matching) add their own deduplicated jobs straight away.
    const wanted = events.filter((event) => this.consumers.delivered(event.type));
    // Marked published above, but only if this commits: if an add fails the transaction rolls
    // back and the rows stay unpublished; if the commit fails after the adds, the rows are
    // re-claimed and re-added: deliver jobs under the same job ids (a no-op while the jobs exist,
    // deduplicated by the inbox after that), trigger jobs deduplicated by the triggers.
    await withTimeout(
      Promise.all([
        this.producer.enqueueMany(
          'events.deliver',
          wanted.map((event) => ({ payload: event, jobId: event.id })),
        ),
        this.consumers.trigger(events),
      ]),
      ENQUEUE_TIMEOUT_MS,
      'enqueueing outbox events',
    );
    return { count: events.length, published };
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({ connectionString: this.config.env.DATABASE_URL });
    const retry = (): void => {
      client.removeAllListeners();
      void client.end().catch(() => undefined);
      if (this.listener === client) this.listener = undefined;
      if (!this.stopped) this.reconnect = setTimeout(() => void this.listen(), 1_000);
    };
    // Only the leader answers notifications; the others poll (RelayLeadership).
    client.on('notification', () => {
      if (this.leadership.isLeader) this.wake();
    });
    client.on('error', (error) => {
      this.logger.warn(`outbox listener: ${error.message}; polling until it reconnects`);
      retry();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      this.listener = client;
    } catch (error) {
      this.logger.warn(`outbox listener: ${(error as Error).message}; polling until it reconnects`);
      retry();
    }
  }
}
