import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '../../src/infra/prisma/prisma.service';
import { RedisService } from '../../src/infra/redis/redis.service';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { scaled, waitFor } from '../support/wait-for';
import { createSite, offerBody, removeMarketplaceData } from './marketplace-fixtures';

/**
 * Overload answers (docs/API.md, Overload): with every database connection in use, a request is
 * answered 503 with Retry-After in the common error body, fast, and leaves nothing written.
 * One connection, held by the test; a queue of one waiter (as many as connections) for 1 s.
 */
describe('a database pool that runs dry', () => {
  let app: NestFastifyApplication;
  let provider: TestTenant;
  let siteId: string;

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({
        DATABASE_POOL_MAX: '1',
        DATABASE_TX_MAX_WAIT_MS: '1000',
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
      }),
    );
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
    const transaction = app.get(PrismaService).$transaction(
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
    waitFor(`${n} waiting for a connection`, () =>
      app.get(PrismaService).pool.waitingCount === n ? true : undefined,
    );

  it('queues one placement for at most the wait, refuses the rest at once: 503, Retry-After, nothing written', async () => {
    const keys = [randomUUID(), randomUUID(), randomUUID()];
    const place = (key: string) =>
      request(app.getHttpServer())
        .post('/v1/offers')
        .set(provider.auth)
        .set('idempotency-key', key)
        .send(offerBody(siteId));
    const answers = await whileHeld(async () => {
      const started = Date.now();
      const queued = place(keys[0]!).then((res) => ({ res, ms: Date.now() - started }));
      await waiting(1);
      const refused = await Promise.all(
        keys.slice(1).map((key) => place(key).then((res) => ({ res, ms: Date.now() - started }))),
      );
      // The refusals came while the first still waited: none of them queued.
      expect(app.get(PrismaService).pool.waitingCount).toBe(1);
      return [await queued, ...refused];
    });
    for (const { res } of answers) {
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body).toEqual(BUSY);
    }
    // The queued one gave up after DATABASE_TX_MAX_WAIT_MS (1 s), not later than a loaded machine allows.
    expect(answers[0]!.ms).toBeGreaterThanOrEqual(1_000);
    expect(answers[0]!.ms).toBeLessThan(scaled(5_000));

    // Nothing half-written: no offer, no idempotency record, no lock left in Redis.
    const prisma = app.get(PrismaService);
    expect(await prisma.offer.count({ where: { organisationId: provider.organisationId } })).toBe(0);
    expect(await prisma.idempotencyRecord.count({ where: { key: { in: keys } } })).toBe(0);
    const redis = app.get(RedisService);
    for (const key of keys) {
      expect(await redis.client.exists(redis.key('idem', provider.organisationId, key))).toBe(0);
    }
    // The same keys work once connections are free again.
    for (const key of keys) expect((await place(key)).status).toBe(201);
  });

  it('serves a queued request as soon as a connection frees, and refuses reads beyond the queue alike', async () => {
    const read = () => request(app.getHttpServer()).get('/v1/offers').set(provider.auth);
    const { queued, refused } = await whileHeld(async () => {
      const first = read().then((res) => res);
      await waiting(1);
      return { queued: first, refused: await read() };
    });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toEqual(BUSY);
    expect((await queued).status).toBe(200);
  });
});
