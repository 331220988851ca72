import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import request from 'supertest';
import { Clock } from '@/infra/clock/clock';
import { CLOCK_REDIS_KEY } from '@/infra/clock/clock.module';
import { ControllableClock } from '@/infra/clock/controllable-clock';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { startHttpApp } from '../support/http-app';
import { testConfig, testRedisUrl, uniqueRedisPrefix } from '../support/test-env';

describe('controllable clock shared through Redis', () => {
  const prefix = uniqueRedisPrefix();
  const key = `${prefix}:${CLOCK_REDIS_KEY}`;
  let redis: Redis;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    redis = new Redis(testRedisUrl());
    app = await startHttpApp(testConfig({ CLOCK: 'controllable', REDIS_PREFIX: prefix }));
  });

  afterAll(async () => {
    await app.getHttpAdapter().getInstance().ready();
    await app.get(PrismaService).outboxEvent.deleteMany({ where: { aggregateId: 'clock-probe' } });
    await app.close();
    await redis.del(key);
    redis.disconnect();
  });

  it('two processes’ clocks agree as soon as one of them moves time', async () => {
    const other = new Redis(testRedisUrl());
    const a = await ControllableClock.join(redis, key, Date.parse('2030-01-01T00:00:00Z'));
    const b = await ControllableClock.join(other, key, Date.parse('1999-01-01T00:00:00Z'));
    try {
      // The second clock adopts the instant already shared rather than its own start value.
      expect(b.now().getTime()).toBe(a.now().getTime());
      await a.set(new Date('2027-03-01T08:00:00Z'));
      expect(b.now().toISOString()).toBe('2027-03-01T08:00:00.000Z');
      await b.advance(90 * 60_000);
      expect(a.now().toISOString()).toBe('2027-03-01T09:30:00.000Z');
    } finally {
      a.stop();
      b.stop();
      other.disconnect();
    }
  });

  it('the API sees a moved instant on its next request', async () => {
    const testClock = await ControllableClock.join(redis, key, 0);
    await testClock.set(new Date('2027-05-01T12:00:00Z'));
    testClock.stop();
    // An unpublished event 42 s older than the shared instant; no worker runs in this app.
    await app.get(PrismaService).outboxEvent.create({
      data: {
        type: 'offer.placed',
        aggregateType: 'offer',
        aggregateId: 'clock-probe',
        payload: {},
        occurredAt: new Date('2027-05-01T11:59:18Z'),
      },
    });
    const res = await request(app.getHttpServer()).get('/health/ready').expect(200);
    expect(
      (res.body as { details: { outbox: { oldestAgeSeconds: number } } }).details.outbox.oldestAgeSeconds,
    ).toBe(42);
    expect(app.get(Clock).now().toISOString()).toBe('2027-05-01T12:00:00.000Z');
  });
});
