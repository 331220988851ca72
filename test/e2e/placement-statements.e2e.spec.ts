import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { RedisService } from '@/infra/redis/redis.service';
import { startHttpApp, withPlacementHold } from '../support/http-app';
import { placementHoldKeys } from '../support/placement-hold.cjs';
import { recordPgStatements } from '../support/pg-statements';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { bidBody, createSite, offerBody, removeMarketplaceData } from './marketplace-fixtures';

/**
 * Round trips per placement are the API's cost per order (docs/BENCHMARKS.md, bench:placement-cpu): each statement
 * is one extended-protocol exchange through Prisma and pg. These budgets keep a refactor from
 * quietly adding lookups back; raise them only with a reason. Placements arriving together share
 * a group commit (docs/ARCHITECTURE.md), whose statements are counted once per batch.
 */
describe('statements per placement', () => {
  let app: NestFastifyApplication;
  let buyer: TestTenant;
  let provider: TestTenant;
  let siteId: string;
  const others: string[] = [];
  const redisSeen: string[] = [];
  let recording = false;
  let pg!: ReturnType<typeof recordPgStatements>;
  let seen!: string[];

  beforeAll(async () => {
    // Every statement of the app's pool goes through pg's Client#query.
    pg = recordPgStatements(() => recording);
    seen = pg.statements;
    // The placement hold lets a test form a batch; unset, it holds nothing and runs no SQL.
    // Keys stay cached across a loaded machine's slow steps: a re-verification is not a placement's.
    const config = testConfig({
      RATE_LIMIT_PER_MINUTE: '100000',
      RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
      API_KEY_CACHE_TTL_MS: '60000',
    });
    app = await startHttpApp(config, { api: true, worker: false }, withPlacementHold);
    // Every command of the API's own Redis client (rate limits, idempotency locks, key limiter);
    // the placement hold has a client of its own.
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
    pg.restore();
    await removeMarketplaceData(app, [buyer.organisationId, provider.organisationId, ...others]);
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
    pg.reset();
    redisSeen.length = 0;
    recording = true;
    try {
      await place();
    } finally {
      recording = false;
    }
    roundTrips = pg.roundTrips();
    return [...seen];
  };
  /** Round trips to PostgreSQL of the last `statementsOf`: BEGIN goes with the first statement. */
  let roundTrips = 0;

  // The key was verified by the first placement and is cached (API_KEY_CACHE_TTL_MS): its
  // authentication costs no round trip to PostgreSQL or Redis.
  it('places a lone bid in 4 statements and 1 Redis command: BEGIN, one read (locks, seqs, idempotency lookup, live count, balances), one write (bid, hold, events, records), COMMIT', async () => {
    const statements = await statementsOf('/v1/bids', buyer, bidBody());
    expect(statements).toHaveLength(4);
    expect(roundTrips).toBe(3);
    // The hold is posted by the ledger's own function inside the write, not by a statement of its own.
    expect(statements.filter((s) => s.includes('ledger_post_transfers'))).toHaveLength(1);
    expect(statements.filter((s) => /^SELECT p\.key FROM ledger_post_transfers/.test(s))).toHaveLength(0);
    // The idempotency lookup is part of the batch's lock statement, not a statement of its own.
    expect(statements.filter((s) => /^SELECT fingerprint/.test(s))).toHaveLength(0);
    expect(
      statements
        .map((s) => s.replace(/^BEGIN; SET LOCAL statement_timeout = \d+$/, 'BEGIN'))
        .filter((s) => /^(BEGIN|COMMIT)$/.test(s)),
    ).toEqual(['BEGIN', 'COMMIT']);
    // One Redis round trip: the rate limit and the idempotency lock in one script (RateLimitGuard),
    // sent by its SHA-1 rather than its body once the connection has run it.
    expect(redisSeen).toEqual(['evalsha']);
  });

  it("places 8 bids of 4 buyers in one group commit in 4 statements of the same texts as a lone bid's: one batch of 8, its idempotency lookups included", async () => {
    const buyers = [
      buyer,
      ...(await Promise.all([0, 1, 2].map(() => registerOrganisation(app, 'BUYER', { verified: true })))),
    ];
    others.push(...buyers.slice(1).map((b) => b.organisationId));
    const redis = app.get(RedisService);
    const keys = placementHoldKeys(redis.prefix);
    const place = (tenant: TestTenant) =>
      request(app.getHttpServer())
        .post('/v1/bids')
        .set(tenant.auth)
        .set('idempotency-key', randomUUID())
        .send(bidBody())
        .then((res) => res.status);
    // Each key verified and cached first, as in the lone case.
    for (const tenant of buyers) expect(await place(tenant)).toBe(201);
    await redis.client.set(keys.hold, '0');
    try {
      const gate = place(buyer);
      await waitFor('the gate batch to be held', async () =>
        (await redis.client.llen(keys.held)) === 1 ? true : undefined,
      );
      seen.length = 0;
      recording = true;
      const batch = Array.from({ length: 8 }, (_, i) => place(buyers[i % buyers.length]!));
      await waitFor('8 placements to queue', async () =>
        Number(await redis.client.get(keys.queued(process.pid))) === 8 ? true : undefined,
      );
      await redis.client.del(keys.hold);
      expect(await Promise.all([gate, ...batch])).toEqual(Array(9).fill(201));
    } finally {
      recording = false;
      await redis.client.del(keys.hold, keys.held, keys.batches, keys.queued(process.pid));
    }
    // The gate's COMMIT comes after its release too.
    const statements = seen.slice();
    expect(statements.filter((s) => s === 'COMMIT')).toHaveLength(2);
    expect(statements).toHaveLength(4 + 1);
    expect(statements.filter((s) => /^SELECT fingerprint/.test(s))).toHaveLength(0);
    // Multi-row statements pass arrays: a batch of 8 runs exactly the texts a lone bid runs, so
    // each is one named prepared statement whatever the batch size.
    const lone = await statementsOf('/v1/bids', buyer, bidBody());
    expect([...new Set(statements)].sort()).toEqual([...new Set(lone)].sort());
  });

  /** The statements of one cancellation (`/v1/bids/<id>` or `/v1/offers/<id>`), Redis commands apart. */
  const cancelStatements = async (path: string, tenant: TestTenant): Promise<string[]> => {
    seen.length = 0;
    redisSeen.length = 0;
    recording = true;
    try {
      await request(app.getHttpServer()).post(`${path}/cancel`).set(tenant.auth).send().expect(200);
    } finally {
      recording = false;
    }
    return [...seen];
  };

  it('cancels a bid in 7 statements: BEGIN, locks, update, read back, release, event, COMMIT', async () => {
    const placed = await request(app.getHttpServer())
      .post('/v1/bids')
      .set(buyer.auth)
      .set('idempotency-key', randomUUID())
      .send(bidBody())
      .expect(201);
    const statements = await cancelStatements(`/v1/bids/${(placed.body as { id: string }).id}`, buyer);
    expect(statements).toHaveLength(7);
    expect(
      statements
        .map((s) => s.replace(/^BEGIN; SET LOCAL statement_timeout = \d+$/, 'BEGIN'))
        .filter((s) => /^(BEGIN|COMMIT)$/.test(s)),
    ).toEqual(['BEGIN', 'COMMIT']);
    // Cancels are idempotent by state, not by key: no idempotency lookup or lock.
    expect(statements.filter((s) => /^SELECT fingerprint/.test(s))).toHaveLength(0);
    expect(redisSeen).toEqual(['evalsha']);
  });

  it('cancels an offer in 6 statements: BEGIN, locks, update, read back, event, COMMIT', async () => {
    const placed = await request(app.getHttpServer())
      .post('/v1/offers')
      .set(provider.auth)
      .set('idempotency-key', randomUUID())
      .send(offerBody(siteId))
      .expect(201);
    const statements = await cancelStatements(`/v1/offers/${(placed.body as { id: string }).id}`, provider);
    expect(statements).toHaveLength(6);
    expect(redisSeen).toEqual(['evalsha']);
  });

  it('commits 2 bids, 2 offers, 2 bid cancels and 2 offer cancels in one batch of 11 statements, their idempotency lookups included', async () => {
    const redis = app.get(RedisService);
    const keys = placementHoldKeys(redis.prefix);
    const post = (path: string, tenant: TestTenant, body: object) =>
      request(app.getHttpServer())
        .post(path)
        .set(tenant.auth)
        .set('idempotency-key', randomUUID())
        .send(body)
        .then((res) => ({ status: res.status, id: (res.body as { id: string }).id }));
    const cancel = (path: string, tenant: TestTenant) =>
      request(app.getHttpServer())
        .post(`${path}/cancel`)
        .set(tenant.auth)
        .send()
        .then((res) => res.status);
    const bids = await Promise.all([0, 1].map(() => post('/v1/bids', buyer, bidBody())));
    const offers = await Promise.all([0, 1].map(() => post('/v1/offers', provider, offerBody(siteId))));
    await redis.client.set(keys.hold, '0');
    try {
      const gate = post('/v1/bids', buyer, bidBody());
      await waitFor('the gate batch to be held', async () =>
        (await redis.client.llen(keys.held)) === 1 ? true : undefined,
      );
      seen.length = 0;
      recording = true;
      const batch = [
        ...[0, 1].map(() => post('/v1/bids', buyer, bidBody()).then((a) => a.status)),
        ...[0, 1].map(() => post('/v1/offers', provider, offerBody(siteId)).then((a) => a.status)),
        ...bids.map((bid) => cancel(`/v1/bids/${bid.id}`, buyer)),
        ...offers.map((offer) => cancel(`/v1/offers/${offer.id}`, provider)),
      ];
      await waitFor('8 orders to queue', async () =>
        Number(await redis.client.get(keys.queued(process.pid))) === 8 ? true : undefined,
      );
      await redis.client.del(keys.hold);
      expect((await gate).status).toBe(201);
      expect(await Promise.all(batch)).toEqual([201, 201, 201, 201, 200, 200, 200, 200]);
    } finally {
      recording = false;
      await redis.client.del(keys.hold, keys.held, keys.batches, keys.queued(process.pid));
    }
    const statements = seen.slice();
    // The gate's COMMIT comes after its release too. The batch: BEGIN; one read (locks, seqs,
    // idempotency lookups, the bids' live counts and balances); offers: one insert; the bids'
    // rows and holds, written before the cancels release any funds; bid cancels: update, read
    // back, releases; offer cancels: update, read back; events and records together, COMMIT.
    expect(statements.filter((s) => s === 'COMMIT')).toHaveLength(2);
    expect(statements.filter((s) => /^SELECT fingerprint/.test(s))).toHaveLength(0);
    expect(statements).toHaveLength(11 + 1);
  });

  it('places an offer in 5 statements and 1 Redis command: lock+seq+idempotency lookup, insert, events+records, BEGIN/COMMIT', async () => {
    const statements = await statementsOf('/v1/offers', provider, offerBody(siteId));
    expect(statements).toHaveLength(5);
    expect(redisSeen).toEqual(['evalsha']);
  });
});
