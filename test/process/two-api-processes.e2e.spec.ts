import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { freePort, spawnBuilt, waitForHttp, type RunningProcess } from '../support/processes';
import { testEnv } from '../support/test-env';

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
    const key = randomUUID();
    const email = `twice-${randomUUID()}@two.test`;
    const body = JSON.stringify({
      name: 'Two Processes',
      role: 'BUYER',
      owner: { email, password: 'two processes password' },
    });
    const attempts = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        fetch(url(i, '/v1/organisations'), {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body,
        }).then(async (res) => ({
          status: res.status,
          replayed: res.headers.get('idempotent-replayed'),
          body: await res.json(),
        })),
      ),
    );
    const statuses = attempts.map((a) => a.status);
    expect(statuses.filter((s) => s === 201 || s === 409)).toHaveLength(6);
    expect(statuses).toContain(409);
    const fresh = attempts.filter((a) => a.status === 201 && a.replayed !== 'true');
    expect(fresh).toHaveLength(1);
    // A replay answers the first response with the key secret null: it is never stored.
    const { apiKey, ...freshRest } = fresh[0]!.body as { apiKey: Record<string, unknown> };
    for (const replay of attempts.filter((a) => a.replayed === 'true'))
      expect(replay.body).toEqual({ ...freshRest, apiKey: { ...apiKey, key: null } });
    for (const conflict of attempts.filter((a) => a.status === 409)) {
      expect(conflict.body).toMatchObject({ code: 'CONFLICT' });
    }

    const client = new Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    try {
      const users = await client.query('SELECT 1 FROM users WHERE email = $1', [email]);
      expect(users.rowCount).toBe(1);
    } finally {
      await client.end();
    }
  });

  it('counts one API key’s requests across both processes and answers 429 with Retry-After', async () => {
    const registered = await fetch(url(0, '/v1/organisations'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({
        name: 'Limited',
        role: 'BUYER',
        owner: { email: `rl-${randomUUID()}@two.test`, password: 'rate limited password' },
      }),
    });
    const { apiKey } = (await registered.json()) as { apiKey: { key: string } };
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
  });
});
