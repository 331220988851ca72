import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { Job } from 'bullmq';
import { AppModule } from '@/app/app.module';
import { DatabasePool } from '@/infra/prisma/database-pool';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { WORKER_CONCURRENCY } from '@/infra/queues/worker-concurrency';
import { EventConsumer, type EventHandler } from '@/infra/events/event-consumer';
import { EventsProcessor } from '@/modules/events/events.processor';
import { OutboxService } from '@/modules/events/outbox.service';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { payoutPaidPayload } from '../support/event-payloads';

const SLOTS = WORKER_CONCURRENCY.events;

/**
 * Holds each delivery inside its inbox transaction until every job slot of the events queue is
 * in one at the same time: only a pool with a connection per slot gets them all there.
 */
@EventConsumer({ consumer: 'test-pool-barrier', types: ['payout.paid'] })
@Injectable()
class BarrierConsumer implements EventHandler {
  static inside = 0;
  static peak = 0;
  static done: string[] = [];

  async handle(event: { id: string }): Promise<void> {
    BarrierConsumer.inside += 1;
    BarrierConsumer.peak = Math.max(BarrierConsumer.peak, BarrierConsumer.inside);
    try {
      // Released when all are in; gives up long before the transaction timeout otherwise.
      await waitFor(
        'every slot in a transaction',
        () => (BarrierConsumer.peak >= SLOTS ? true : undefined),
        6_000,
      );
    } finally {
      BarrierConsumer.inside -= 1;
    }
    BarrierConsumer.done.push(event.id);
  }
}

describe('a worker restarted into a backlog', () => {
  let module: TestingModule;

  afterAll(async () => {
    await module.get(PrismaService).outboxEvent.deleteMany({ where: { aggregateId: 'pool-test' } });
    await module.get(PrismaService).inboxEvent.deleteMany({ where: { consumer: 'test-pool-barrier' } });
    await module.close();
  });

  it('runs as many transactions at once as it has job slots, and fails none of its first jobs', async () => {
    // The product's pool and transaction settings, not the small pool other tests use.
    const config = testConfig({ DATABASE_POOL_MAX: '' });
    module = await Test.createTestingModule({
      imports: [AppModule.register(config, { api: false, worker: true })],
      providers: [BarrierConsumer],
    }).compile();
    const failed: string[] = [];
    await module.init();
    module.get(EventsProcessor).worker.on('failed', (job: Job | undefined, error: Error) => {
      failed.push(`${job?.id ?? '?'}: ${error.message}`);
    });
    expect(module.get(DatabasePool).max).toBeGreaterThanOrEqual(
      Object.values(WORKER_CONCURRENCY).reduce((a, b) => a + b, 0),
    );

    await module.get(TransactionHost).withTransaction(async () => {
      for (let i = 0; i < SLOTS; i += 1) {
        await module.get(OutboxService).record({
          type: 'payout.paid',
          aggregateType: 'payout',
          aggregateId: 'pool-test',
          payload: payoutPaidPayload(),
        });
      }
    });
    await waitFor('every delivery to finish or fail', () =>
      BarrierConsumer.done.length + failed.length >= SLOTS ? true : undefined,
    );
    expect(failed).toEqual([]);
    expect(BarrierConsumer.peak).toBe(SLOTS);
  });
});
