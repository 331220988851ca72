import { getQueueToken } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { Queue } from 'bullmq';
import { AppModule } from '@/app/app.module';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { EventConsumer, type EventHandler } from '@/infra/events/event-consumer';
import type { EventEnvelope } from '@/infra/events/event-envelope.dto';
import { OutboxReconciler } from '@/modules/events/outbox-reconciler.service';
import { OutboxRelay } from '@/modules/events/outbox-relay.service';
import { OutboxRepository, STREAM_POSITION_LOCK } from '@/modules/events/outbox.repository';
import { OutboxService } from '@/modules/events/outbox.service';
import {
  RELAY_LEADER_RENEW_MS,
  RELAY_LEADER_TTL_MS,
  RelayLeadership,
} from '@/modules/events/relay-leadership';
import { RedisService } from '@/infra/redis/redis.service';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { offerPlacedPayload, payoutPaidPayload } from '../support/event-payloads';
import { Tx } from '@/infra/prisma/tx';
import { Client } from 'pg';

const CONSUMER = 'test-effects';

/** A consumer with a real database effect: one row per handled event. */
@EventConsumer({ consumer: CONSUMER, types: ['offer.placed'] })
@Injectable()
class EffectConsumer implements EventHandler {
  constructor(private readonly txHost: Tx) {}

  async handle(event: EventEnvelope): Promise<void> {
    await this.txHost.tx.$executeRaw`INSERT INTO test_effects (event_id) VALUES (${event.id}::uuid)`;
  }
}

