import { getQueueToken } from '@nestjs/bullmq';
import { Test, type TestingModule } from '@nestjs/testing';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { Queue } from 'bullmq';
import { AppModule } from '@/app/app.module';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { OutboxRelay } from '@/modules/events/outbox-relay.service';
import { OutboxService } from '@/modules/events/outbox.service';
import { payoutPaidPayload } from '../support/event-payloads';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';

const RELAY_INTERVAL_MS = 300;

/**
 * OUTBOX_RELAY_INTERVAL_MS (docs/EVENTS.md "Guarantees"): a busy relay starts its passes at least
 * the interval apart, and loses no event committed meanwhile; an idle one publishes at once.
 */
describe('outbox relay interval (real PostgreSQL and Redis)', () => {
  let module: TestingModule;
  let prisma: PrismaService;
  let outbox: OutboxService;
  let txHost: TransactionHost;
  let relay: { drain: () => Promise<void> };
  const created: string[] = [];
  const starts: number[] = [];

  async function publishedEvent(): Promise<{ askedAt: number; passes: number }> {
    // Before the commit: its NOTIFY may start the pass before the commit's promise resolves here.
    const askedAt = performance.now();
    const event = await txHost.withTransaction(() =>
      outbox.record({
        type: 'payout.paid',
        aggregateType: 'payout',
        aggregateId: 'relay-interval',
        payload: payoutPaidPayload(),
      }),
    );
    created.push(event.id);
    await waitFor('the event to be published', async () => {
      const row = await prisma.outboxEvent.findUniqueOrThrow({ where: { id: event.id } });
      return row.publishedAt === null ? undefined : true;
    });
    return { askedAt, passes: starts.length };
  }

  beforeAll(async () => {
    module = await Test.createTestingModule({
      imports: [
        AppModule.register(
          testConfig({
            OUTBOX_RELAY_INTERVAL_MS: String(RELAY_INTERVAL_MS),
            // No poll: between passes only the inserts' NOTIFY wakes the relay.
            OUTBOX_POLL_INTERVAL_MS: '600000',
          }),
          {
            api: false,
            worker: true,
          },
        ),
      ],
    }).compile();
    await module.init();
    prisma = module.get(PrismaService);
    outbox = module.get(OutboxService);
    txHost = module.get(TransactionHost);
    // The runner calls `this.drain()` at each pass: counted here, as the service runs it.
    relay = module.get<OutboxRelay, typeof relay>(OutboxRelay);
    const drain = relay.drain.bind(relay);
    relay.drain = () => {
      starts.push(performance.now());
      return drain();
    };
  });

  afterAll(async () => {
    await prisma.$executeRaw`DELETE FROM outbox_events WHERE id = ANY(${created}::uuid[])`;
    await module.get<Queue>(getQueueToken('events')).obliterate({ force: true });
    await module.close();
  });

  it('starts passes at least the interval apart, publishing what came meanwhile, and an idle relay at once', async () => {
    const first = await publishedEvent();
    // Committed right after the first was published: inside the interval of the pass that did.
    const second = await publishedEvent();
    expect(second.passes).toBeGreaterThan(first.passes);
    // The runner waits by performance.now(), read a hair before these are taken: 5 ms of slack
    // for a GC pause in between, where passes without the interval are a few ms apart.
    for (let i = 1; i < starts.length; i += 1)
      expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(RELAY_INTERVAL_MS - 5);

    // The time itself is what is tested here: nothing else says the interval has passed.
    await new Promise((resolve) =>
      setTimeout(resolve, starts.at(-1)! + RELAY_INTERVAL_MS - performance.now() + 5),
    );
    const idle = await publishedEvent();
    const pass = starts.find((at) => at >= idle.askedAt);
    expect(pass).toBeDefined();
    expect(pass! - idle.askedAt).toBeLessThan(RELAY_INTERVAL_MS);
  });
});
