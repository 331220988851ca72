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

/** The README's walkthrough, read from README.md itself, run against a started exchange. */
describe('README walkthrough', () => {
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
    env = testEnv({ DATABASE_URL: databaseUrl(database), PORT: String(port) });
    // API and workers in one process, as `npm start` runs them.
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

  it('ends with a lease', async () => {
    const script = walkthroughOf(join(ROOT, 'README.md'));
    const run = await runBash(
      script,
      { ...env, PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? ROOT },
      150_000,
    );
    if (run.code !== 0) throw new Error(`walkthrough failed (${run.code}):\n${run.stdout}\n${run.stderr}`);
    const last = run.stdout.trim().split('\n').pop() ?? '';
    const leases = JSON.parse(last) as { data: Array<{ status: string; gpus: number; market: string }> };
    expect(leases.data).toEqual([
      expect.objectContaining({ status: 'SCHEDULED', gpus: 8, market: 'nvidia-h100-80gb' }),
    ]);
  }, 180_000);
});
