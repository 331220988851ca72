import { getQueueToken } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { Queue } from 'bullmq';
import { AppModule } from '@/app/app.module';
import { WorkerShutdown } from '@/infra/queues/worker-shutdown.service';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { EventConsumer, type EventHandler } from '@/infra/events/event-consumer';
import { OutboxService } from '@/modules/events/outbox.service';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { bidPlacedPayload } from '../support/event-payloads';

/** A consumer that takes `SlowConsumer.ms` to handle an event. */
@EventConsumer({ consumer: 'test-slow', types: ['bid.placed'] })
@Injectable()
class SlowConsumer implements EventHandler {
  static ms = 0;
  static finished: string[] = [];

  async handle(event: { id: string }): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, SlowConsumer.ms));
    SlowConsumer.finished.push(event.id);
  }
}

async function startWorker(grace: number): Promise<TestingModule> {
  const module = await Test.createTestingModule({
    imports: [
      AppModule.register(testConfig({ SHUTDOWN_GRACE_MS: String(grace) }), { api: false, worker: true }),
    ],
    providers: [SlowConsumer],
  }).compile();
  await module.init();
  return module;
}

async function placeEventAndWaitActive(module: TestingModule): Promise<string> {
  const event = await module.get(TransactionHost).withTransaction(() =>
    module.get(OutboxService).record({
      type: 'bid.placed',
      aggregateType: 'bid',
      aggregateId: 'shutdown-test',
      payload: bidPlacedPayload(),
    }),
  );
  const queue = module.get<Queue>(getQueueToken('events'));
  await waitFor('the job to be active', async () =>
    (await queue.getJobState(event.id)) === 'active' ? true : undefined,
  );
  return event.id;
}

describe('worker shutdown drains active jobs for a bounded grace', () => {
  afterEach(() => {
    SlowConsumer.finished = [];
  });

  it('waits for an active job that finishes within the grace', async () => {
    SlowConsumer.ms = 600;
    const module = await startWorker(5_000);
    try {
      const id = await placeEventAndWaitActive(module);
      await module.get(WorkerShutdown).beforeApplicationShutdown();
      expect(SlowConsumer.finished).toEqual([id]);
    } finally {
      await module.get(PrismaService).outboxEvent.deleteMany({ where: { aggregateId: 'shutdown-test' } });
      await module.close();
    }
  });

  it('stops waiting after the grace when a job runs longer', async () => {
    SlowConsumer.ms = 2_500;
    const module = await startWorker(300);
    try {
      await placeEventAndWaitActive(module);
      const started = Date.now();
      await module.get(WorkerShutdown).beforeApplicationShutdown();
      const waited = Date.now() - started;
      expect(SlowConsumer.finished).toEqual([]);
      expect(waited).toBeGreaterThanOrEqual(290);
    } finally {
      await module.get(PrismaService).outboxEvent.deleteMany({ where: { aggregateId: 'shutdown-test' } });
      // The in-process close still lets the job finish; a real process exits at its deadline.
      await module.close();
    }
  });
});
