import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import { RedisService } from '../../src/infra/redis/redis.service';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import {
  bidBody,
  createSite,
  marketplaceConfig,
  offerBody,
  removeMarketplaceData,
} from './marketplace-fixtures';

/**
 * Round trips per placement are the API's cost per order (docs/BENCHMARKS.md): each statement
 * is one extended-protocol exchange through Prisma and pg. These budgets keep a refactor from
 * quietly adding lookups back; raise them only with a reason.
 */
describe('statements per placement', () => {
  let app: NestFastifyApplication;
  let buyer: TestTenant;
  let provider: TestTenant;
  let siteId: string;
  const seen: string[] = [];
  const redisSeen: string[] = [];
  let recording = false;
  const original = Object.getOwnPropertyDescriptor(Client.prototype, 'query')!;

  beforeAll(async () => {
    // Every statement of the app's pool goes through pg's Client#query.
    const query = original.value as (...args: unknown[]) => unknown;
    Object.defineProperty(Client.prototype, 'query', {
      ...original,
      value: function (this: Client, ...args: unknown[]): unknown {
        if (recording) {
          const first = args[0] as string | { text: string };
          seen.push((typeof first === 'string' ? first : first.text).replace(/\s+/g, ' ').trim());
        }
        return query.apply(this, args);
      },
    });
    app = await startHttpApp(marketplaceConfig());
    // Every command of the API's own Redis client (rate limits, idempotency locks, key limiter).
    const redis = app.get(RedisService).client;
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = (command, ...rest) => {
      if (recording) redisSeen.push(command.name);
      return send(command, ...rest);
    };
    buyer = await registerOrganisation(app, 'BUYER', { verified: true });
    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    siteId = (await createSite(app, provider)).id;
  });

  afterAll(async () => {
    Object.defineProperty(Client.prototype, 'query', original);
    await removeMarketplaceData(app, [buyer.organisationId, provider.organisationId]);
    await app.close();
  });

  /** The statements of the second of two identical placements (the first warms caches). */
  const statementsOf = async (path: string, tenant: TestTenant, body: object): Promise<string[]> => {
    const place = () =>
      request(app.getHttpServer())
        .post(path)
        .set(tenant.auth)
        .set('idempotency-key', randomUUID())
        .send(body)
        .expect(201);
    await place();
    seen.length = 0;
    redisSeen.length = 0;
    recording = true;
    try {
      await place();
    } finally {
      recording = false;
    }
    return [...seen];
  };

  // The key was verified by the first placement and is cached (API_KEY_CACHE_TTL_MS): its
  // authentication costs no round trip to PostgreSQL or Redis.
  it('places a bid in 9 statements and 1 Redis command: idempotency, lock+seq, insert, hold (2), event, record, BEGIN/COMMIT', async () => {
    const statements = await statementsOf('/v1/bids', buyer, bidBody());
    expect(statements).toHaveLength(9);
    expect(statements.filter((s) => /^(BEGIN|COMMIT)$/.test(s))).toEqual(['BEGIN', 'COMMIT']);
    // One Redis round trip: the rate limit and the idempotency lock in one script (RateLimitGuard).
    expect(redisSeen).toEqual(['eval']);
  });

  it('places an offer in 7 statements and 1 Redis command: idempotency, lock+seq, insert, event, record, BEGIN/COMMIT', async () => {
    const statements = await statementsOf('/v1/offers', provider, offerBody(siteId));
    expect(statements).toHaveLength(7);
    expect(redisSeen).toEqual(['eval']);
  });
});
