import { Test, type TestingModule } from '@nestjs/testing';
import { AppModule } from '@/app/app.module';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';

describe('maintenance jobs', () => {
  let module: TestingModule;
  let prisma: PrismaService;

  beforeAll(async () => {
    module = await Test.createTestingModule({
      imports: [AppModule.register(testConfig(), { api: false, worker: true })],
    }).compile();
    await module.init();
    prisma = module.get(PrismaService);
  });

  afterAll(async () => {
    await prisma.idempotencyRecord.deleteMany({ where: { scope: 'maintenance-test' } });
    await prisma.inboxEvent.deleteMany({ where: { consumer: 'maintenance-test' } });
    await prisma.outboxEvent.deleteMany({ where: { aggregateId: { startsWith: 'maintenance-' } } });
    await module.close();
  });

  it('prunes idempotency records past their retention and keeps live ones', async () => {
    const now = Date.now();
    const record = (key: string, expiresAt: number) => ({
      scope: 'maintenance-test',
      key,
      fingerprint: '0'.repeat(64),
      statusCode: 201,
      responseBody: {},
      createdAt: new Date(expiresAt - 86_400_000),
      expiresAt: new Date(expiresAt),
    });
    await prisma.idempotencyRecord.createMany({
      data: [record('expired', now - 1_000), record('live', now + 3_600_000)],
    });

    const job = await module.get(JobProducer).enqueue('maintenance.prune', { trigger: 'test' });
    await waitFor('the prune job', async () => ((await job.getState()) === 'completed' ? true : undefined));

    const left = await prisma.idempotencyRecord.findMany({
      where: { scope: 'maintenance-test' },
      select: { key: true },
    });
    expect(left).toEqual([{ key: 'live' }]);
  });

  it('prunes published events and inbox rows past retention, keeping recent and unpublished ones', async () => {
    const day = 86_400_000;
    const event = (aggregateId: string, ageDays: number, published: boolean) => ({
      type: 'bid.placed',
      aggregateType: 'bid',
      aggregateId,
      payload: {},
      occurredAt: new Date(Date.now() - ageDays * day),
      publishedAt: published ? new Date(Date.now() - ageDays * day) : null,
    });
    const old = await prisma.outboxEvent.create({ data: event('maintenance-old', 8, true) });
    const stuck = await prisma.outboxEvent.create({ data: event('maintenance-stuck', 8, false) });
    const recent = await prisma.outboxEvent.create({ data: event('maintenance-recent', 1, true) });
    // The relay publishes the stuck one now: retention counts from publication, so it stays.
    await prisma.inboxEvent.createMany({
      data: [
        { consumer: 'maintenance-test', eventId: old.id, processedAt: new Date(Date.now() - 8 * day) },
        { consumer: 'maintenance-test', eventId: recent.id, processedAt: new Date(Date.now() - day) },
      ],
    });

    const job = await module.get(JobProducer).enqueue('maintenance.prune', { trigger: 'test' });
    await waitFor('the prune job', async () => ((await job.getState()) === 'completed' ? true : undefined));

    const events = await prisma.outboxEvent.findMany({
      where: { aggregateId: { startsWith: 'maintenance-' } },
      select: { id: true },
    });
    expect(events.map((e) => e.id).sort()).toEqual([stuck.id, recent.id].sort());
    const inbox = await prisma.inboxEvent.findMany({
      where: { consumer: 'maintenance-test' },
      select: { eventId: true },
    });
    expect(inbox).toEqual([{ eventId: recent.id }]);
  });
});
