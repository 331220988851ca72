import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { processesWithEnv, spawnForTest, track, type RunningProcess } from '../support/processes';
import { removeRunLeftovers, runLeftovers, type TestRun } from '../support/run-leftovers';
import { TEST_DB_PREFIX, testRedisUrl, testServerUrl, workerRedisPrefix } from '../support/test-env';
import { scaled, waitFor } from '../support/wait-for';

const JEST = join(__dirname, '..', '..', 'node_modules', 'jest', 'bin', 'jest.js');

interface JestReport {
  testResults: Array<{
    assertionResults: Array<{ title: string; status: string; failureMessages: string[] }>;
  }>;
}

/** A jest run of one fixture suite with its own database prefix and a given Redis prefix. */
function nestedRun(): TestRun {
  const id = randomBytes(3).toString('hex');
  const dbPrefix = `${TEST_DB_PREFIX}_n${id}`;
  return {
    // Every app a fixture starts uses one of the nested run's databases.
    processMarker: `DATABASE_URL=${testServerUrl()}/${dbPrefix}_`,
    redisPrefix: `${workerRedisPrefix()}:nested${id}`,
    dbPrefix,
    serverUrl: testServerUrl(),
    redisUrl: testRedisUrl(),
  };
}

function runJest(fixture: string, run: TestRun, reportFile: string): RunningProcess {
  return track(
    spawnForTest(
      process.execPath,
      [
        JEST,
        '--config',
        'jest.config.js',
        '--runInBand',
        '--testMatch',
        `**/test/process/fixtures/${fixture}`,
        '--json',
        '--outputFile',
        reportFile,
      ],
      {
        CX_TEST_DB_PREFIX: run.dbPrefix,
        CX_TEST_REDIS_PREFIX: run.redisPrefix,
        TEST_DATABASE_SERVER: run.serverUrl,
        TEST_REDIS_URL: run.redisUrl,
        ...(process.env.CX_TEST_TIME_SCALE ? { CX_TEST_TIME_SCALE: process.env.CX_TEST_TIME_SCALE } : {}),
      },
    ),
  );
}

/** Watches, while `until` is pending, whether the run's processes and Redis keys ever existed. */
async function observe(run: TestRun, until: Promise<unknown>): Promise<{ process: boolean; keys: boolean }> {
  const seen = { process: false, keys: false };
  const redis = new Redis(run.redisUrl);
  let done = false;
  void until.finally(() => (done = true));
  try {
    while (!done && !(seen.process && seen.keys)) {
      seen.process ||= processesWithEnv(run.processMarker).length > 0;
      seen.keys ||= (await redis.scan('0', 'MATCH', `${run.redisPrefix}:*`, 'COUNT', 10_000))[1].length > 0;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    redis.disconnect();
  }
  return seen;
}

describe('a test run leaves no process, database or Redis key behind', () => {
  const runs: TestRun[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'cx-nested-jest-'));

  afterAll(async () => {
    for (const run of runs) await removeRunLeftovers(run);
    rmSync(dir, { recursive: true, force: true });
  }, scaled(30_000));

  it(
    'a suite that times out: its processes die with it, teardown removes its keys and databases',
    async () => {
      const run = nestedRun();
      runs.push(run);
      const report = join(dir, 'timed-out.json');
      const jest = runJest('timed-out-suite.fixture.ts', run, report);
      const [seen, exit] = await Promise.all([
        observe(run, jest.exited(scaled(120_000))),
        jest.exited(scaled(120_000)),
      ]);

      // The fixture ran as intended: its worker came up under the given CX_TEST_REDIS_PREFIX ...
      expect(seen).toEqual({ process: true, keys: true });
      const results = (JSON.parse(readFileSync(report, 'utf8')) as JestReport).testResults[0]!
        .assertionResults;
      expect(results).toEqual([
        expect.objectContaining({
          title: 'times out while its worker runs',
          status: 'failed',
          failureMessages: [expect.stringContaining('Exceeded timeout')],
        }),
      ]);
      expect(exit.code).toBe(1);
      // ... and nothing of it is left.
      expect(await runLeftovers(run)).toEqual({ pids: [], redisKeys: 0, databases: [] });
    },
    scaled(150_000),
  );

  it(
    'a jest process killed mid-suite: the processes it started exit by themselves',
    async () => {
      const run = nestedRun();
      runs.push(run);
      const jest = runJest('killed-worker.fixture.ts', run, join(dir, 'killed.json'));
      const [seen, exit] = await Promise.all([
        observe(run, jest.exited(scaled(120_000))),
        jest.exited(scaled(120_000)),
      ]);
      expect(seen.process).toBe(true);
      expect(exit.signal).toBe('SIGKILL');
      await waitFor('the orphaned API process to exit', () =>
        processesWithEnv(run.processMarker).length === 0 ? true : undefined,
      );
    },
    scaled(150_000),
  );
});
