import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { freePort, spawnBuilt, waitForHttp, type RunningProcess } from '../support/processes';
import { testEnv, testRedisUrl } from '../support/test-env';

const HOUR = 3_600_000;

/** A new organisation through the API of process `i`: its id and API key. */
async function register(url: (i: number, path: string) => string, role: 'BUYER' | 'PROVIDER') {
  const res = await fetch(url(0, '/v1/organisations'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: JSON.stringify({
      name: `Two ${role}`,
      role,
      owner: { email: `two-${randomUUID()}@two.test`, password: 'two processes password' },
    }),
  });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { organisation: { id: string }; apiKey: { key: string } };
  return { organisationId: body.organisation.id, key: body.apiKey.key };
}

interface Attempt {
  status: number;
  replayed: string | null;
  body: unknown;
}

/** Six concurrent requests with one Idempotency-Key, three to each process. */
async function burst(send: (i: number) => Promise<Response>): Promise<Attempt[]> {
  return Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      send(i).then(async (res) => ({
        status: res.status,
        replayed: res.headers.get('idempotent-replayed'),
        body: await res.json(),
      })),
    ),
  );
}

/**
 * Bursts of duplicates, each with a key of its own, until one meets a duplicate in flight (a
 * 409): on a busy machine the first request of a burst can finish before the others arrive, and
 * they are all replays. Every burst is checked (`check`), so the invariants hold in each; at most
 * `MAX_BURSTS`, so a 409 that never comes fails the test. Returns the bursts made.
 */
const MAX_BURSTS = 5;
async function burstsUntilConflict(
  make: (n: number) => Promise<Attempt[]>,
  check: (attempts: Attempt[], n: number) => void | Promise<void>,
): Promise<number> {
  for (let n = 0; n < MAX_BURSTS; n += 1) {
    const attempts = await make(n);
    await check(attempts, n);
    if (attempts.some((a) => a.status === 409)) return n + 1;
  }
  throw new Error(`no duplicate met another in flight in ${MAX_BURSTS} bursts of 6`);
}

