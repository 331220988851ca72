import { Redis } from 'ioredis';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { FUND_BUYER_SQL } from '../support/funding';
import { ledgerViolations, type SqlQuery } from '../support/ledger-invariants';
import { placementHoldKeys } from '../support/placement-hold.cjs';
import { freePort, spawnScript, waitForHttp, type RunningProcess } from '../support/processes';
import { testEnv, testRedisUrl } from '../support/test-env';
import { waitFor } from '../support/wait-for';

type Answer = { status: number; body: Record<string, unknown> };

/**
 * Group commits of placements across built API processes sharing PostgreSQL and Redis
 * (test/support/placement-hold-api.cjs: the shipped API with its batches held at will): two
 * processes' concurrent batches drawing on one buyer's credit never overdraw it nor lose an
 * order; their concurrent offers never pass a provider's live-order cap, and their cancels of
 * the same bids and offers each make one transition, release one hold and write one event; an
 * API SIGKILLed while a batch of bids, an offer and bid and offer cancels waits before its
 * COMMIT leaves none of that batch's effects behind and answered none of them, while all it
 * answered before stays. Budget: ~40 s (three API boots, in parallel).
 */
describe('group commit across API processes', () => {
  const env = testEnv({ RATE_LIMIT_PER_MINUTE: '100000', RATE_LIMIT_PUBLIC_PER_MINUTE: '100000' });
  const keys = placementHoldKeys(env.REDIS_PREFIX!);
  const apis: Array<{ proc: RunningProcess; port: number }> = [];
  const db = new Client({ connectionString: env.DATABASE_URL });
  const redis = new Redis(testRedisUrl(), { lazyConnect: true });
  const organisations: string[] = [];
  const marketId = randomUUID();
  const slug = `test-${marketId.slice(0, 8)}`;
  const query: SqlQuery = async (sql, ...params) =>
    (await db.query<Record<string, unknown>>(sql, params)).rows;
  /** The one value of a one-row, one-column query, as text. */
  const scalar = async (sql: string, ...params: unknown[]): Promise<string> =>
    String(Object.values((await query(sql, ...params))[0] ?? {})[0]);

  const startApi = async (): Promise<{ proc: RunningProcess; port: number }> => {
    const port = await freePort();
    const proc = spawnScript('test/support/placement-hold-api.cjs', { ...env, PORT: String(port) });
    const api = { proc, port };
    apis.push(api);
    await waitForHttp(`http://127.0.0.1:${port}/health/ready`);
    return api;
  };

  const post = async (port: number, path: string, body: object, headers: Record<string, string>) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID(), ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  /** A verified buyer with `credit` fen, through the API and then as an admin would. */
  const buyer = async (
    port: number,
    credit: bigint,
  ): Promise<{ id: string; auth: Record<string, string> }> => {
    const email = `owner-${randomBytes(6).toString('hex')}@gc.test`;
    const res = await post(
      port,
      '/v1/organisations',
      {
        name: `GC ${email}`,
        role: 'BUYER',
        owner: { email, password: `pw-${randomBytes(12).toString('hex')}` },
      },
      {},
    );
    expect(res.status).toBe(201);
    const { organisation, apiKey } = res.body as { organisation: { id: string }; apiKey: { key: string } };
    organisations.push(organisation.id);
    await db.query(FUND_BUYER_SQL, [organisation.id, credit.toString(), 'CNY']);
    await db.query(`UPDATE organisations SET status = 'VERIFIED', verified_at = now() WHERE id = $1`, [
      organisation.id,
    ]);
    return { id: organisation.id, auth: { authorization: `Bearer ${apiKey.key}` } };
  };

  // 1 GPU x 1.00 x 1 h: a hold of 100 fen.
  const HOLD = 100n;
  const bid = (port: number, auth: Record<string, string>): Promise<Answer> =>
    post(
      port,
      '/v1/bids',
      {
        market: slug,
        gpus: 1,
        maxPricePerGpuHour: '1.00',
        durationHours: 1,
        provinces: ['520000'],
        minGpusPerSite: 1,
        partialAllowed: true,
        billingMode: 'PAY_PER_USE',
        expiresAt: new Date(Date.now() + 48 * 3_600_000).toISOString(),
      },
      auth,
    );

  /** A verified provider with one site, through the API and then as an admin would. */
  const provider = async (
    port: number,
  ): Promise<{ id: string; siteId: string; auth: Record<string, string> }> => {
    const email = `owner-${randomBytes(6).toString('hex')}@gc.test`;
    const res = await post(
      port,
      '/v1/organisations',
      {
        name: `GC ${email}`,
        role: 'PROVIDER',
        owner: { email, password: `pw-${randomBytes(12).toString('hex')}` },
      },
      {},
    );
    expect(res.status).toBe(201);
    const { organisation, apiKey } = res.body as { organisation: { id: string }; apiKey: { key: string } };
    organisations.push(organisation.id);
    await db.query(`UPDATE organisations SET status = 'VERIFIED', verified_at = now() WHERE id = $1`, [
      organisation.id,
    ]);
    const auth = { authorization: `Bearer ${apiKey.key}` };
    const site = await post(
      port,
      '/v1/sites',
      {
        name: `hall ${randomBytes(4).toString('hex')}`,
        provinceCode: '520000',
        cityCode: '520100',
        uptimeTier: 'TIER_III',
      },
      auth,
    );
    expect(site.status).toBe(201);
    return { id: organisation.id, siteId: site.body.id as string, auth };
  };

  const offer = (port: number, siteId: string, auth: Record<string, string>): Promise<Answer> =>
    post(
      port,
      '/v1/offers',
      {
        market: slug,
        siteId,
        gpus: 2,
        pricePerGpuHour: '1.00',
        availableFrom: new Date(Date.now() - 3_600_000).toISOString(),
        availableUntil: new Date(Date.now() + 30 * 24 * 3_600_000).toISOString(),
        minLeaseHours: 1,
      },
      auth,
    );

  /** Cancels `/v1/bids/<id>` or `/v1/offers/<id>` (a cancel needs no Idempotency-Key: it is idempotent by state). */
  const cancel = async (port: number, path: string, auth: Record<string, string>): Promise<Answer> => {
    const res = await fetch(`http://127.0.0.1:${port}${path}/cancel`, { method: 'POST', headers: auth });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  /** Answers, or the failure of a request whose process died before answering. */
  const settled = (answer: Promise<Answer>) =>
    answer.then(
      (value) => ({ answered: true as const, answer: value }),
      (error: unknown) => ({ answered: false as const, error }),
    );

  const eventsOf = async (aggregateId: string, type: string): Promise<number> =>
    Number(
      await scalar(
        `SELECT count(*) FROM outbox_events WHERE aggregate_id = $1 AND type = $2`,
        aggregateId,
        type,
      ),
    );

  const statusOf = async (table: 'bids' | 'offers', id: string): Promise<string> =>
    scalar(`SELECT status FROM ${table} WHERE id = $1`, id);

  const offersOf = async (organisationId: string): Promise<number> =>
    Number(await scalar(`SELECT count(*) FROM offers WHERE organisation_id = $1`, organisationId));

  const queuedOn = async (proc: RunningProcess): Promise<number> =>
    Number(await redis.get(keys.queued(proc.child.pid!)));

  const bidsOf = async (organisationId: string): Promise<number> =>
    Number(await scalar(`SELECT count(*) FROM bids WHERE organisation_id = $1`, organisationId));

  const heldOf = async (organisationId: string): Promise<bigint> =>
    BigInt(
      await scalar(
        `SELECT balance::text FROM ledger_accounts WHERE organisation_id = $1 AND kind = 'BUYER_HELD' AND currency = 'CNY'`,
        organisationId,
      ),
    );

  beforeAll(async () => {
    await db.connect();
    await redis.connect();
    await db.query(
      `INSERT INTO markets (id, slug, vendor, model, memory_gb, currency, currency_scale, fee_bps, matching_mode)
       VALUES ($1, $2, 'Test', 'T1', 80, 'CNY', 2, 250, 'CONTINUOUS')`,
      [marketId, slug],
    );
    // The third is the crash test's victim, booted with the others so that test waits on no boot.
    await Promise.all([startApi(), startApi(), startApi()]);
  }, 180_000);

  afterEach(async () => {
    await redis.del(
      keys.hold,
      keys.held,
      keys.batches,
      ...apis.map((api) => keys.queued(api.proc.child.pid!)),
    );
  });

  afterAll(async () => {
    for (const { proc } of apis) if (proc.child.exitCode === null) proc.child.kill('SIGTERM');
    await Promise.all(apis.map(({ proc }) => proc.exited(12_000)));
    try {
      const bids = `SELECT id::text FROM bids WHERE organisation_id = ANY($1::uuid[])`;
      const offers = `SELECT id::text FROM offers WHERE organisation_id = ANY($1::uuid[])`;
      const sites = `SELECT id::text FROM sites WHERE organisation_id = ANY($1::uuid[])`;
      await db.query(
        `DELETE FROM outbox_events WHERE aggregate_id IN (${bids}) OR aggregate_id IN (${offers})
           OR aggregate_id IN (${sites}) OR aggregate_id = ANY($1::text[])`,
        [organisations],
      );
      await db.query(`DELETE FROM bids WHERE organisation_id = ANY($1::uuid[])`, [organisations]);
      await db.query(`DELETE FROM offers WHERE organisation_id = ANY($1::uuid[])`, [organisations]);
      await db.query(`DELETE FROM sites WHERE organisation_id = ANY($1::uuid[])`, [organisations]);
      await db.query(`DELETE FROM idempotency_records WHERE scope = ANY($1::text[])`, [organisations]);
      await db.query(`DELETE FROM outbox_events WHERE aggregate_id = $1`, [marketId]);
      await db.query(`DELETE FROM market_matching WHERE market_id = $1`, [marketId]);
      await db.query(`DELETE FROM markets WHERE id = $1`, [marketId]);
    } finally {
      await redis.quit();
      await db.end();
    }
  });

  it("lets two processes' concurrent batches share one buyer's credit: exactly what it covers is placed", async () => {
    const [a, b] = apis;
    const gate = await buyer(a!.port, 1_000_000n);
    const otherGate = await buyer(a!.port, 1_000_000n);
    const shared = await buyer(a!.port, 5n * HOLD);
    const rich = await buyer(b!.port, 1_000_000n);
    // Warm both processes' key caches, so the batches below meet only each other.
    for (const api of [a!, b!]) {
      for (const tenant of [gate, otherGate, shared, rich]) {
        const res = await fetch(`http://127.0.0.1:${api.port}/v1/bids`, { headers: tenant.auth });
        expect(res.status).toBe(200);
      }
    }

    await redis.set(keys.hold, '0');
    // Gates of different buyers: one buyer's second gate would wait for the first's lock.
    const gates = [bid(a!.port, gate.auth), bid(b!.port, otherGate.auth)];
    await waitFor('both gate batches to be held', async () =>
      (await redis.llen(keys.held)) === 2 ? true : undefined,
    );
    const orders = Array.from({ length: 16 }, (_, i) => {
      const api = i % 2 === 0 ? a! : b!;
      return bid(api.port, i < 12 ? shared.auth : rich.auth);
    });
    await waitFor('8 placements to queue on each process', async () =>
      (await queuedOn(a!.proc)) === 8 && (await queuedOn(b!.proc)) === 8 ? true : undefined,
    );
    await redis.del(keys.hold);
    const answers = await Promise.all(orders);
    expect((await Promise.all(gates)).map((g) => g.status)).toEqual([201, 201]);

    const sharedAnswers = answers.slice(0, 12);
    expect(sharedAnswers.filter((x) => x.status === 201)).toHaveLength(5);
    expect(sharedAnswers.filter((x) => x.status === 402)).toHaveLength(7);
    for (const refused of sharedAnswers.filter((x) => x.status === 402))
      expect(refused.body).toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    expect(answers.slice(12).map((x) => x.status)).toEqual([201, 201, 201, 201]);
    // Each process committed its eight together, after its gate.
    const batches = await redis.lrange(keys.batches, 0, -1);
    for (const { proc } of [a!, b!])
      expect(batches.filter((entry) => entry.startsWith(`${proc.child.pid}:`))).toEqual([
        `${proc.child.pid}:1`,
        `${proc.child.pid}:8`,
      ]);
    expect(await bidsOf(shared.id)).toBe(5);
    expect(await heldOf(shared.id)).toBe(5n * HOLD);
    expect(await bidsOf(rich.id)).toBe(4);
    expect(await ledgerViolations(query, [shared.id, rich.id])).toEqual([]);
  });

  it("keeps a provider's live-order cap and makes one transition per cancel across two processes' concurrent batches", async () => {
    const [a, b] = apis;
    const gate = await buyer(a!.port, 1_000_000n);
    const otherGate = await buyer(a!.port, 1_000_000n);
    const full = await provider(a!.port);
    const seller = await provider(b!.port);
    const holder = await buyer(b!.port, 1_000_000n);
    // 996 live offers already: four more reach the cap of 1,000.
    await db.query(
      `INSERT INTO offers (id, organisation_id, market_id, site_id, gpus, price_per_gpu_hour, available_from,
                           available_until, min_lease_hours, pay_per_use_min_percent, status, seq, created_at, updated_at)
       SELECT gen_random_uuid(), $1, $2, $3, 1, 100, now() - interval '1 hour', now() + interval '30 days', 1, 0,
              'OPEN', nextval('order_seq'), now(), now()
       FROM generate_series(1, 996)`,
      [full.id, marketId, full.siteId],
    );
    // Orders to cancel, placed before the batches under test.
    const bids: string[] = [];
    const offers: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const placedBid = await bid(a!.port, holder.auth);
      expect(placedBid.status).toBe(201);
      bids.push(placedBid.body.id as string);
      const placedOffer = await offer(b!.port, seller.siteId, seller.auth);
      expect(placedOffer.status).toBe(201);
      offers.push(placedOffer.body.id as string);
    }
    expect(await heldOf(holder.id)).toBe(2n * HOLD);
    // Warm both processes' key caches, so the batches below meet only each other.
    for (const api of [a!, b!]) {
      for (const [tenant, path] of [
        [gate, '/v1/bids'],
        [otherGate, '/v1/bids'],
        [holder, '/v1/bids'],
        [full, '/v1/offers'],
        [seller, '/v1/offers'],
      ] as const) {
        const res = await fetch(`http://127.0.0.1:${api.port}${path}`, { headers: tenant.auth });
        expect(res.status).toBe(200);
      }
    }

    await redis.set(keys.hold, '0');
    const gates = [bid(a!.port, gate.auth), bid(b!.port, otherGate.auth)];
    await waitFor('both gate batches to be held', async () =>
      (await redis.llen(keys.held)) === 2 ? true : undefined,
    );
    // Each process: three offers of the full provider, and a cancel of every bid and offer above.
    const sent = [a!, b!].map((api) => ({
      offers: Array.from({ length: 3 }, () => offer(api.port, full.siteId, full.auth)),
      bidCancels: bids.map((id) => cancel(api.port, `/v1/bids/${id}`, holder.auth)),
      offerCancels: offers.map((id) => cancel(api.port, `/v1/offers/${id}`, seller.auth)),
    }));
    await waitFor('7 orders to queue on each process', async () =>
      (await queuedOn(a!.proc)) === 7 && (await queuedOn(b!.proc)) === 7 ? true : undefined,
    );
    await redis.del(keys.hold);
    const offerAnswers = await Promise.all(sent.flatMap((s) => s.offers));
    const bidCancels = await Promise.all(sent.flatMap((s) => s.bidCancels));
    const offerCancels = await Promise.all(sent.flatMap((s) => s.offerCancels));
    expect((await Promise.all(gates)).map((g) => g.status)).toEqual([201, 201]);
    // Each process committed its seven together, after its gate.
    const batches = await redis.lrange(keys.batches, 0, -1);
    for (const { proc } of [a!, b!])
      expect(batches.filter((entry) => entry.startsWith(`${proc.child.pid}:`)).slice(-2)).toEqual([
        `${proc.child.pid}:1`,
        `${proc.child.pid}:7`,
      ]);

    // The cap: exactly four of the six offers placed, the others refused with its 409.
    expect(offerAnswers.filter((x) => x.status === 201)).toHaveLength(4);
    const refused = offerAnswers.filter((x) => x.status !== 201);
    expect(refused.map((x) => x.status)).toEqual([409, 409]);
    for (const answer of refused)
      expect(answer.body).toMatchObject({ details: { reason: 'OPEN_ORDER_LIMIT' } });
    expect(await offersOf(full.id)).toBe(1_000);
    for (const answer of offerAnswers.filter((x) => x.status === 201))
      expect(await eventsOf(answer.body.id as string, 'offer.placed')).toBe(1);

    // Every cancel answered the cancelled order; each order moved, and was announced, once.
    for (const answer of [...bidCancels, ...offerCancels]) {
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ status: 'CANCELLED' });
    }
    for (const id of bids) {
      expect(await statusOf('bids', id)).toBe('CANCELLED');
      expect(await eventsOf(id, 'bid.cancelled')).toBe(1);
    }
    for (const id of offers) {
      expect(await statusOf('offers', id)).toBe('CANCELLED');
      expect(await eventsOf(id, 'offer.cancelled')).toBe(1);
    }
    // Both holds released once: nothing held, nothing released twice.
    expect(await heldOf(holder.id)).toBe(0n);
    expect(await ledgerViolations(query, [holder.id, gate.id, otherGate.id])).toEqual([]);
  });

  it('a process SIGKILLed while a batch of bids, offers and cancels waits before COMMIT leaves none of its effects and answered none', async () => {
    const victim = apis[2]!;
    const other = apis[0]!;
    const gate = await buyer(victim.port, 1_000_000n);
    const lost = await buyer(victim.port, 1_000_000n);
    const keeper = await buyer(victim.port, 1_000_000n);
    const seller = await provider(victim.port);
    // Orders the victim's batches cancel, placed on another process (the victim's batches are
    // counted from its first, so it places nothing before the gate).
    const placed = async (answer: Promise<Answer>): Promise<string> => {
      const { status, body } = await answer;
      expect(status).toBe(201);
      return body.id as string;
    };
    const early = await placed(bid(other.port, keeper.auth));
    const standing = await placed(bid(other.port, keeper.auth));
    const earlyOffer = await placed(offer(other.port, seller.siteId, seller.auth));
    const standingOffer = await placed(offer(other.port, seller.siteId, seller.auth));

    // Batch 1 (the gate) is held while batch 2 (a bid, an offer and two cancels) queues; batch 2
    // is held while batch 3 (two bids, two offers and two cancels) queues; batch 2 commits and
    // batch 3 is held before its COMMIT, and the process dies there.
    await redis.set(keys.hold, '0');
    const gateAnswer = bid(victim.port, gate.auth);
    await waitFor('the gate to be held', async () =>
      (await redis.lrange(keys.held, 0, -1)).includes(`${victim.proc.child.pid}:1:1`) ? true : undefined,
    );
    const answered = [
      bid(victim.port, gate.auth),
      offer(victim.port, seller.siteId, seller.auth),
      cancel(victim.port, `/v1/bids/${early}`, keeper.auth),
      cancel(victim.port, `/v1/offers/${earlyOffer}`, seller.auth),
    ];
    await waitFor('4 orders to queue', async () => ((await queuedOn(victim.proc)) === 4 ? true : undefined));
    await redis.set(keys.hold, '1');
    expect((await gateAnswer).status).toBe(201);
    await waitFor('batch 2 to be held before COMMIT', async () =>
      (await redis.lrange(keys.held, 0, -1)).includes(`${victim.proc.child.pid}:2:4`) ? true : undefined,
    );
    const unanswered = [
      bid(victim.port, lost.auth),
      bid(victim.port, lost.auth),
      offer(victim.port, seller.siteId, seller.auth),
      offer(victim.port, seller.siteId, seller.auth),
      cancel(victim.port, `/v1/bids/${standing}`, keeper.auth),
      cancel(victim.port, `/v1/offers/${standingOffer}`, seller.auth),
    ].map(settled);
    await waitFor('6 orders to queue', async () => ((await queuedOn(victim.proc)) === 6 ? true : undefined));
    await redis.set(keys.hold, '2');
    const [placedBid, placedOffer, cancelledBid, cancelledOffer] = await Promise.all(answered);
    expect([placedBid, placedOffer, cancelledBid, cancelledOffer].map((x) => x!.status)).toEqual([
      201, 201, 200, 200,
    ]);
    await waitFor('batch 3 to be held before COMMIT', async () =>
      (await redis.lrange(keys.held, 0, -1)).includes(`${victim.proc.child.pid}:3:6`) ? true : undefined,
    );
    victim.proc.child.kill('SIGKILL');
    await victim.proc.exited(10_000);

    for (const outcome of await Promise.all(unanswered)) expect(outcome.answered).toBe(false);
    // The open transaction died with its connection: nothing of batch 3 remains.
    expect(await bidsOf(lost.id)).toBe(0);
    expect(await heldOf(lost.id)).toBe(0n);
    expect(await scalar(`SELECT count(*) FROM idempotency_records WHERE scope = $1`, lost.id)).toBe('0');
    expect(await statusOf('bids', standing)).toBe('OPEN');
    expect(await eventsOf(standing, 'bid.cancelled')).toBe(0);
    expect(await statusOf('offers', standingOffer)).toBe('OPEN');
    expect(await eventsOf(standingOffer, 'offer.cancelled')).toBe(0);
    // The seller's offers: the two placed elsewhere and batch 2's, each with its record (and
    // the site's).
    expect(await offersOf(seller.id)).toBe(3);
    expect(await scalar(`SELECT count(*) FROM idempotency_records WHERE scope = $1`, seller.id)).toBe('4');
    // What was answered before the kill is there: the gate's and batch 2's effects and events.
    expect(await bidsOf(gate.id)).toBe(2);
    expect(await eventsOf(placedBid!.body.id as string, 'bid.placed')).toBe(1);
    expect(await eventsOf(placedOffer!.body.id as string, 'offer.placed')).toBe(1);
    expect(await statusOf('bids', early)).toBe('CANCELLED');
    expect(await eventsOf(early, 'bid.cancelled')).toBe(1);
    expect(await statusOf('offers', earlyOffer)).toBe('CANCELLED');
    expect(await eventsOf(earlyOffer, 'offer.cancelled')).toBe(1);
    // The keeper's standing bid still holds its funds; the early one's were released.
    expect(await heldOf(keeper.id)).toBe(HOLD);
    expect(await ledgerViolations(query, [gate.id, lost.id, keeper.id])).toEqual([]);
    // The other process, sharing the database, places and cancels the same orders at once (its
    // own batches are counted apart: release the hold first).
    await redis.del(keys.hold);
    expect((await bid(other.port, lost.auth)).status).toBe(201);
    expect(await cancel(other.port, `/v1/bids/${standing}`, keeper.auth)).toMatchObject({
      status: 200,
      body: { status: 'CANCELLED' },
    });
    expect(await cancel(other.port, `/v1/offers/${standingOffer}`, seller.auth)).toMatchObject({
      status: 200,
      body: { status: 'CANCELLED' },
    });
    expect(await heldOf(keeper.id)).toBe(0n);
    expect(await ledgerViolations(query, [lost.id, keeper.id])).toEqual([]);
  });
});
