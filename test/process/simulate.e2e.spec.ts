import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { SECTIONS } from '../../bench/simulate/report';
import { simulate, type SimulateResult } from '../../bench/simulate/run';
import { freePort, processesWithEnv, spawnForTest } from '../support/processes';
import { TEST_DB_PREFIX, testRedisUrl, testServerUrl, workerRedisPrefix } from '../support/test-env';
import { scaled } from '../support/wait-for';

/**
 * `npm run simulate -- --small` (docs/SIMULATION.md) against the built API and worker: the
 * report is written with every section and chart, no lease breaks a rule, no mode fills more
 * than the offline optimum, and the tool leaves no database or Redis key behind.
 */
describe('simulate --small', () => {
  const out = mkdtempSync(join(tmpdir(), 'cx-simulate-'));
  const dbPrefix = `${TEST_DB_PREFIX}_sim`;
  const redisPrefix = `${workerRedisPrefix()}:sim`;
  const lines: string[] = [];
  let result: SimulateResult;

  beforeAll(async () => {
    result = await simulate(['--small', '--out', out], {
      log: (line) => void lines.push(line),
      server: testServerUrl(),
      redisUrl: testRedisUrl(),
      dbPrefix,
      redisPrefix,
      port: await freePort(),
      // Tracked like every process a test starts: it dies with the suite.
      spawn: (args, env, stdin) => spawnForTest(process.execPath, args, env, { stdin }),
    });
  }, scaled(240_000));

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('drives the small scenario through the exchange in continuous mode', () => {
    expect(result.results).toHaveLength(1);
    const [seed] = result.results;
    const continuous = seed!.modes.CONTINUOUS;
    expect(continuous).toBeDefined();
    expect(seed!.scenario.bids.length).toBeGreaterThan(20);
    // Every bid was accepted and some filled: the run went through the API and the workers.
    expect(continuous!.refused).toBe(0);
    expect(continuous!.gpuHours).toBeGreaterThan(0);
  });

  it('drives it in CALL mode too: the admin endpoint switched every market', () => {
    const call = result.results[0]!.modes.CALL;
    expect(call).toBeDefined();
    expect(call!.refused).toBe(0);
    expect(call!.gpuHours).toBeGreaterThan(0);
    expect(readFileSync(result.reportPath, 'utf8')).not.toContain('did not run');
  });

  it('breaks no eligibility rule and fills no more than the offline optimum', () => {
    for (const seed of result.results) {
      expect(seed.optimum.violations).toEqual([]);
      expect(seed.optimum.optimal).toBe(true);
      for (const analysis of Object.values(seed.modes)) {
        expect(analysis.violations).toEqual([]);
        expect(analysis.gpuHours).toBeLessThanOrEqual(seed.optimum.gpuHours);
      }
    }
  });

  it('writes the report with its sections, charts and figures', () => {
    const report = readFileSync(result.reportPath, 'utf8');
    for (const section of SECTIONS) expect(report).toContain(`\n${section}\n`);
    const charts = [...report.matchAll(/!\[[^\]]*\]\(([^)]+\.svg)\)/g)].map((m) => m[1]!);
    expect(charts.length).toBeGreaterThanOrEqual(6);
    for (const chart of charts) {
      const svg = readFileSync(join(out, chart), 'utf8');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    }
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as {
      seeds: { modes: Record<string, { share: number }> }[];
    };
    const share = json.seeds[0]!.modes.CONTINUOUS!.share;
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThanOrEqual(1);
  });

  it('leaves no database, Redis key or process behind', async () => {
    const admin = new Client({ connectionString: `${testServerUrl()}/postgres` });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE datname LIKE $1',
        [`${dbPrefix}\\_%`],
      );
      expect(rows).toEqual([]);
    } finally {
      await admin.end();
    }
    const redis = new Redis(testRedisUrl());
    try {
      expect(await redis.keys(`${redisPrefix}:*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
    // The API, worker and admin CLI processes it started have exited.
    expect(processesWithEnv(`REDIS_PREFIX=${redisPrefix}:`)).toEqual([]);
    expect(lines.some((line) => line.startsWith('report: '))).toBe(true);
    expect(existsSync(result.reportPath)).toBe(true);
  });
});