/** Rate limits and in-flight idempotency locks live in Redis: two API processes act as one. */
describe('two API processes sharing PostgreSQL and Redis', () => {
  const ports: number[] = [];
  const processes: RunningProcess[] = [];
  const env = testEnv({ RATE_LIMIT_PER_MINUTE: '12', RATE_LIMIT_PUBLIC_PER_MINUTE: '100000' });
  const url = (i: number, path: string) => `http://127.0.0.1:${ports[i % 2]}${path}`;

  beforeAll(async () => {
    for (let i = 0; i < 2; i += 1) {
      const port = await freePort();
      ports.push(port);
      processes.push(spawnBuilt('main.api.js', { ...env, PORT: String(port) }));
    }
    await Promise.all(ports.map((port) => waitForHttp(`http://127.0.0.1:${port}/health/ready`)));
  }, 60_000);

  afterAll(async () => {
    for (const proc of processes) proc.child.kill('SIGTERM');
    await Promise.all(processes.map((proc) => proc.exited(12_000)));
  });

  it('answers concurrent duplicates of one Idempotency-Key with one effect and 409 for those in flight', async () => {
    const client = new Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    try {
      const emails: string[] = [];
      await burstsUntilConflict(
        (n) => {
          const email = `twice-${randomUUID()}@two.test`;
          emails[n] = email;
          const key = randomUUID();
          const body = JSON.stringify({
            name: 'Two Processes',
            role: 'BUYER',
            owner: { email, password: 'two processes password' },
          });
          return burst((i) =>
            fetch(url(i, '/v1/organisations'), {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'idempotency-key': key },
              body,
            }),
          );
        },
        async (attempts, n) => {
          const statuses = attempts.map((a) => a.status);
          expect(statuses.filter((s) => s === 201 || s === 409)).toHaveLength(6);
          const fresh = attempts.filter((a) => a.status === 201 && a.replayed !== 'true');
          expect(fresh).toHaveLength(1);
          // A replay answers the first response with the key secret null: it is never stored.
          const { apiKey, ...freshRest } = fresh[0]!.body as { apiKey: Record<string, unknown> };
          for (const replay of attempts.filter((a) => a.replayed === 'true'))
            expect(replay.body).toEqual({ ...freshRest, apiKey: { ...apiKey, key: null } });
          for (const conflict of attempts.filter((a) => a.status === 409)) {
            expect(conflict.body).toMatchObject({ code: 'CONFLICT' });
          }
          const users = await client.query('SELECT 1 FROM users WHERE email = $1', [emails[n]]);
          expect(users.rowCount).toBe(1);
        },
      );
    } finally {
      await client.end();
    }
  });

  it('answers concurrent duplicate placements with an API key with one order and 409 for those in flight', async () => {
    const provider = await register(url, 'PROVIDER');
    const auth = { authorization: `Bearer ${provider.key}`, 'content-type': 'application/json' };
    const site = await fetch(url(1, '/v1/sites'), {
      method: 'POST',
      headers: { ...auth, 'idempotency-key': randomUUID() },
      body: JSON.stringify({
        name: 'hall',
        provinceCode: '520000',
        cityCode: '520100',
        uptimeTier: 'TIER_III',
      }),
    });
    expect(site.status).toBe(201);
    const { id: siteId } = (await site.json()) as { id: string };
    const body = JSON.stringify({
      market: 'nvidia-h100-80gb',
      siteId,
      gpus: 4,
      pricePerGpuHour: '18.20',
      availableFrom: new Date(Date.now() - HOUR).toISOString(),
      availableUntil: new Date(Date.now() + 24 * HOUR).toISOString(),
      minLeaseHours: 1,
      payPerUseMinPercent: 30,
    });
    const bursts = await burstsUntilConflict(
      () => {
        const key = randomUUID();
        return burst((i) =>
          fetch(url(i, '/v1/offers'), { method: 'POST', headers: { ...auth, 'idempotency-key': key }, body }),
        );
      },
      (attempts) => {
        const statuses = attempts.map((a) => a.status);
        expect(statuses.filter((s) => s === 201 || s === 409)).toHaveLength(6);
        expect(attempts.filter((a) => a.status === 201 && a.replayed !== 'true')).toHaveLength(1);
        for (const conflict of attempts.filter((a) => a.status === 409)) {
          expect(conflict.body).toMatchObject({ code: 'CONFLICT' });
        }
      },
    );
    // One offer per key, however many duplicates each burst sent.
    const client = new Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    try {
      const offers = await client.query('SELECT 1 FROM offers WHERE organisation_id = $1', [
        provider.organisationId,
      ]);
      expect(offers.rowCount).toBe(bursts);
    } finally {
      await client.end();
    }
  });

  it('counts one API key’s requests across both processes and answers 429 with Retry-After', async () => {
    const buyer = await register(url, 'BUYER');
    const apiKey = { key: buyer.key };
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 14; i += 1) {
      const res = await fetch(url(i, '/v1/organisation'), {
        headers: { authorization: `Bearer ${apiKey.key}` },
      });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    // 12 per minute for the key, wherever the requests land.
    expect(statuses.slice(0, 12).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(12)).toEqual([429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);

    // Limits count per route. Invalid placements release their locks; one refused 429 takes none
    // (one script counts and locks).
    const keys: string[] = [];
    const placed: number[] = [];
    for (let i = 0; i < 13; i += 1) {
      keys.push(randomUUID());
      const res = await fetch(url(i, '/v1/bids'), {
        method: 'POST',
        headers: {
          authorization: `Bearer ${apiKey.key}`,
          'content-type': 'application/json',
          'idempotency-key': keys[i]!,
        },
        body: '{}',
      });
      placed.push(res.status);
    }
    expect(placed).toEqual([...Array<number>(12).fill(400), 429]);
    const redis = new Redis(testRedisUrl());
    try {
      for (const key of keys) {
        expect(await redis.exists(`${env.REDIS_PREFIX}:idem:${buyer.organisationId}:${key}`)).toBe(0);
      }
    } finally {
      redis.disconnect();
    }
  });
});
