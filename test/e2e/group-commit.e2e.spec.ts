import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { OrderPlacementService } from '@/modules/markets/order-placement.service';
import { RedisService } from '@/infra/redis/redis.service';
import { startHttpApp, withPlacementHold } from '../support/http-app';
import { ledgerViolations } from '../support/ledger-invariants';
import { placementHoldKeys } from '../support/placement-hold.cjs';
import { parseExposition, valueOf } from '../support/prometheus';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { waitFor } from '../support/wait-for';
import {
  createSite,
  createTestMarket,
  offerBody,
  marketplaceConfig,
  removeMarketplaceData,
  removeTestMarket,
  smallBidBody,
} from './marketplace-fixtures';

type Answer = { status: number; body: Record<string, unknown>; headers: Record<string, string> };

/**
 * The group commit of placements over HTTP (docs/ARCHITECTURE.md): orders that arrive while a
 * commit is in flight go together into the next transaction, and each keeps its own outcome. A
 * test seam holds the first batch open before its COMMIT (test/support/placement-hold.cjs) so
 * that the orders under test queue behind it and form one batch. Budget: ~10 s.
 */
describe('group commit of placements', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let redis: RedisService;
  let keys: ReturnType<typeof placementHoldKeys>;
  let gateBuyer: TestTenant;
  let market: { id: string; slug: string };
  let paused: { id: string; slug: string };
  const organisations: string[] = [];

  // 1 GPU x 1.00 x 1 h: a hold of 100 fen.
  const HOLD = 100n;
  const smallBid = (overrides: Record<string, unknown> = {}) => smallBidBody(market.slug, overrides);

  /** Sends a bid now (not lazily, as supertest would) and resolves with its answer. */
  const sendBid = (tenant: TestTenant, body: object, key: string = randomUUID()): Promise<Answer> =>
    request(app.getHttpServer())
      .post('/v1/bids')
      .set(tenant.auth)
      .set('idempotency-key', key)
      .send(body)
      .then((res) => ({
        status: res.status,
        body: res.body as Record<string, unknown>,
        headers: res.headers,
      }));

  /** Sends an offer now and resolves with its answer. */
  const sendOffer = (tenant: TestTenant, body: object, key: string = randomUUID()): Promise<Answer> =>
    request(app.getHttpServer())
      .post('/v1/offers')
      .set(tenant.auth)
      .set('idempotency-key', key)
      .send(body)
      .then((res) => ({
        status: res.status,
        body: res.body as Record<string, unknown>,
        headers: res.headers,
      }));

  /** Cancels a bid or an offer (`/v1/bids/<id>` or `/v1/offers/<id>`) now; resolves with its answer. */
  const sendCancel = (tenant: TestTenant, path: string): Promise<Answer> =>
    request(app.getHttpServer())
      .post(`${path}/cancel`)
      .set(tenant.auth)
      .send()
      .then((res) => ({
        status: res.status,
        body: res.body as Record<string, unknown>,
        headers: res.headers,
      }));

  const provider = async (): Promise<{ tenant: TestTenant; siteId: string }> => {
    const tenant = await registerOrganisation(app, 'PROVIDER', { verified: true });
    organisations.push(tenant.organisationId);
    return { tenant, siteId: (await createSite(app, tenant)).id };
  };

  const smallOffer = (siteId: string, overrides: Record<string, unknown> = {}) =>
    offerBody(siteId, { market: market.slug, gpus: 2, ...overrides });

  const eventCount = async (aggregateId: string, type: string): Promise<number> =>
    prisma.outboxEvent.count({ where: { aggregateId, type } });

  const buyer = async (creditMinor: bigint): Promise<TestTenant> => {
    const tenant = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor });
    organisations.push(tenant.organisationId);
    return tenant;
  };

  const batchSizes = async (): Promise<number[]> =>
    (await redis.client.lrange(keys.batches, 0, -1)).map((entry) => Number(entry.split(':')[1]));

  /**
   * A request under `key` (another body) that commits while the batch runs, as when its Redis
   * lock was lost: its record is inserted before the batch is released, committed only once the
   * batch's insert of records waits on it, so the batch's lookup missed it and its insert is
   * refused, which fails the batch as a whole. `whileQueued` for `inOneBatch`; await `committed`.
   */
  const recordMidBatch = (scope: string, key: string) => {
    let committed: Promise<unknown> = Promise.resolve();
    const whileQueued = async (): Promise<void> => {
      let inserted!: () => void;
      const insertedYet = new Promise<void>((resolve) => (inserted = resolve));
      let commit!: () => void;
      committed = prisma.$transaction(
        async (tx) => {
          await tx.idempotencyRecord.create({
            data: {
              scope,
              key,
              fingerprint: 'f'.repeat(64),
              statusCode: 201,
              responseBody: {},
              createdAt: new Date(),
              expiresAt: new Date(Date.now() + 3_600_000),
            },
          });
          inserted();
          await new Promise<void>((resolve) => (commit = resolve));
        },
        { maxWait: 10_000, timeout: 60_000 },
      );
      await insertedYet;
      void waitFor('the batch to wait on the record', async () => {
        const [row] = await prisma.$queryRaw<Array<{ n: number }>>`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'
            AND query LIKE '%INSERT INTO idempotency_records%'`;
        return (row?.n ?? 0) > 0 ? true : undefined;
      }).then(() => commit());
    };
    return { whileQueued, committed: () => committed };
  };

  /**
   * Holds a gate order's batch before COMMIT, sends `orders` while it is held, waits until all of
   * them queue for the next commit, and releases: they commit together. `whileQueued` runs just
   * before the release.
   */
  async function inOneBatch(
    orders: () => Array<Promise<Answer>>,
    whileQueued: () => Promise<void> = () => Promise.resolve(),
  ): Promise<Answer[]> {
    await redis.client.set(keys.hold, '0');
    const gate = sendBid(gateBuyer, smallBid());
    await waitFor('the gate batch to be held', async () =>
      (await redis.client.llen(keys.held)) === 1 ? true : undefined,
    );
    const pending = orders();
    await waitFor(`${pending.length} placements to queue`, async () =>
      Number(await redis.client.get(keys.queued(process.pid))) === pending.length ? true : undefined,
    );
    await whileQueued();
    await redis.client.del(keys.hold);
    const [gateAnswer, ...answers] = await Promise.all([gate, ...pending]);
    expect(gateAnswer?.status).toBe(201);
    return answers;
  }

  const heldBalance = async (organisationId: string): Promise<bigint> =>
    (
      await prisma.ledgerAccount.findFirstOrThrow({
        where: { organisationId, kind: 'BUYER_HELD', currency: 'CNY' },
        select: { balance: true },
      })
    ).balance;

  const statusesOf = (answers: Answer[]) => answers.map((a) => a.status).sort();

  beforeAll(async () => {
    app = await startHttpApp(marketplaceConfig(), { api: true, worker: false }, withPlacementHold);
    prisma = app.get(PrismaService);
    redis = app.get(RedisService);
    keys = placementHoldKeys(redis.prefix);
    market = await createTestMarket(app);
    paused = await createTestMarket(app);
    await prisma.market.update({ where: { id: paused.id }, data: { status: 'PAUSED' } });
    gateBuyer = await buyer(1_000_000n);
  });

  afterEach(async () => {
    await redis.client.del(keys.hold, keys.held, keys.batches, keys.queued(process.pid));
  });

  afterAll(async () => {
    await prisma.billingLimit.deleteMany({ where: { organisationId: { in: organisations } } });
    await removeMarketplaceData(app, organisations);
    await removeTestMarket(app, market.id);
    await removeTestMarket(app, paused.id);
    await app.close();
  });

  it('commits one batch in which each order gets its own answer: funds, spend cap, paused market, open-order cap', async () => {
    const poor = await buyer(2n * HOLD + HOLD / 2n);
    const pausing = await buyer(1_000_000n);
    const capped = await buyer(1_000_000n);
    await prisma.billingLimit.create({
      data: {
        organisationId: capped.organisationId,
        currency: 'CNY',
        spendCap: HOLD + HOLD / 2n,
        updatedAt: new Date(),
      },
    });
    const full = await buyer(1_000_000n);
    // 999 live bids already (no holds: this buyer stays out of the ledger check below).
    await prisma.$executeRaw`
      INSERT INTO bids (id, organisation_id, market_id, gpus, filled_gpus, max_price_per_gpu_hour, duration_hours,
                        provinces, min_gpus_per_site, partial_allowed, billing_mode, expires_at, status, seq,
                        created_at, updated_at)
      SELECT gen_random_uuid(), ${full.organisationId}::uuid, ${paused.id}::uuid, 1, 0, 100, 1, '{}', 1, true,
             'PAY_PER_USE', now() + interval '1 day', 'OPEN', nextval('order_seq'), now(), now()
      FROM generate_series(1, 999)`;

    const [poorAnswers, pausedAnswers, cappedAnswers, fullAnswers] = [0, 1, 2, 3].map(() => [] as Answer[]);
    const answers = await inOneBatch(() => {
      const sent = [
        ...[0, 1, 2].map(() => sendBid(poor, smallBid()).then((a) => (poorAnswers!.push(a), a))),
        sendBid(pausing, smallBid({ market: paused.slug })).then((a) => (pausedAnswers!.push(a), a)),
        sendBid(pausing, smallBid()).then((a) => (pausedAnswers!.push(a), a)),
        ...[0, 1].map(() => sendBid(capped, smallBid()).then((a) => (cappedAnswers!.push(a), a))),
        ...[0, 1].map(() => sendBid(full, smallBid()).then((a) => (fullAnswers!.push(a), a))),
      ];
      return sent;
    });

    expect(await batchSizes()).toEqual([1, answers.length]);
    expect(statusesOf(poorAnswers!)).toEqual([201, 201, 402]);
    expect(poorAnswers!.find((a) => a.status === 402)?.body).toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    expect(statusesOf(pausedAnswers!)).toEqual([201, 409]);
    expect(pausedAnswers!.find((a) => a.status === 409)?.body).toMatchObject({
      code: 'CONFLICT',
      details: { reason: 'MARKET_PAUSED' },
    });
    expect(statusesOf(cappedAnswers!)).toEqual([201, 402]);
    expect(cappedAnswers!.find((a) => a.status === 402)?.body).toMatchObject({ code: 'SPEND_CAP_EXCEEDED' });
    expect(statusesOf(fullAnswers!)).toEqual([201, 409]);
    expect(fullAnswers!.find((a) => a.status === 409)?.body).toMatchObject({
      details: { reason: 'OPEN_ORDER_LIMIT' },
    });

    // Each placed bid is its placer's, held and announced once; nothing of a refused one exists.
    for (const [tenant, placed] of [
      [poor, 2],
      [pausing, 1],
      [capped, 1],
    ] as const) {
      const bids = await prisma.bid.findMany({ where: { organisationId: tenant.organisationId } });
      expect(bids).toHaveLength(placed);
      expect(await heldBalance(tenant.organisationId)).toBe(BigInt(placed) * HOLD);
      const events = await prisma.outboxEvent.findMany({
        where: { aggregateId: { in: bids.map((b) => b.id) }, type: 'bid.placed' },
      });
      expect(events).toHaveLength(placed);
    }
    const accepted = answers.filter((a) => a.status === 201).map((a) => a.body.id as string);
    const owners = await prisma.bid.findMany({
      where: { id: { in: accepted } },
      select: { id: true, organisationId: true },
    });
    expect(owners).toHaveLength(accepted.length);
    for (const [tenant, own] of [
      [poor, poorAnswers!],
      [pausing, pausedAnswers!],
      [capped, cappedAnswers!],
      [full, fullAnswers!],
    ] as const) {
      for (const answer of own.filter((a) => a.status === 201))
        expect(owners.find((o) => o.id === answer.body.id)?.organisationId).toBe(tenant.organisationId);
    }
    expect(
      await ledgerViolations(prisma, [poor.organisationId, pausing.organisationId, capped.organisationId]),
    ).toEqual([]);
  });

  it('starts the next batch before it answers the orders of the one that committed', async () => {
    // What the API process did, in order: each batch's start, and each placement's answer as the
    // caller of OrderPlacementService.place first sees it.
    const seen: string[] = [];
    const placement = app.get(OrderPlacementService);
    const internals = placement as unknown as { runBatch: (batch: unknown[]) => Promise<unknown> };
    const runBatch = internals.runBatch.bind(placement);
    const runSpy = jest.spyOn(internals, 'runBatch').mockImplementation((batch) => {
      seen.push(`batch of ${batch.length}`);
      return runBatch(batch);
    });
    const place = placement.place.bind(placement);
    const placeSpy = jest.spyOn(placement, 'place').mockImplementation((...args) => {
      const answer = place(...args);
      answer.then(
        () => seen.push('answered'),
        () => seen.push('refused'),
      );
      return answer;
    });
    try {
      const tenant = await buyer(1_000_000n);
      const answers = await inOneBatch(() => [0, 1].map(() => sendBid(tenant, smallBid())));
      expect(statusesOf(answers)).toEqual([201, 201]);
    } finally {
      runSpy.mockRestore();
      placeSpy.mockRestore();
    }
    // The gate's batch of 1 commits; the 2 that queued behind it start their batch before the
    // gate's answer, and are answered after theirs.
    expect(seen).toEqual(['batch of 1', 'batch of 2', 'answered', 'answered', 'answered']);
  });

  it("exposes each order's wait for its batch, its batch's time to COMMIT and the batch sizes in /metrics", async () => {
    const scrape = async () =>
      parseExposition((await request(app.getHttpServer()).get('/metrics').expect(200)).text);
    const tenant = await buyer(1_000_000n);
    const before = await scrape();
    const answers = await inOneBatch(() => [0, 1, 2].map(() => sendBid(tenant, smallBid())));
    expect(statusesOf(answers)).toEqual([201, 201, 201]);
    const after = await scrape();
    const added = (name: string, le?: string) => {
      const labels: Record<string, string> = le === undefined ? {} : { le };
      return (valueOf(after, name, labels) ?? 0) - (valueOf(before, name, labels) ?? 0);
    };
    // The gate's batch of 1, then the 3 that queued behind it, in one batch.
    expect(await batchSizes()).toEqual([1, 3]);
    expect(added('order_placement_batch_size_count')).toBe(2);
    expect(added('order_placement_batch_size_sum')).toBe(4);
    expect(added('order_placement_batch_size_bucket', '1')).toBe(1);
    expect(added('order_placement_batch_size_bucket', '4')).toBe(2);
    // Once per order, each batch's orders alike.
    expect(added('order_placement_wait_seconds_count')).toBe(4);
    expect(added('order_placement_commit_seconds_count')).toBe(4);
  });

  it('commits offers and cancellations in one batch with bids, each with its own answer, event and funds', async () => {
    const { tenant: seller, siteId } = await provider();
    const { tenant: stranger, siteId: strangersSite } = await provider();
    const bidder = await buyer(1_000_000n);
    const lapsed = await buyer(1_000_000n);
    // What the batch cancels: an offer, one in a market paused since, a bid, and a bid that expired.
    const pausedLater = await createTestMarket(app);
    try {
      const resting = await sendOffer(seller, smallOffer(siteId));
      const inPausedMarket = await sendOffer(seller, smallOffer(siteId, { market: pausedLater.slug }));
      const bid = await sendBid(bidder, smallBid());
      const expired = await sendBid(lapsed, smallBid());
      for (const answer of [resting, inPausedMarket, bid, expired]) expect(answer.status).toBe(201);
      await prisma.market.update({ where: { id: pausedLater.id }, data: { status: 'PAUSED' } });
      await prisma.bid.update({ where: { id: expired.body.id as string }, data: { status: 'EXPIRED' } });
      expect(await heldBalance(bidder.organisationId)).toBe(HOLD);
      await redis.client.del(keys.batches);

      const answers = await inOneBatch(() => [
        sendOffer(seller, smallOffer(siteId)),
        sendOffer(seller, smallOffer(strangersSite)),
        sendOffer(seller, smallOffer(siteId, { market: paused.slug })),
        sendCancel(seller, `/v1/offers/${resting.body.id as string}`),
        sendCancel(stranger, `/v1/offers/${resting.body.id as string}`),
        sendCancel(seller, `/v1/offers/${inPausedMarket.body.id as string}`),
        sendCancel(bidder, `/v1/bids/${bid.body.id as string}`),
        sendCancel(bidder, `/v1/bids/${bid.body.id as string}`),
        sendBid(bidder, smallBid()),
        sendCancel(lapsed, `/v1/bids/${expired.body.id as string}`),
      ]);

      expect(await batchSizes()).toEqual([1, answers.length]);
      expect(answers.map((a) => a.status)).toEqual([201, 400, 409, 200, 404, 200, 200, 200, 201, 409]);
      const [
        placed,
        foreignSite,
        pausedOffer,
        cancelled,
        notTheirs,
        cancelledPaused,
        bidCancel,
        again,
        newBid,
        late,
      ] = answers as [Answer, Answer, Answer, Answer, Answer, Answer, Answer, Answer, Answer, Answer];
      expect(placed.body).toMatchObject({ status: 'OPEN', market: market.slug });
      expect(foreignSite.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'siteId' } });
      expect(pausedOffer.body).toMatchObject({ code: 'CONFLICT', details: { reason: 'MARKET_PAUSED' } });
      expect(cancelled.body).toMatchObject({ id: resting.body.id, status: 'CANCELLED' });
      // Another organisation's offer is missing to it, and the batch did not cancel it for them.
      expect(notTheirs.body).toMatchObject({ code: 'NOT_FOUND' });
      expect(cancelledPaused.body).toMatchObject({ status: 'CANCELLED' });
      expect(bidCancel.body).toMatchObject({ id: bid.body.id, status: 'CANCELLED' });
      expect(again.body).toEqual(bidCancel.body);
      expect(newBid.body).toMatchObject({ status: 'OPEN' });
      expect(late.body).toMatchObject({ code: 'CONFLICT', details: { status: 'EXPIRED' } });

      // One event per transition; the repeated cancel and the refusals recorded nothing.
      expect(await eventCount(placed.body.id as string, 'offer.placed')).toBe(1);
      expect(await eventCount(resting.body.id as string, 'offer.cancelled')).toBe(1);
      expect(await eventCount(inPausedMarket.body.id as string, 'offer.cancelled')).toBe(1);
      expect(await eventCount(bid.body.id as string, 'bid.cancelled')).toBe(1);
      expect(await eventCount(newBid.body.id as string, 'bid.placed')).toBe(1);
      expect(await eventCount(expired.body.id as string, 'bid.cancelled')).toBe(0);
      expect(await prisma.offer.count({ where: { organisationId: seller.organisationId } })).toBe(3);
      // The cancelled bid's hold went back, the new one's was taken.
      expect(await heldBalance(bidder.organisationId)).toBe(HOLD);
      expect(await ledgerViolations(prisma, [bidder.organisationId])).toEqual([]);
    } finally {
      await removeMarketplaceData(app, [seller.organisationId]);
      await removeTestMarket(app, pausedLater.id);
    }
  });

  it('replays an accepted offer, runs a refused one again, and retries a failed batch of offers and cancels one by one', async () => {
    const { tenant: seller, siteId } = await provider();
    const { siteId: strangersSite } = await provider();
    const [accepted, refused] = [randomUUID(), randomUUID()];
    const [good, bad] = [smallOffer(siteId), smallOffer(strangersSite)];
    const first = await inOneBatch(() => [
      sendOffer(seller, good, accepted),
      sendOffer(seller, bad, refused),
    ]);
    expect(first.map((a) => a.status)).toEqual([201, 400]);
    const replay = await sendOffer(seller, good, accepted);
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first[0]!.body);
    const again = await sendOffer(seller, bad, refused);
    expect(again.status).toBe(400);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(await prisma.offer.count({ where: { organisationId: seller.organisationId } })).toBe(1);

    await redis.client.del(keys.batches);
    const clashing = randomUUID();
    const clash = recordMidBatch(seller.organisationId, clashing);
    const answers = await inOneBatch(
      () => [
        sendOffer(seller, smallOffer(siteId)),
        sendOffer(seller, smallOffer(siteId), clashing),
        sendCancel(seller, `/v1/offers/${first[0]!.body.id as string}`),
      ],
      // A record committed under the second key meanwhile (its Redis lock lost) fails the batch.
      clash.whileQueued,
    );
    await clash.committed();
    // Alone, the second order finds that record: another body under its key, 422.
    expect(answers.map((a) => a.status)).toEqual([201, 422, 200]);
    // The gate, then each order alone (the failed batch reached no COMMIT).
    expect(await batchSizes()).toEqual([1, 1, 1, 1]);
    expect(await eventCount(first[0]!.body.id as string, 'offer.cancelled')).toBe(1);
    expect(await prisma.offer.count({ where: { organisationId: seller.organisationId } })).toBe(2);
  });

  it('replays an accepted order and runs a refused one again under the same key', async () => {
    const poor = await buyer(HOLD);
    const [first, second] = [randomUUID(), randomUUID()];
    const body = smallBid();
    const answers = await inOneBatch(() => [sendBid(poor, body, first), sendBid(poor, body, second)]);
    expect(statusesOf(answers)).toEqual([201, 402]);
    const [acceptedKey, refusedKey] = answers[0]!.status === 201 ? [first, second] : [second, first];
    const replay = await sendBid(poor, body, acceptedKey);
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(answers.find((a) => a.status === 201)!.body);
    // A refusal stored nothing: the same key is a new attempt, refused again on its own merits.
    const again = await sendBid(poor, body, refusedKey);
    expect(again.status).toBe(402);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(await prisma.bid.count({ where: { organisationId: poor.organisationId } })).toBe(1);
  });

  it('answers a stored response from the batch: a replay in a market paused since, another body 422, a replay refused before the batch', async () => {
    const tenant = await buyer(1_000_000n);
    const later = await createTestMarket(app);
    try {
      const [kept, expiring, reused] = [randomUUID(), randomUUID(), randomUUID()];
      const body = smallBid({ market: later.slug });
      const expiresAt = Date.now() + 2_000;
      const shortLived = smallBid({ market: later.slug, expiresAt: new Date(expiresAt).toISOString() });
      const placed: Answer[] = [];
      for (const [sent, key] of [
        [body, kept],
        [shortLived, expiring],
        [body, reused],
      ] as const)
        placed.push(await sendBid(tenant, sent, key));
      expect(placed.map((a) => a.status)).toEqual([201, 201, 201]);
      await redis.client.del(keys.batches);
      await prisma.market.update({ where: { id: later.id }, data: { status: 'PAUSED' } });
      // A completed request keeps its key's Redis lock until it lapses, and a request refused the
      // lock replays through its own lookup; with the locks lapsed, the batch looks the keys up.
      const lapse = (key: string) => redis.client.del(redis.key('idem', tenant.organisationId, key));
      await Promise.all([kept, reused].map(lapse));
      const answers = await inOneBatch(() => [
        sendBid(tenant, body, kept),
        sendBid(tenant, smallBid({ market: later.slug, gpus: 2 }), reused),
        sendBid(tenant, body),
      ]);
      expect(answers.map((a) => a.status)).toEqual([201, 422, 409]);
      expect(answers[0]!.headers['idempotent-replayed']).toBe('true');
      expect(answers[0]!.body).toEqual(placed[0]!.body);
      expect(answers[1]!.body).toMatchObject({ code: 'UNPROCESSABLE' });
      expect(answers[2]!.body).toMatchObject({ details: { reason: 'MARKET_PAUSED' } });
      expect(await batchSizes()).toEqual([1, 3]);
      // Refused before it reaches a batch (its expiry has passed), a request still replays.
      await waitFor('the short-lived bid to expire', () => (Date.now() > expiresAt ? true : undefined));
      await lapse(expiring);
      const replay = await sendBid(tenant, shortLived, expiring);
      expect(replay.status).toBe(201);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.body).toEqual(placed[1]!.body);
      expect(await prisma.bid.count({ where: { organisationId: tenant.organisationId } })).toBe(3);
      expect(await heldBalance(tenant.organisationId)).toBe(3n * HOLD);
    } finally {
      await prisma.outboxEvent.deleteMany({
        where: {
          aggregateId: {
            in: (await prisma.bid.findMany({ where: { marketId: later.id } })).map((b) => b.id),
          },
        },
      });
      await prisma.bid.deleteMany({ where: { marketId: later.id } });
      await removeTestMarket(app, later.id);
    }
  });

  it('commits the orders one by one when the batch fails as a whole, so one bad row spoils nothing', async () => {
    const tenant = await buyer(1_000_000n);
    const keysSent = [randomUUID(), randomUUID(), randomUUID()];
    const clash = recordMidBatch(tenant.organisationId, keysSent[1]!);
    const answers = await inOneBatch(
      () => keysSent.map((key) => sendBid(tenant, smallBid(), key)),
      clash.whileQueued,
    );
    await clash.committed();
    // Alone, the second order finds the record: another body under its key, 422.
    expect(answers.map((a) => a.status)).toEqual([201, 422, 201]);
    expect(answers[1]!.body).toMatchObject({ code: 'UNPROCESSABLE' });
    // The failed batch left nothing (the gate, then each order committed alone).
    expect(await batchSizes()).toEqual([1, 1, 1, 1]);
    const bids = await prisma.bid.findMany({ where: { organisationId: tenant.organisationId } });
    expect(bids.map((b) => b.id).sort()).toEqual([answers[0]!.body.id, answers[2]!.body.id].sort());
    expect(await heldBalance(tenant.organisationId)).toBe(2n * HOLD);
    expect(await ledgerViolations(prisma, [tenant.organisationId])).toEqual([]);
  });
});
