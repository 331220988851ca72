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
 * order, and an API SIGKILLed while a batch waits before its COMMIT leaves none of that batch's
 * orders behind and answered none of them. Budget: ~30 s (three API boots, in parallel).
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
      await db.query(
        `DELETE FROM outbox_events WHERE aggregate_id IN (${bids}) OR aggregate_id = ANY($1::text[])`,
        [organisations],
      );
      await db.query(`DELETE FROM bids WHERE organisation_id = ANY($1::uuid[])`, [organisations]);
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

  it('a process SIGKILLed while a batch waits before COMMIT leaves none of its orders and answered none', async () => {
    const victim = apis[2]!;
    const gate = await buyer(victim.port, 1_000_000n);
    const lost = await buyer(victim.port, 1_000_000n);
    // Batch 1 (the gate) commits, batch 2 (a blocker) is held while four bids queue behind it,
    // then batch 3 (the four) is held before its COMMIT.
    await redis.set(keys.hold, '1');
    const gateAnswer = bid(victim.port, gate.auth);
    // Registration ran no placement, so the gate's is this process's first batch.
    await waitFor('the gate to commit', async () =>
      (await redis.lrange(keys.batches, 0, -1)).includes(`${victim.proc.child.pid}:1`) ? true : undefined,
    );
    expect((await gateAnswer).status).toBe(201);
    const blocker = bid(victim.port, gate.auth);
    await waitFor('a batch to be held', async () => ((await redis.llen(keys.held)) === 1 ? true : undefined));
    const orders = Array.from({ length: 4 }, () =>
      bid(victim.port, lost.auth).then(
        (answer) => ({ answered: true as const, answer }),
        (error: unknown) => ({ answered: false as const, error }),
      ),
    );
    await waitFor('4 placements to queue', async () =>
      (await queuedOn(victim.proc)) === 4 ? true : undefined,
    );
    await redis.set(keys.hold, '2');
    expect((await blocker).status).toBe(201);
    await waitFor('the four to be held before COMMIT', async () =>
      (await redis.lrange(keys.held, 0, -1)).includes(`${victim.proc.child.pid}:3:4`) ? true : undefined,
    );
    victim.proc.child.kill('SIGKILL');
    await victim.proc.exited(10_000);

    for (const outcome of await Promise.all(orders)) expect(outcome.answered).toBe(false);
    // The open transaction died with its connection: nothing of the batch remains.
    expect(await bidsOf(lost.id)).toBe(0);
    expect(await heldOf(lost.id)).toBe(0n);
    expect(await scalar(`SELECT count(*) FROM idempotency_records WHERE scope = $1`, lost.id)).toBe('0');
    // What was answered 201 before the kill is there.
    expect(await bidsOf(gate.id)).toBe(2);
    expect(await ledgerViolations(query, [gate.id, lost.id])).toEqual([]);
    // The other process, sharing the database, places the same buyer's bids at once (its own
    // batches are counted apart: release the hold first).
    await redis.del(keys.hold);
    expect((await bid(apis[0]!.port, lost.auth)).status).toBe(201);
  });
});
