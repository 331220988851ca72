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
  const run = await runBash(walkthroughOf(join(ROOT, markdown)), env, 280_000);
  if (run.code !== 0) throw new Error(`walkthrough failed (${run.code}):\n${run.stdout}\n${run.stderr}`);
  return run.stdout.trim().split('\n');
}

/** The README's walkthrough, read from README.md itself, run against a started exchange. */
describe('README walkthrough', () => {
  const exchange = walkthroughExchange();

  it('buys model throughput, reports three hours (one extended, one short of the SLO) and ends with the invoice, the earnings and the score', async () => {
    const lines = await runWalkthrough('README.md', exchange.env());
    const next = () => JSON.parse(lines.pop() ?? 'null') as unknown;
    // After the lease: on-time handover, delivered, SLO met 2 of 3 hours: (4 + 1 + 1 + 2/3) / (5 + 3).
    expect(next()).toMatchObject({
      name: expect.stringMatching(/^Guizhou Mountain DC /) as unknown,
      reliability: {
        score: 83.3,
        components: {
          handover: { onTime: 1, late: 0, missed: 0 },
          delivery: { delivered: 1, endedWithNoticeByProvider: 0, endedEarlyByProvider: 0 },
          slo: { met: 2, missed: 1 },
          disputes: { lost: 0 },
        },
      },
    });
    // Its owner asked for the 230.01 earned (141.17 + 74.71 + 14.13): pending an admin's transfer.
    expect(lines.pop()).toBe('PENDING');
    // Earnings per hour: [period, GPU-seconds paid, ask, proceeds, fee (3%), SLO credit, net after].
    // Hours 1 and 2 are paid their GPU-seconds at 18.20 capped by the charge (145.60 > 145.53,
    // 97.06 > 97.02); hour 3's 2,880 GPU-seconds (2.7 M of 27 M tokens) pay 14.56 of its 72.76.
    expect(next()).toEqual([
      [0, '28800', '18.20', '145.53', '4.36', '0.00', '141.17'],
      [1, '19200', '18.20', '97.02', '2.91', '19.40', '74.71'],
      [2, '2880', '18.20', '14.56', '0.43', '0.00', '14.13'],
    ]);
    // The invoice: 315.31 charged less the 19.40 credit.
    expect(next()).toEqual([[expect.stringMatching(/^CX-\d{4}-\d{6}$/) as unknown, '295.91', '19.40']]);
    // Its lines: 27 M and 18 M tokens at 5.39 per million; hour 3's 2.7 M billed at the 13.5 M
    // minimum; 20% of hour 2's charge credited.
    expect(next()).toEqual([
      ['TOKENS', '27000000', '5.39', '145.53', '0.00'],
      ['TOKENS', '18000000', '5.39', '97.02', '19.40'],
      ['TAKE_OR_PAY', '13500000', '5.39', '72.76', '0.00'],
    ]);
    // Hour 2 missed on the buyer's undisputed probe alone; the others met.
    expect(next()).toEqual([
      [0, 'MET', 'MET', '0.00'],
      [1, 'MISSED', 'BUYER_REPORTED', '19.40'],
      [2, 'MET', 'MET', '0.00'],
    ]);
    // The clock's three moves after the extension (+1h, +1h, +45m) and the extended end.
    const settledAt = Date.parse(lines.pop() ?? '');
    lines.splice(-2);
    const extendedEnd = Date.parse(lines.pop() ?? '');
    // Both sides' counts of hour 1 agree within the tolerance: the provider's report stands.
    const tokens = next() as { periods: Array<{ periodStart: string }> };
    expect(tokens.periods).toEqual([
      expect.objectContaining({
        period: 0,
        standing: { promptTokens: 21_600_000, outputTokens: 5_400_000, source: 'PROVIDER' },
        dispute: null,
      }),
    ]);
    const start = Date.parse(tokens.periods[0]!.periodStart);
    expect(extendedEnd - start).toBe(3 * 3_600_000);
    expect(settledAt - start).toBe(3.75 * 3_600_000);
    lines.pop(); // the clock's first hour
    // 1,500 output + 6,000 prompt tokens/s of Llama 3.3 70B at 2,600 / 400 per GPU: 6.06 GPUs, 2
    // replicas of 4; 18.20 per GPU-hour x 8 over 27 M tokens an hour = 5.39 per million, half of
    // which is the take-or-pay minimum.
    expect(next()).toMatchObject({
      durationHours: 2,
      minProviderScore: 75,
      inference: { model: 'llama-3.3-70b-instruct', takeOrPayPercent: 50, minimumTokensPerHour: '13500000' },
    });
    expect(next()).toMatchObject({
      fillableGpus: 8,
      vwap: '18.20',
      inference: {
        gpus: 8,
        gpusPerReplica: 4,
        expectedPricePerMillionTokens: '5.39',
        takeOrPay: { percent: 50, minimumTokensPerHour: '13500000', expectedMinimumChargePerHour: '72.76' },
      },
    });
  }, 300_000);
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
