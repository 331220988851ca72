/**
 * `npm run bench:placement-cpu`: API CPU time per placement, closed loop, the API process alone
 * (no worker, so nothing matches and every order rests). On a machine shared with other work
 * wall-clock rates swing with the neighbours; the CPU the API process itself spends per order
 * (user + system, from /proc) barely does, so this is the figure to compare code changes by.
 *
 * With BENCH_WORKER=1 a worker process runs too, every pair matches, and the worker's CPU per
 * order is reported as well, counted until the book is empty again.
 *
 * Settings (environment): BENCH_ORDERS (3000, half offers, half bids), BENCH_CONCURRENCY (8),
 * BENCH_WORKER (0), BENCH_CPU_PROF (a directory: run the API under `node --cpu-prof` writing its profile there),
 * BENCH_DATABASE_SERVER, BENCH_REDIS_URL.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { fundBuyer } from '../test/support/funding';

const ROOT = join(__dirname, '..', '..', '..');
const SERVER = process.env.BENCH_DATABASE_SERVER ?? 'postgresql://postgres@127.0.0.1:5432';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ORDERS = Number(process.env.BENCH_ORDERS ?? 3_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const CPU_PROF = process.env.BENCH_CPU_PROF;
const WITH_WORKER = process.env.BENCH_WORKER === '1';
const DATABASE = `compute_exchange_bench_cpu_${randomBytes(3).toString('hex')}`;
const PORT = 3_988;
const MARKETS = ['nvidia-h100-80gb', 'nvidia-h800-80gb', 'nvidia-a100-80gb', 'nvidia-h20-96gb'];
const TENANTS = 8;
const HOUR = 3_600_000;
// Linux reports process CPU in clock ticks of 10 ms (USER_HZ = 100).
const TICK_MS = 10;

const out = (line: string): void => void process.stdout.write(`${line}\n`);

interface Tenant {
  authorization: string;
  siteId?: string;
}

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: `${SERVER}/postgres` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** User + system CPU of a process so far, in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

interface Answer {
  status: number;
  body: { id?: string; organisation?: { id: string }; apiKey?: { key: string } };
}

async function post(path: string, body: unknown, tenant?: Tenant): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${PORT}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
      ...(tenant ? { authorization: tenant.authorization } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

async function tenant(db: Client, role: 'PROVIDER' | 'BUYER'): Promise<Tenant> {
  const email = `${role.toLowerCase()}-${randomUUID()}@bench.test`;
  const res = await post('/v1/organisations', {
    name: `bench ${email}`,
    role,
    owner: { email, password: 'bench password 1234' },
  });
  if (res.status !== 201) throw new Error(`registration: ${res.status} ${JSON.stringify(res.body)}`);
  const id = res.body.organisation?.id ?? '';
  await db.query(`UPDATE organisations SET status = 'VERIFIED', verified_at = now() WHERE id = $1`, [id]);
  if (role === 'BUYER') await fundBuyer((sql, ...params) => db.query(sql, params), id);
  return { authorization: `Bearer ${res.body.apiKey?.key ?? ''}` };
}

function order(i: number, providers: Tenant[], buyers: Tenant[]): [string, unknown, Tenant] {
  const now = Date.now();
  const pair = Math.floor(i / 2);
  const market = MARKETS[pair % MARKETS.length]!;
  if (i % 2 === 0) {
    const provider = providers[pair % providers.length]!;
    return [
      '/v1/offers',
      {
        market,
        siteId: provider.siteId,
        gpus: 4,
        pricePerGpuHour: '18.00',
        availableFrom: new Date(now - HOUR).toISOString(),
        availableUntil: new Date(now + 30 * 24 * HOUR).toISOString(),
        minLeaseHours: 1,
      },
      provider,
    ];
  }
  return [
    '/v1/bids',
    {
      market,
      gpus: 4,
      maxPricePerGpuHour: '20.00',
      durationHours: 1,
      partialAllowed: true,
      billingMode: 'PAY_PER_USE',
      expiresAt: new Date(now + 24 * HOUR).toISOString(),
    },
    buyers[(pair * 7) % buyers.length]!,
  ];
}

/** Waits until no order is OPEN (with a worker: everything matched); without one, returns at once. */
async function drained(db: Client): Promise<void> {
  if (!WITH_WORKER) return;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { rows } = await db.query<{ open: number }>(
      `SELECT (SELECT count(*) FROM bids WHERE status = 'OPEN') + (SELECT count(*) FROM offers WHERE status = 'OPEN') AS open`,
    );
    if (Number(rows[0]?.open ?? 0) === 0) return;
    if (Date.now() > deadline) throw new Error('the book did not drain');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Closed loop: CONCURRENCY clients each placing its share of `count` orders. */
async function run(count: number, providers: Tenant[], buyers: Tenant[], offset: number): Promise<number> {
  let next = 0;
  let failed = 0;
  const client = async (): Promise<void> => {
    while (next < count) {
      const i = offset + next;
      next += 1;
      const [path, body, who] = order(i, providers, buyers);
      const res = await post(path, body, who);
      if (res.status !== 201) failed += 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  return failed;
}

async function main(): Promise<void> {
  const build = spawnSync('node', [join(ROOT, 'scripts', 'ensure-build.mjs')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (build.status !== 0) throw new Error('build failed');
  await admin(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  const prefix = `cxbenchcpu${randomBytes(3).toString('hex')}`;
  const env = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    DATABASE_URL: `${SERVER}/${DATABASE}`,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    PORT: String(PORT),
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '1000000',
    RATE_LIMIT_PUBLIC_PER_MINUTE: '1000000',
    API_KEY_PEPPER: randomBytes(32).toString('hex'),
    JWT_SECRET: randomBytes(32).toString('hex'),
    DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    PAYMENT_BANK_BENEFICIARY: 'Compute Exchange Bench Ltd.',
    PAYMENT_BANK_NAME: 'Bench Bank',
  };
  const args = [
    ...(CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : []),
    join(ROOT, 'dist', 'main.api.js'),
  ];
  const api: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const db = new Client({ connectionString: `${SERVER}/${DATABASE}` });
  const redis = new Redis(REDIS_URL);
  let worker: ChildProcess | undefined;
  try {
    const deadline = Date.now() + 60_000;
    while ((await fetch(`http://127.0.0.1:${PORT}/health/ready`).catch(() => undefined))?.status !== 200) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the API');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (WITH_WORKER) {
      const args = [
        ...(CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : []),
        join(ROOT, 'dist', 'main.worker.js'),
      ];
      worker = spawn(process.execPath, args, {
        cwd: ROOT,
        env: { ...env, MIGRATE_ON_START: 'false' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      while ((await redis.exists(`${prefix}:bull:matching:repeat:matching.sweep`)) !== 1) {
        if (Date.now() > deadline) throw new Error('timed out waiting for the worker');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await db.connect();
    const providers: Tenant[] = [];
    const buyers: Tenant[] = [];
    for (let i = 0; i < TENANTS; i += 1) {
      const provider = await tenant(db, 'PROVIDER');
      const site = await post(
        '/v1/sites',
        { name: 'bench hall', provinceCode: '520000', cityCode: '520100', uptimeTier: 'TIER_III' },
        provider,
      );
      providers.push({ ...provider, siteId: site.body.id });
      buyers.push(await tenant(db, 'BUYER'));
    }
    // Warm-up: JIT, pools, prepared plans.
    await run(400, providers, buyers, 0);
    await drained(db);
    const pid = api.pid!;
    const cpu0 = cpuMs(pid);
    const workerCpu0 = worker ? cpuMs(worker.pid!) : 0;
    const t0 = performance.now();
    const failed = await run(ORDERS, providers, buyers, 400);
    const wallMs = performance.now() - t0;
    const cpu = cpuMs(pid) - cpu0;
    out(
      `${ORDERS} orders, ${CONCURRENCY} clients: API CPU ${(cpu / ORDERS).toFixed(2)} ms/order ` +
        `(${cpu} ms in all), wall ${(ORDERS / (wallMs / 1000)).toFixed(0)} orders/s, failed ${failed}`,
    );
    if (worker) {
      await drained(db);
      const workerCpu = cpuMs(worker.pid!) - workerCpu0;
      out(
        `worker CPU ${(workerCpu / ORDERS).toFixed(2)} ms/order (${workerCpu} ms in all, until the book was empty)`,
      );
    }
  } finally {
    const children = [api, worker].filter((child): child is ChildProcess => child !== undefined);
    const exited = children.map((child) => new Promise((resolve) => child.once('exit', resolve)));
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(exited);
    await db.end().catch(() => undefined);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.unlink(...keys);
    redis.disconnect();
    await admin(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:placement-cpu failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exitCode = 1;
});
