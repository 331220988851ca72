import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { RedisService } from '@/infra/redis/redis.service';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { createSite, offerBody, removeMarketplaceData } from './marketplace-fixtures';

/**
 * Overload answers (docs/API.md, Overload): with every database connection in use, a request
 * waits in a bounded queue for a bounded time, or is answered 503 with Retry-After in the common
 * error body at once, and leaves nothing written. One connection, held by the test; a queue of 3
 * waiters (3x the pool, as the default is 8x) who give up after 3 s. Budget: ~15 s.
 */
describe('a database pool that runs dry', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let provider: TestTenant;
  let siteId: string;
  const QUEUE = 3;

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({
        DATABASE_POOL_MAX: '1',
        DATABASE_QUEUE_MAX: String(QUEUE),
        DATABASE_TX_MAX_WAIT_MS: '3000',
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
        API_KEY_CACHE_TTL_MS: '60000',
      }),
    );
    prisma = app.get(PrismaService);
    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    siteId = (await createSite(app, provider)).id;
  });

  afterAll(async () => {
    await removeMarketplaceData(app, [provider.organisationId]);
    await app.close();
  });

  /** Runs `work` while the pool's only connection is held by a transaction of the test. */
  async function whileHeld<T>(work: () => Promise<T>): Promise<T> {
    let release!: () => void;
    let held!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const holding = new Promise<void>((resolve) => (held = resolve));
    const transaction = prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT 1`;
        held();
        await released;
      },
      { maxWait: 10_000, timeout: 60_000 },
    );
    await holding;
    try {
      return await work();
    } finally {
      release();
      await transaction;
    }
  }

  const BUSY = {
    statusCode: 503,
    code: 'SERVICE_UNAVAILABLE',
    message: 'The service is busy; retry shortly.',
    details: { reason: 'DATABASE_BUSY', retryAfterSeconds: 1 },
    requestId: expect.any(String) as string,
  };

  /** Resolves once `n` callers wait for a connection. */
  const waiting = (n: number) =>
    waitFor(`${n} waiting for a connection`, () => (prisma.pool.waitingCount === n ? true : undefined));

  const place = (key: string) =>
    request(app.getHttpServer())
      .post('/v1/offers')
      .set(provider.auth)
      .set('idempotency-key', key)
      .send(offerBody(siteId));

  // The key is verified and cached first: the requests below meet the pool only for their own work.
  beforeAll(async () => {
    expect((await request(app.getHttpServer()).get('/v1/offers').set(provider.auth)).status).toBe(200);
  });

  it('refuses placements beyond the queue at once and the queued ones after the wait: 503, Retry-After, nothing written', async () => {
    const keys = Array.from({ length: QUEUE + 2 }, () => randomUUID());
    const answers = await whileHeld(async () => {
      const queued = keys.slice(0, QUEUE).map((key) => place(key).then((res) => res));
      await waiting(QUEUE);
      // Answered while the queue is still full: none of these joined it.
      const refused = await Promise.all(keys.slice(QUEUE).map((key) => place(key).then((res) => res)));
      expect(prisma.pool.waitingCount).toBe(QUEUE);
      return [...(await Promise.all(queued)), ...refused];
    });
    for (const res of answers) {
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body).toEqual(BUSY);
    }
    // Nothing half-written: no offer, no idempotency record, no lock left in Redis.
    expect(await prisma.offer.count({ where: { organisationId: provider.organisationId } })).toBe(0);
    expect(await prisma.idempotencyRecord.count({ where: { key: { in: keys } } })).toBe(0);
    const redis = app.get(RedisService);
    for (const key of keys) {
      expect(await redis.client.exists(redis.key('idem', provider.organisationId, key))).toBe(0);
    }
    // The same keys work once connections are free again.
    for (const key of keys) expect((await place(key)).status).toBe(201);
  });

  it('serves a burst that fits the queue as soon as the connection frees', async () => {
    const read = () => request(app.getHttpServer()).get('/v1/offers').set(provider.auth);
    const answers = await whileHeld(async () => {
      const burst = Array.from({ length: QUEUE }, () => read().then((res) => res.status));
      await waiting(QUEUE);
      return burst;
    });
    expect(await Promise.all(answers)).toEqual(Array(QUEUE).fill(200));
  });
});
