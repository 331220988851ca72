import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort, spawnBuilt, spawnForTest, waitForHttp, type RunningProcess } from '../support/processes';
import { databaseUrl, TEMPLATE_DB, TEST_DB_PREFIX, testEnv, testServerUrl } from '../support/test-env';

const ROOT = join(__dirname, '..', '..');

/** The one ```bash walkthrough block of a Markdown file, as a reader would copy it. */
function walkthroughOf(markdownPath: string): string {
  const blocks = [...readFileSync(markdownPath, 'utf8').matchAll(/^```bash walkthrough\n([\s\S]*?)^```$/gm)];
  if (blocks.length !== 1) throw new Error(`${markdownPath} has ${blocks.length} walkthrough blocks, not 1`);
  return blocks[0]![1]!;
}

/** Runs a script in bash from the repository root, stopping at the first failing command. */
function runBash(script: string, env: Record<string, string>, timeoutMs: number) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawnForTest('bash', ['-c', `set -euo pipefail\n${script}`], env);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // The whole group: bash, npm, node and curl children alike.
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr: `${stderr}${code === null ? '\n(killed after the time limit)' : ''}` });
    });
  });
}

/**
 * A started exchange (API and workers in one process, as `npm start` runs them) on its own
 * database, on the development clock as the walkthroughs start it; stopped and dropped after.
 */
function walkthroughExchange(): { env: () => Record<string, string> } {
  const database = `${TEST_DB_PREFIX}_walkthrough_${randomBytes(4).toString('hex')}`;
  let env: Record<string, string>;
  let exchange: RunningProcess | undefined;

  beforeAll(async () => {
    const admin = new Client({ connectionString: `${testServerUrl()}/postgres` });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${database} TEMPLATE ${TEMPLATE_DB}`);
    } finally {
      await admin.end();
    }
    const port = await freePort();
    env = testEnv({ DATABASE_URL: databaseUrl(database), PORT: String(port), CLOCK: 'controllable' });
    exchange = spawnBuilt('main.js', env);
    await waitForHttp(`http://127.0.0.1:${port}/health/ready`);
  }, 60_000);

  afterAll(async () => {
    exchange?.child.kill('SIGTERM');
    await exchange?.exited(12_000);
    const admin = new Client({ connectionString: `${testServerUrl()}/postgres` });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  });

  return { env: () => ({ ...env, PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? ROOT }) };
}

/** A Markdown file's walkthrough, run as a reader would; its printed lines, last first. */
async function runWalkthrough(markdown: string, env: Record<string, string>): Promise<string[]> {
  const run = await runBash(walkthroughOf(join(ROOT, markdown)), env, 150_000);
  if (run.code !== 0) throw new Error(`walkthrough failed (${run.code}):\n${run.stdout}\n${run.stderr}`);
  return run.stdout.trim().split('\n');
}

/** The README's walkthrough, read from README.md itself, run against a started exchange. */
describe('README walkthrough', () => {
  const exchange = walkthroughExchange();

  it('buys model throughput, reports an hour of tokens and ends with the lease under notice', async () => {
    const lines = await runWalkthrough('README.md', exchange.env());
    const lease = JSON.parse(lines.pop() ?? '') as Record<string, unknown>;
    // 1,500 output + 6,000 prompt tokens/s of Llama 3.3 70B at 2,600 / 400 per GPU: 6.06 GPUs, 2
    // replicas of 4; 18.20 per GPU-hour x 8 over 27 M tokens an hour = 5.39 per million.
    expect(lease).toMatchObject({
      view: 'buyer',
      status: 'ACTIVE',
      market: 'nvidia-h100-80gb',
      gpus: 8,
      pricePerGpuHour: '18.20',
      endedBy: 'PROVIDER',
      noticeGivenAt: expect.any(String) as unknown,
      inference: {
        model: 'llama-3.3-70b-instruct',
        pricePerMillionTokens: '5.39',
        outputTokensPerSecond: 1500,
        promptTokensPerSecond: 6000,
      },
    });
    // Ends at its 4 hours' notice, given an hour after it started.
    const startedAt = Date.parse(lease.startedAt as string);
    expect(Date.parse(lease.endsAt as string) - startedAt).toBe(5 * 3_600_000);
    // The book named the provider with its score after one on-time handover: (4 + 1) / (5 + 1).
    const providers = JSON.parse(lines.pop() ?? '') as Array<{
      name: string;
      reliability: { score: number };
    }>;
    expect(providers).toEqual([
      expect.objectContaining({ name: expect.stringMatching(/^Guizhou Mountain DC /) as unknown }),
    ]);
    expect(providers[0]?.reliability.score).toBe(83.3);
    // Both sides' counts of the hour agree within the tolerance: the provider's report stands.
    const tokens = JSON.parse(lines.pop() ?? '') as { periods: Array<Record<string, unknown>> };
    expect(tokens.periods).toEqual([
      expect.objectContaining({
        period: 0,
        standing: { promptTokens: 21_600_000, outputTokens: 5_400_000, source: 'PROVIDER' },
        dispute: null,
      }),
    ]);
  }, 180_000);
});

/** docs/LEASES.md "Idle windows": scheduled leases in a night window, an interruptible one reclaimed. */
describe('idle windows walkthrough', () => {
  const exchange = walkthroughExchange();

  it('schedules both leases for the window, starts them at its opening and reclaims the interruptible one at the notice', async () => {
    // The JSON it printed; `clock` also prints the exchange's time as it moves it.
    const lines = (await runWalkthrough('docs/LEASES.md', exchange.env())).filter((line) =>
      /^[[{]/.test(line),
    );
    const after = JSON.parse(lines.pop() ?? '') as unknown[];
    // Reclaimed at 15:00Z with 30 minutes' notice: it runs on to 15:30Z; the other runs its 6 hours.
    expect(after).toEqual(
      expect.arrayContaining([
        ['ACTIVE', false, null, '2027-01-04T20:00:00.000Z'],
        ['ACTIVE', true, '2027-01-04T15:00:00.000Z', '2027-01-04T15:30:00.000Z'],
      ]),
    );
    expect(after).toHaveLength(2);
    // Before the window: both SCHEDULED for 22:00 Shanghai, 14:00Z.
    const before = JSON.parse(lines.pop() ?? '') as unknown[];
    expect(before).toEqual(
      expect.arrayContaining([
        ['SCHEDULED', '2027-01-04T14:00:00.000Z', false, 6],
        ['SCHEDULED', '2027-01-04T14:00:00.000Z', true, 12],
      ]),
    );
    expect(before).toHaveLength(2);
    // Its listing, placed at noon Shanghai time: the window opens at 22:00 (14:00Z), none is open.
    expect(JSON.parse(lines.pop() ?? '')).toEqual([['2027-01-04T14:00:00.000Z', null]]);
    // The offer shows the windows it was placed with.
    expect(JSON.parse(lines.pop() ?? '')).toEqual({
      timeZone: 'Asia/Shanghai',
      reclaimNoticeMinutes: 30,
      windows: [{ days: ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'], start: '22:00', end: '06:00' }],
    });
  }, 180_000);
});
