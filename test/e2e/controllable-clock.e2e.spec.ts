import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import request from 'supertest';
import { Clock } from '../../src/infra/clock/clock';
import { CLOCK_REDIS_KEY } from '../../src/infra/clock/clock.module';
import { ControllableClock } from '../../src/infra/clock/controllable-clock';
import { PrismaService } from '../../src/infra/prisma/prisma.service';
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

  it('two processes’ clocks agree after one of them moves time', async () => {
    const other = new Redis(testRedisUrl());
    try {
      const a = new ControllableClock(redis, key, Date.parse('2030-01-01T00:00:00Z'));
      const b = new ControllableClock(other, key, Date.parse('1999-01-01T00:00:00Z'));
      await a.set(new Date('2027-03-01T08:00:00Z'));
      await b.sync();
      expect(b.now().toISOString()).toBe('2027-03-01T08:00:00.000Z');
      await b.advance(90 * 60_000);
      await a.sync();
      expect(a.now().toISOString()).toBe('2027-03-01T09:30:00.000Z');
    } finally {
      other.disconnect();
    }
  });

  it('the API reads the shared instant before each request', async () => {
    const testClock = new ControllableClock(redis, key, 0);
    await testClock.set(new Date('2027-05-01T12:00:00Z'));
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