describe('outbox -> BullMQ -> inbox (real PostgreSQL and Redis)', () => {
  let module: TestingModule;
  let prisma: PrismaService;
  let outbox: OutboxService;
  let txHost: TransactionHost;
  let queue: Queue;
  const created: string[] = [];

  async function effects(eventId: string): Promise<number> {
    const rows = await prisma.$queryRaw<Array<{ n: bigint }>>`
      SELECT count(*) AS n FROM test_effects WHERE event_id = ${eventId}::uuid`;
    return Number(rows[0]?.n ?? 0);
  }

  async function recordEvent(aggregateId: string): Promise<EventEnvelope> {
    const event = await txHost.withTransaction(() =>
      outbox.record({
        type: 'offer.placed',
        aggregateType: 'offer',
        aggregateId,
        payload: offerPlacedPayload(),
      }),
    );
    created.push(event.id);
    return event;
  }

  beforeAll(async () => {
    const config = testConfig();
    module = await Test.createTestingModule({
      imports: [AppModule.register(config, { api: false, worker: true })],
      providers: [EffectConsumer],
    }).compile();
    await module.init();
    prisma = module.get(PrismaService);
    outbox = module.get(OutboxService);
    txHost = module.get(TransactionHost);
    queue = module.get<Queue>(getQueueToken('events'));
    await prisma.$executeRaw`CREATE TABLE IF NOT EXISTS test_effects (id bigserial PRIMARY KEY, event_id uuid NOT NULL)`;
  });

  afterAll(async () => {
    await prisma.$executeRaw`DROP TABLE IF EXISTS test_effects`;
    await prisma.$executeRaw`DELETE FROM inbox_events WHERE event_id = ANY(${created}::uuid[])`;
    await prisma.$executeRaw`DELETE FROM outbox_events WHERE id = ANY(${created}::uuid[])`;
    await queue.obliterate({ force: true });
    await module.close();
  });

  it('delivers a committed event once, and not again when re-published after retention removed its job', async () => {
    const event = await recordEvent('offer-1');
    await waitFor('the consumer effect', async () => ((await effects(event.id)) === 1 ? true : undefined));
    const job = await waitFor('the completed job', async () => {
      const found = await queue.getJob(event.id);
      return found && (await found.isCompleted()) ? found : undefined;
    });
    expect(job.id).toBe(event.id);

    // Retention removes the job; then the row is published again (as after a relay crash).
    await job.remove();
    await prisma.$executeRaw`UPDATE outbox_events SET published_at = NULL WHERE id = ${event.id}::uuid`;
    module.get(OutboxRelay).wake();
    await waitFor('the re-published job to complete', async () => {
      const again = await queue.getJob(event.id);
      return again && (await again.isCompleted()) ? again : undefined;
    });

    expect(await effects(event.id)).toBe(1);
    // The job may run before the relay's transaction marks the row; wait for the commit.
    const row = await waitFor('the second publication to commit', async () => {
      const found = await prisma.outboxEvent.findUniqueOrThrow({ where: { id: event.id } });
      return found.publishCount === 2 ? found : undefined;
    });
    expect(row.publishedAt).not.toBeNull();
  });

  it('marks an event no consumer reads as published without queueing a job', async () => {
    const event = await txHost.withTransaction(() =>
      outbox.record({
        type: 'payout.paid',
        aggregateType: 'payout',
        aggregateId: 'payout-1',
        payload: payoutPaidPayload(),
      }),
    );
    created.push(event.id);
    module.get(OutboxRelay).wake();
    const row = await waitFor('the event to be published', async () => {
      const found = await prisma.outboxEvent.findUniqueOrThrow({ where: { id: event.id } });
      return found.publishedAt === null ? undefined : found;
    });
    expect(row.publishCount).toBe(1);
    expect(await queue.getJob(event.id)).toBeUndefined();
  });

  it('does not publish an event whose transaction rolled back', async () => {
    const rolledBack = txHost.withTransaction(async () => {
      const event = await outbox.record({
        type: 'offer.placed',
        aggregateType: 'offer',
        aggregateId: 'offer-rb',
        payload: offerPlacedPayload(),
      });
      created.push(event.id);
      throw new Error('business rule failed');
    });
    await expect(rolledBack).rejects.toThrow('business rule failed');
    const rows = await prisma.outboxEvent.count({ where: { aggregateId: 'offer-rb' } });
    expect(rows).toBe(0);
  });

  it('refuses to record an event outside a transaction', async () => {
    await expect(async () =>
      outbox.record({
        type: 'offer.placed',
        aggregateType: 'offer',
        aggregateId: 'x',
        payload: offerPlacedPayload(),
      }),
    ).rejects.toThrow(/MANDATORY/);
    expect(await prisma.outboxEvent.count({ where: { aggregateId: 'x' } })).toBe(0);
  });

  it('reconciler re-publishes an event whose job Redis lost, exactly once', async () => {
    // Published long ago, no job in Redis, never consumed: what a Redis restart leaves behind.
    const { id } = await prisma.outboxEvent.create({
      data: {
        type: 'offer.placed',
        aggregateType: 'offer',
        aggregateId: 'offer-lost',
        payload: {},
        occurredAt: new Date(Date.now() - 120_000),
        publishedAt: new Date(Date.now() - 60_000),
        publishCount: 1,
      },
    });
    created.push(id);
    expect(await queue.getJob(id)).toBeUndefined();

    const reconciler = module.get(OutboxReconciler);
    expect(await reconciler.reconcile()).toEqual({ republished: 1 });
    await waitFor('the stranded event effect', async () => ((await effects(id)) === 1 ? true : undefined));
    // Consumed now: a second pass finds nothing, and the effect stays single.
    expect(await reconciler.reconcile()).toEqual({ republished: 0 });
    expect(await effects(id)).toBe(1);
  });

  it('fails a job with an invalid payload without retrying it', async () => {
    const bad = await queue.add('events.deliver', { id: 'not-a-uuid' }, { attempts: 5 });
    await waitFor('the invalid job to fail', async () =>
      (await queue.getJobState(bad.id!)) === 'failed' ? true : undefined,
    );
    // Given time to retry, it stays failed after its single start.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const failed = await queue.getJob(bad.id!);
    expect(await failed?.getState()).toBe('failed');
    expect(failed?.failedReason).toMatch(/invalid payload/);
    expect(failed?.attemptsStarted).toBe(1);
  });

  it('lets one relay answer notifications; another still publishes by polling, and takes over a lapsed lease', async () => {
    const ours = module.get(RelayLeadership);
    expect(ours.isLeader).toBe(true);
    // A second worker's relay on the same Redis cannot lead while ours renews.
    const other = new RelayLeadership(module.get(RedisService));
    expect(await other.refresh()).toBe(false);

    // Ours steps down and the other takes the lease: no relay in this process answers NOTIFY,
    // yet the poll (OUTBOX_POLL_INTERVAL_MS) still publishes and delivers.
    // (Ours renews every RELAY_LEADER_RENEW_MS and may retake it in between: try again then.)
    await waitFor('the other relay to lead', async () => {
      await ours.resign();
      return (await other.refresh()) ? true : undefined;
    });
    expect(await ours.refresh()).toBe(false);
    const event = await recordEvent('offer-leader');
    await waitFor('the consumer effect by polling', async () =>
      (await effects(event.id)) === 1 ? true : undefined,
    );

    // The other stops renewing (a killed worker): after its lease lapses ours takes it back on a
    // renewal of its own, with nothing else happening.
    await waitFor(
      'our relay to lead again',
      () => Promise.resolve(ours.isLeader ? true : undefined),
      RELAY_LEADER_TTL_MS + 3 * RELAY_LEADER_RENEW_MS,
    );
    expect(await other.refresh()).toBe(false);
  }, 30_000);

  it('a polling relay skips the position lock another relay holds instead of waiting, and publishes after', async () => {
    // This process's relay only polls: another worker leads (and answers no NOTIFY here).
    const ours = module.get(RelayLeadership);
    const other = new RelayLeadership(module.get(RedisService));
    await waitFor('the other relay to lead', async () => {
      await ours.resign();
      return (await other.refresh()) ? true : undefined;
    });
    const holder = new Client({ connectionString: testConfig().env.DATABASE_URL });
    await holder.connect();
    try {
      // Another relay between its claim and its commit.
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1::bigint)', [STREAM_POSITION_LOCK]);
      const event = await recordEvent('offer-skip');
      // A claim that waited for the lock would not return before the ROLLBACK below.
      const claim = await txHost.withTransaction(() =>
        module.get(OutboxRepository).systemClaimAndMarkPublished(500, new Date(), false),
      );
      expect(claim.events).toEqual([]);
      const row = await prisma.outboxEvent.findUniqueOrThrow({ where: { id: event.id } });
      expect(row.publishedAt).toBeNull();
      await holder.query('ROLLBACK');
      // The poll publishes it once the lock is free.
      await waitFor('the consumer effect', async () => ((await effects(event.id)) === 1 ? true : undefined));
    } finally {
      await holder.end();
      await other.resign();
    }
    await waitFor(
      'our relay to lead again',
      () => Promise.resolve(ours.isLeader ? true : undefined),
      RELAY_LEADER_TTL_MS + 3 * RELAY_LEADER_RENEW_MS,
    );
  }, 30_000);
});
