/**
 * What the end-to-end benchmarks share: the built API and worker processes on a scratch database
 * and Redis prefix, verified and funded tenants, the order shapes they place, and the clean-up.
 * Nothing here measures; the benches do.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { fundBuyer } from '../test/support/funding';

export const ROOT = join(__dirname, '..', '..', '..');
export const SERVER = process.env.BENCH_DATABASE_SERVER ?? 'postgresql://postgres@127.0.0.1:5432';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const MARKETS = ['nvidia-h100-80gb', 'nvidia-h800-80gb', 'nvidia-a100-80gb', 'nvidia-h20-96gb'];
const HOUR = 3_600_000;
// Linux reports process CPU in clock ticks of 10 ms (USER_HZ = 100).
const TICK_MS = 10;

export const out = (line: string): void => void process.stdout.write(`${line}\n`);

export interface Tenant {
  organisationId: string;
  authorization: string;
  siteId?: string;
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** Builds `dist/` unless it is current (scripts/ensure-build.mjs). */
export function ensureBuild(): void {
  const build = spawnSync('node', [join(ROOT, 'scripts', 'ensure-build.mjs')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (build.status !== 0) throw new Error('build failed');
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** SIGTERM, then SIGKILL after 15 s; resolves once every process has exited. */
export async function terminate(children: readonly ChildProcess[]): Promise<void> {
  const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
  const exited = running.map((child) => new Promise((resolve) => child.once('exit', resolve)));
  for (const child of running) child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const child of running) child.kill('SIGKILL');
  }, 15_000);
  await Promise.all(exited);
  clearTimeout(timer);
}

/** Runs `work` on a connection to the server's `postgres` database. */
export async function admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: `${SERVER}/postgres` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** User + system CPU of a process so far, in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/**
 * User + system CPU of the Redis server so far, in ms, from `INFO cpu` (every thread of the
 * server, at microsecond resolution): works for a Redis on another host too, where /proc cannot.
 */
export async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const seconds = (field: string): number => {
    const value = new RegExp(`^${field}:([0-9.]+)`, 'm').exec(info)?.[1];
    if (value === undefined) throw new Error(`Redis INFO cpu has no ${field}`);
    return Number(value);
  };
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1_000;
}

/** `cpuMs` of each process still running, by pid; the gone are left out. */
export function cpuOf(pids: readonly number[]): Map<number, number> {
  const cpu = new Map<number, number>();
  for (const pid of pids) {
    try {
      cpu.set(pid, cpuMs(pid));
    } catch {
      // exited meanwhile
    }
  }
  return cpu;
}

/** CPU spent between two `cpuOf` readings: a process new since `before` counts from 0. */
export function cpuSpent(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let ms = 0;
  for (const [pid, now] of after) ms += now - (before.get(pid) ?? 0);
  return ms;
}

export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface ExchangeOptions {
  database: string;
  port: number;
  /** Worker processes to start besides the API (0: the API alone, nothing matches). */
  workers: number;
  /** A directory: run both processes under `node --cpu-prof`, writing their profiles there. */
  cpuProfileDir?: string;
}

/** The API (and a worker) on a fresh database; `stop()` ends them and removes what they wrote. */
export class Exchange {
  readonly db: Client;
  readonly redis: Redis;
  api?: ChildProcess;
  readonly workers: ChildProcess[] = [];
  /** BullMQ connections one worker process opens on the matching queue, seen at start. */
  private matchingConnectionsPerWorker: number | undefined;
  /** The Redis prefix of every key the exchange writes; `stop()` removes them all. */
  readonly prefix = `cxbench${randomBytes(3).toString('hex')}`;

  constructor(private readonly options: ExchangeOptions) {
    this.db = new Client({ connectionString: `${SERVER}/${options.database}` });
    this.redis = new Redis(REDIS_URL);
  }

