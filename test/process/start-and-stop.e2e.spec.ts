import { Client } from 'pg';
import { freePort, spawnBuilt, spawnForTest, waitForHttp, type RunningProcess } from '../support/processes';
import { databaseUrl, TEST_DB_PREFIX, testEnv, testServerUrl, workerId } from '../support/test-env';
import { waitFor } from '../support/wait-for';

// Closed loopback ports stand for services that are down.
const CLOSED_REDIS = 'redis://127.0.0.1:6392';
const CLOSED_POSTGRES_PORT = 5438;

async function adminQuery<T extends object = Record<string, unknown>>(
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new Client({ connectionString: `${testServerUrl()}/postgres` });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

function expectOneLineFailure(proc: RunningProcess, pattern: RegExp): void {
  const lines = proc.stderr().trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(proc.stderr()).not.toMatch(/\n\s+at /);
}

describe('start-up failures: one line naming the service, non-zero exit, no retry loop', () => {
  it('exits when Redis cannot be reached', async () => {
    const proc = spawnBuilt('main.js', testEnv({ REDIS_URL: CLOSED_REDIS, LOG_LEVEL: 'silent' }));
    const { code, afterMs } = await proc.exited(15_000);
    expect(code).toBe(1);
    expect(afterMs).toBeLessThan(15_000);
    expectOneLineFailure(proc, /^compute-exchange: cannot reach Redis at 127\.0\.0\.1:6392: .*ECONNREFUSED/);
  });

  it('exits when PostgreSQL cannot be reached', async () => {
    const proc = spawnBuilt(
      'main.js',
      testEnv({
        DATABASE_URL: `postgresql://postgres@127.0.0.1:${CLOSED_POSTGRES_PORT}/x`,
        LOG_LEVEL: 'silent',
      }),
    );
    const { code } = await proc.exited(15_000);
    expect(code).toBe(1);
    expectOneLineFailure(
      proc,
      /^compute-exchange: cannot reach PostgreSQL at 127\.0\.0\.1:5438: .*ECONNREFUSED/,
    );
  });

  it('exits on invalid configuration, naming the variable', async () => {
    const proc = spawnBuilt('main.api.js', testEnv({ PORT: 'eighty' }));
    const { code } = await proc.exited(15_000);
    expect(code).toBe(1);
    expectOneLineFailure(proc, /^compute-exchange: invalid configuration: PORT/);
  });
});

describe('a fresh server: npm start creates the database, migrates, serves, and stops on SIGTERM', () => {
  const name = `${TEST_DB_PREFIX}_fresh_w${workerId()}`;

  beforeAll(async () => {
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });

  afterAll(async () => {
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });

  it('comes up ready with the migrated catalogue, then exits 0 within 10 s of SIGTERM', async () => {
    const port = await freePort();
    const proc = spawnBuilt(
      'main.js',
      testEnv({
        DATABASE_URL: databaseUrl(name),
        MIGRATE_ON_START: 'true',
        PORT: String(port),
        LOG_LEVEL: 'info',
      }),
    );
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health/ready`);
      await waitForHttp(`http://127.0.0.1:${port}/docs`);
      const spec = JSON.parse(await waitForHttp(`http://127.0.0.1:${port}/docs-json`)) as { paths: object };
      expect(Object.keys(spec.paths)).toContain('/health/ready');
    } finally {
      proc.child.kill('SIGTERM');
    }
    const { code, afterMs } = await proc.exited(12_000);
    expect(code).toBe(0);
    expect(afterMs).toBeLessThan(10_000);
    expect(proc.stdout()).toContain(`created database \\"${name}\\"`);
    expect(proc.stdout()).toContain('applied migrations: 20261128000000_init');

    const client = new Client({ connectionString: databaseUrl(name) });
    await client.connect();
    try {
      const markets = await client.query<{ n: string }>('SELECT count(*) AS n FROM markets');
      const provinces = await client.query<{ n: string }>('SELECT count(*) AS n FROM provinces');
      const secrets = await client.query<{ name: string }>('SELECT name FROM app_secrets ORDER BY name');
      expect(Number(markets.rows[0]?.n)).toBe(8);
      expect(Number(provinces.rows[0]?.n)).toBe(31);
      // testEnv configures every secret, so none was generated.
      expect(secrets.rows).toEqual([]);
    } finally {
      await client.end();
    }
  });
});

describe('API and worker as separate processes', () => {
  it('the worker relays an event committed elsewhere; both stop with 0 on SIGTERM', async () => {
    const port = await freePort();
    const env = testEnv({ PORT: String(port) });
    const api = spawnBuilt('main.api.js', env);
    const worker = spawnBuilt('main.worker.js', env);
    const client = new Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health/ready`);
      const inserted = await client.query<{ id: string }>(
        `INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, occurred_at)
         VALUES (gen_random_uuid(), 'bid.placed', 'bid', 'process-test', '{}', now()) RETURNING id`,
      );
      const id = inserted.rows[0]!.id;
      await waitFor('the worker to publish the event', async () => {
        const row = await client.query<{ published_at: Date | null }>(
          'SELECT published_at FROM outbox_events WHERE id = $1',
          [id],
        );
        return row.rows[0]?.published_at ?? undefined;
      });
      await client.query('DELETE FROM outbox_events WHERE id = $1', [id]);
    } finally {
      await client.end();
      api.child.kill('SIGTERM');
      worker.child.kill('SIGTERM');
    }
    const [apiExit, workerExit] = await Promise.all([api.exited(12_000), worker.exited(12_000)]);
    expect(apiExit.code).toBe(0);
    expect(workerExit.code).toBe(0);
    expect(workerExit.afterMs).toBeLessThan(10_000);
  });
});

describe('SIGTERM while Redis is down', () => {
  it('still exits 0 within 10 s', async () => {
    const redisPort = await freePort();
    // A Redis of our own, so stopping it affects nobody else.
    const redis = spawnForTest(
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {},
    );
    const port = await freePort();
    const proc = spawnBuilt(
      'main.js',
      testEnv({ REDIS_URL: `redis://127.0.0.1:${redisPort}`, PORT: String(port) }),
    );
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health/ready`);
      redis.kill('SIGKILL');
      await waitForHttp(`http://127.0.0.1:${port}/health/ready`, 503);
    } finally {
      redis.kill('SIGKILL');
      proc.child.kill('SIGTERM');
    }
    const { code, afterMs } = await proc.exited(12_000);
    expect(code).toBe(0);
    expect(afterMs).toBeLessThan(10_000);
  });
});
