import { Redis } from 'ioredis';
import { Client } from 'pg';
import { processesWithEnv } from './processes';
import { waitFor } from './wait-for';

export interface TestRun {
  /** An environment line (prefix) every process the run spawned carries: `CX_TEST_SPAWNED_BY_RUN=<id>`. */
  processMarker: string;
  /** CX_TEST_REDIS_PREFIX: every Redis key of the run starts with `<prefix>:`. */
  redisPrefix: string;
  /** CX_TEST_DB_PREFIX: the run's databases are `<prefix>_template`, `_w<N>`, `_fresh_w<N>`, `_cluster_<hex>`, `_walkthrough_<hex>`. */
  dbPrefix: string;
  serverUrl: string;
  redisUrl: string;
  keepDatabases?: boolean;
}

/** What a run leaves behind on the machine; a clean run leaves all three empty. */
export interface Leftovers {
  pids: number[];
  redisKeys: number;
  databases: string[];
}

const RUN_DATABASE = (prefix: string): string =>
  `^${prefix}_(template|w[0-9]+|fresh_w[0-9]+|cluster_[0-9a-f]+|walkthrough_[0-9a-f]+)$`;

export async function runLeftovers(run: TestRun): Promise<Leftovers> {
  const redis = new Redis(run.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const admin = new Client({ connectionString: `${run.serverUrl}/postgres` });
  try {
    await redis.connect();
    await admin.connect();
    let redisKeys = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${run.redisPrefix}:*`, 'COUNT', 1000);
      cursor = next;
      redisKeys += keys.length;
    } while (cursor !== '0');
    const { rows } = await admin.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname ~ $1 ORDER BY datname',
      [RUN_DATABASE(run.dbPrefix)],
    );
    return {
      pids: processesWithEnv(run.processMarker),
      redisKeys,
      databases: rows.map((r) => r.datname),
    };
  } finally {
    redis.disconnect();
    await admin.end();
  }
}

/**
 * Removes what a test run made: first its processes still running (so none writes again), then
 * every Redis key under its prefix, then its databases (unless kept for inspection).
 */
export async function removeRunLeftovers(run: TestRun): Promise<void> {
  const marker = run.processMarker;
  for (const pid of processesWithEnv(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  await waitFor('the run’s processes to exit', () =>
    processesWithEnv(marker).length === 0 ? true : undefined,
  );

  const redis = new Redis(run.redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${run.redisPrefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }

  if (run.keepDatabases) return;
  const admin = new Client({ connectionString: `${run.serverUrl}/postgres` });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname ~ $1',
      [RUN_DATABASE(run.dbPrefix)],
    );
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