  /** The environment the exchange's processes run with (a bench's in-process worker takes it too). */
  env(): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      DATABASE_URL: `${SERVER}/${this.options.database}`,
      REDIS_URL,
      REDIS_PREFIX: this.prefix,
      PORT: String(this.options.port),
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_MINUTE: '1000000',
      RATE_LIMIT_PUBLIC_PER_MINUTE: '1000000',
      API_KEY_PEPPER: randomBytes(32).toString('hex'),
      JWT_SECRET: randomBytes(32).toString('hex'),
      DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      // Production refuses the placeholder bank and seller details instructions and invoices would show.
      PAYMENT_BANK_BENEFICIARY: 'Compute Exchange Bench Ltd.',
      PAYMENT_BANK_NAME: 'Bench Bank',
      PAYMENT_BANK_ACCOUNT: '6222 0000 0000 0001',
      INVOICE_SELLER_NAME: 'Compute Exchange Bench Ltd.',
      INVOICE_SELLER_TAX_ID: 'BENCH-TAX-ID-1',
      INVOICE_SELLER_ADDRESS: 'Bench Street 1, Guiyang',
      // Solve threads of CALL markets' clearings, when the bench is asked for another count than the default.
      ...(process.env.MATCHING_SOLVE_THREADS
        ? { MATCHING_SOLVE_THREADS: process.env.MATCHING_SOLVE_THREADS }
        : {}),
      // Any other setting of the exchange's processes, to compare in turns: `NAME=value,NAME=value`.
      ...exchangeEnv(process.env.BENCH_EXCHANGE_ENV),
      // Node flags for the exchange's processes only (say a V8 heap setting to compare), not the bench's.
      ...(process.env.BENCH_EXCHANGE_NODE_OPTIONS
        ? { NODE_OPTIONS: process.env.BENCH_EXCHANGE_NODE_OPTIONS }
        : {}),
    };
  }

  private spawn(entry: string, env: Record<string, string>): ChildProcess {
    const dir = this.options.cpuProfileDir;
    const args = [...(dir ? ['--cpu-prof', '--cpu-prof-dir', dir] : []), join(ROOT, 'dist', entry)];
    return spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  }

  async start(): Promise<void> {
    const { database, port } = this.options;
    // Another bench's API on the port would answer the health check below in this one's place.
    if (await listening(port))
      throw new Error(`port ${port} is in use (another bench running?); set BENCH_PORT to a free one`);
    await admin((client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
    const env = this.env();
    const api = this.spawn('main.api.js', env);
    this.api = api;
    await waitFor(
      'the API',
      async () => {
        if (api.exitCode !== null || api.signalCode !== null)
          throw new Error(`the API exited (${api.exitCode ?? api.signalCode}) before it was ready`);
        return (await fetch(this.url('/health/ready')).catch(() => undefined))?.status === 200;
      },
      60_000,
    );
    for (let i = 0; i < this.options.workers; i += 1)
      this.workers.push(this.spawn('main.worker.js', { ...env, MIGRATE_ON_START: 'false' }));
    if (this.workers.length > 0) {
      await waitFor(
        'the worker',
        async () => (await this.redis.exists(`${this.prefix}:bull:matching:repeat:matching.sweep`)) === 1,
        60_000,
      );
      await waitFor('the workers', async () => (await this.matchingWorkers()) > 0, 60_000);
      this.matchingConnectionsPerWorker = (await this.matchingWorkers()) / this.workers.length;
    }
    await this.db.connect();
  }

  /** How many BullMQ worker connections the matching queue has, on a connection of its own. */
  private async matchingWorkers(): Promise<number> {
    const connection = this.redis.duplicate();
    const queue = new Queue('matching', { connection, prefix: `${this.prefix}:bull` });
    try {
      return await queue.getWorkersCount();
    } finally {
      await queue.close();
      connection.disconnect();
    }
  }

  /** Starts or ends worker processes until `count` run; resolves once the new ones are polling. */
  async scaleWorkers(count: number): Promise<void> {
    while (this.workers.length > count) await terminate([this.workers.pop()!]);
    const env = { ...this.env(), MIGRATE_ON_START: 'false' };
    const started: ChildProcess[] = [];
    while (this.workers.length < count) {
      const worker = this.spawn('main.worker.js', env);
      this.workers.push(worker);
      started.push(worker);
    }
    // A worker is up once BullMQ lists its connections among the matching queue's workers.
    if (started.length > 0) {
      const perProcess = this.matchingConnectionsPerWorker ?? 1;
      await waitFor(
        `${count} workers`,
        async () => (await this.matchingWorkers()) >= perProcess * count,
        60_000,
      );
    }
  }

  /** Ends every process, removes the database and the Redis keys; safe to call twice. */
  async stop(): Promise<void> {
    const children = [this.api, ...this.workers].filter(
      (child): child is ChildProcess => child !== undefined,
    );
    this.workers.length = 0;
    this.api = undefined;
    await terminate(children);
    await this.db.end().catch(() => undefined);
    if (this.redis.status === 'ready') {
      const keys = await this.redis.keys(`${this.prefix}:*`);
      if (keys.length > 0) await this.redis.unlink(...keys);
    }
    this.redis.disconnect();
    const { database } = this.options;
    await admin((client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.options.port}${path}`;
  }

  async post(path: string, body: unknown, tenant?: Tenant): Promise<Answer> {
    const res = await fetch(this.url(path), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
        ...(tenant ? { authorization: tenant.authorization } : {}),
      },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** `post`, retried while the API answers 503 (busy: it says when to retry), for the set-up. */
  async postRetrying(path: string, body: unknown, tenant?: Tenant): Promise<Answer> {
    for (let attempt = 1; ; attempt += 1) {
      const res = await this.post(path, body, tenant);
      if (res.status !== 503 || attempt >= 20) return res;
      const details = res.body.details as { retryAfterSeconds?: number } | undefined;
      await new Promise((resolve) => setTimeout(resolve, 1_000 * (details?.retryAfterSeconds ?? 1)));
    }
  }

  private dbTail: Promise<unknown> = Promise.resolve();

  /**
   * A statement on `db` after the ones already sent: tenants register concurrently, and `pg`
   * deprecates queueing a query on a busy client (it warned once per bench).
   */
  private dbInTurn(sql: string, params: unknown[]): Promise<unknown> {
    const send = (): Promise<unknown> => this.db.query(sql, params);
    const sent = this.dbTail.then(send, send);
    this.dbTail = sent.catch(() => undefined);
    return sent;
  }

  /** A registered organisation, verified in the database; buyers funded, providers with one site. */
  async tenant(role: 'PROVIDER' | 'BUYER'): Promise<Tenant> {
    const email = `${role.toLowerCase()}-${randomUUID()}@bench.test`;
    const res = await this.postRetrying('/v1/organisations', {
      name: `bench ${role} ${email}`,
      role,
      owner: { email, password: 'bench password 1234' },
    });
    if (res.status !== 201) throw new Error(`registration: ${res.status} ${JSON.stringify(res.body)}`);
    const body = res.body as { organisation: { id: string }; apiKey: { key: string } };
    const organisationId = body.organisation.id;
    await this.dbInTurn(`UPDATE organisations SET status = 'VERIFIED', verified_at = now() WHERE id = $1`, [
      organisationId,
    ]);
    const tenant: Tenant = { organisationId, authorization: `Bearer ${body.apiKey.key}` };
    if (role === 'BUYER') {
      await fundBuyer((sql, ...params) => this.dbInTurn(sql, params), organisationId);
      return tenant;
    }
    const site = await this.postRetrying(
      '/v1/sites',
      { name: 'bench hall', provinceCode: '520000', cityCode: '520100', uptimeTier: 'TIER_III' },
      tenant,
    );
    if (site.status !== 201) throw new Error(`site: ${site.status} ${JSON.stringify(site.body)}`);
    return { ...tenant, siteId: site.body.id as string };
  }

  /** `count` providers and `count` buyers, registered `concurrency` at a time. */
  async tenants(count: number, concurrency = 1): Promise<{ providers: Tenant[]; buyers: Tenant[] }> {
    const providers: Tenant[] = [];
    const buyers: Tenant[] = [];
    let next = 0;
    const register = async (): Promise<void> => {
      while (next < count) {
        next += 1;
        providers.push(await this.tenant('PROVIDER'));
        buyers.push(await this.tenant('BUYER'));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, register));
    return { providers, buyers };
  }
}

/**
 * Order `i` of the benches' stream: even = an offer of 4 GPUs at 18.00, odd = a bid of 4 GPUs at
 * up to 20.00 that crosses it, spread over the tenants and the markets (or all in `market`).
 * Answers path, body, tenant.
 */
export function order(
  i: number,
  providers: Tenant[],
  buyers: Tenant[],
  market = MARKETS[Math.floor(i / 2) % MARKETS.length]!,
): [string, unknown, Tenant] {
  const now = Date.now();
  const pair = Math.floor(i / 2);
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

/** `BENCH_EXCHANGE_ENV`: `NAME=value` pairs separated by commas, for the API and the workers. */
export function exchangeEnv(spec: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of (spec ?? '').split(',')) {
    if (pair.trim() === '') continue;
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`BENCH_EXCHANGE_ENV: "${pair}" is not NAME=value`);
    env[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return env;
}
