/**
 * Drives a scenario through the real exchange (docs/SIMULATION.md): the built API and worker
 * processes on a database and Redis prefix of their own, with the controllable clock pinned at
 * the scenario's start. Organisations register over HTTP and an admin verifies them, sites and
 * offers are placed, then bids arrive on their schedule while the clock follows them; the leases
 * are read back once matching has gone quiet. Everything it made goes on stop(), also on failure
 * and Ctrl-C (`stopAll`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import { Client, Pool } from 'pg';
import { ControllableClock } from '@/infra/clock/controllable-clock';
import { FUND_BUYER_SQL } from '../../test/support/funding';
import { listening } from '../exchange';
import type { Scenario, SimBid } from './scenario';

/** The checkout: bench/simulate/ from source (jest), dist/bench/bench/simulate/ when built. */
export const ROOT = ((): string => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
})();
const CLOCK_KEY = 'clock:now';

export type MatchingMode = 'CONTINUOUS' | 'CALL';

/** Starts a node process: `spawn(process.execPath, args, ...)` unless a test tracks its own. */
export type SpawnProcess = (
  args: string[],
  env: Record<string, string>,
  stdin: 'ignore' | 'pipe',
) => ChildProcess;

const spawnNode: SpawnProcess = (args, env, stdin) =>
  spawn(process.execPath, args, { cwd: ROOT, env, stdio: [stdin, 'pipe', 'pipe'] });

export interface DriverOptions {
  /** postgresql:// URL of the server, without a database. */
  readonly server: string;
  readonly redisUrl: string;
  /** Name of the scratch database (dropped before and after). */
  readonly database: string;
  /** Redis key prefix of the exchange's processes (every key under it is deleted after). */
  readonly redisPrefix: string;
  readonly port: number;
  /** `dist/main.js` alone instead of `main.api.js` + `main.worker.js`. */
  readonly singleProcess: boolean;
  /** Progress lines go here. */
  readonly log: (line: string) => void;
  readonly spawn?: SpawnProcess;
  /** Where the processes' stderr goes, one file each (none when absent). */
  readonly logDir?: string;
}

/** One lease as read back from the exchange, in the scenario's keys. */
export interface SimLease {
  readonly bid: string;
  readonly offer: string;
  readonly gpus: number;
  /** Trade price per GPU-hour, minor units. */
  readonly price: number;
  readonly durationHours: number;
}

export interface DriveResult {
  readonly leases: readonly SimLease[];
  /** Bids the API refused, with the answer. */
  readonly refused: readonly { bid: string; status: number; body: string }[];
  /** Wall-clock milliseconds: set-up, bid arrivals, waiting for matching to go quiet. */
  readonly timings: { setupMs: number; arrivalsMs: number; settleMs: number };
}

interface Organisation {
  id: string;
  key: string;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const running = new Set<SimExchange>();

/** Stops every exchange still running (on a signal or a failure). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((exchange) => exchange.stop()));
}

/** Runs `work` over `items` with at most `limit` at a time, in order of start. */
export async function inPool<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      await work(items[index]!, index);
    }
  });
  await Promise.all(lanes);
}

const MAX_ATTEMPTS = 30;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const money = (minor: number): string => (minor / 100).toFixed(2);

export class SimExchange {
  private readonly children: ChildProcess[] = [];
  private readonly redis: Redis;
  private db: Pool | undefined;
  private clock: ControllableClock | undefined;
  private adminToken = '';
  private stopped: Promise<void> | undefined;
  private readonly exits: string[] = [];
  /** Requests answered 5xx or 429 and sent again. */
  retries = 0;
  private readonly providers: Organisation[] = [];
  private readonly buyers: Organisation[] = [];
  /** API key per organisation id. */
  private readonly keys = new Map<string, string>();

  constructor(private readonly options: DriverOptions) {
    if (options.logDir !== undefined) mkdirSync(options.logDir, { recursive: true });
    this.redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
    running.add(this);
  }

  private env(): Record<string, string> {
    const passThrough = Object.fromEntries(
      Object.entries(process.env).filter(
        (entry): entry is [string, string] =>
          entry[1] !== undefined && (entry[0] === 'NODE_OPTIONS' || entry[0].startsWith('CX_TEST_')),
      ),
    );
    return {
      PATH: process.env.PATH ?? '',
      ...passThrough,
      NODE_ENV: 'development',
      CLOCK: 'controllable',
      DATABASE_URL: `${this.options.server}/${this.options.database}`,
      REDIS_URL: this.options.redisUrl,
      REDIS_PREFIX: this.options.redisPrefix,
      HOST: '127.0.0.1',
      PORT: String(this.options.port),
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_MINUTE: '1000000',
      RATE_LIMIT_PUBLIC_PER_MINUTE: '1000000',
      API_KEY_PEPPER: randomBytes(32).toString('hex'),
      JWT_SECRET: randomBytes(32).toString('hex'),
      DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    };
  }

  private spawn(entry: string, env: Record<string, string>): ChildProcess {
    const child = (this.options.spawn ?? spawnNode)([join(ROOT, 'dist', entry)], env, 'ignore');
    let stderr = '';
    // Warnings and errors of the exchange's processes (LOG_LEVEL=warn) go to a log for the report's reader.
    const log =
      this.options.logDir === undefined
        ? undefined
        : createWriteStream(
            join(this.options.logDir, `${this.options.database}-${entry.replace(/\W+/g, '-')}.log`),
          );
    child.once('exit', () => log?.end());
    // pino writes to stdout: read it so the pipe never fills, keep it in the log.
    child.stdout?.on('data', (chunk: Buffer) => log?.write(chunk));
    child.stderr?.on('data', (chunk: Buffer) => {
      log?.write(chunk);
      stderr = (stderr + chunk.toString()).slice(-4_000);
    });
    child.once('exit', (code, signal) => {
      if (this.stopped === undefined)
        this.exits.push(`${entry} exited (${code ?? signal}): ${stderr.trim()}`);
    });
    return child;
  }

  private async admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ connectionString: `${this.options.server}/postgres` });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  /** Fresh database, the clock pinned at `t0`, processes started and ready, an admin logged in. */
  async start(t0: number): Promise<void> {
    const { database, redisPrefix } = this.options;
    const began = performance.now();
    // Another run's API on the port would answer the health check below in this one's place.
    if (await listening(this.options.port))
      throw new Error(`port ${this.options.port} is in use (another run?); set SIM_PORT to a free one`);
    await this.admin((client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
    // The first clock to join pins the instant; the processes adopt it.
    this.clock = await ControllableClock.join(this.redis, `${redisPrefix}:${CLOCK_KEY}`, t0);
    await this.clock.set(new Date(t0));
    const env = this.env();
    if (this.options.singleProcess) this.children.push(this.spawn('main.js', env));
    else this.children.push(this.spawn('main.api.js', env));
    await waitFor(
      'the API',
      async () => {
        this.checkAlive();
        return (await fetch(this.url('/health/ready')).catch(() => undefined))?.status === 200;
      },
      120_000,
    );
    if (!this.options.singleProcess)
      this.children.push(this.spawn('main.worker.js', { ...env, MIGRATE_ON_START: 'false' }));
    await waitFor(
      'the worker',
      async () => {
        this.checkAlive();
        return (await this.redis.exists(`${redisPrefix}:bull:matching:repeat:matching.sweep`)) === 1;
      },
      120_000,
    );
    this.options.log(`  exchange ready in ${((performance.now() - began) / 1000).toFixed(1)} s`);
    this.db = new Pool({ connectionString: `${this.options.server}/${database}`, max: 4 });
    await this.createAdmin(env);
  }

  private checkAlive(): void {
    if (this.exits.length > 0) throw new Error(this.exits.join('\n'));
  }

  private async createAdmin(env: Record<string, string>): Promise<void> {
    const email = `sim-admin-${randomBytes(4).toString('hex')}@sim.example`;
    const password = randomBytes(18).toString('base64url');
    const cli = (this.options.spawn ?? spawnNode)(
      [join(ROOT, 'dist', 'cli', 'admin.js'), 'create-admin', email],
      env,
      'pipe',
    );
    let stderr = '';
    cli.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = await new Promise<number | null>((resolve, reject) => {
      cli.once('error', reject);
      cli.once('exit', resolve);
      cli.stdin?.end(`${password}\n`);
    });
    if (exit !== 0) throw new Error(`admin create-admin failed: ${stderr.trim()}`);
    const login = await this.expect(200, 'POST', '/v1/auth/login', undefined, { email, password });
    this.adminToken = String(login.accessToken);
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.options.port}${path}`;
  }

  /** One request; a 5xx or 429 is retried after the time the API asks for (1 s by default). */
  async call(
    method: 'GET' | 'POST' | 'PATCH' | 'PUT',
    path: string,
    token?: string,
    body?: unknown,
  ): Promise<Answer> {
    // One idempotency key for every attempt: a retried placement cannot place twice.
    const key = randomUUID();
    for (let attempt = 1; ; attempt += 1) {
      let res: Response;
      try {
        res = await fetch(this.url(path), {
          method,
          headers: {
            ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
            ...(method === 'POST' ? { 'idempotency-key': key } : {}),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch (error) {
        // A starved API can miss the connect timeout: the same key makes another attempt safe.
        if (attempt >= MAX_ATTEMPTS) throw error;
        this.retries += 1;
        await sleep(1_000);
        continue;
      }
      const text = await res.text();
      let parsed: Record<string, unknown>;
      try {
        parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
      } catch {
        parsed = { text };
      }
      // A 500 is retried too: the same idempotency key makes a second attempt safe, and on a
      // starved machine a transaction can time out; the report counts every retry.
      if ((res.status < 500 && res.status !== 429) || attempt >= MAX_ATTEMPTS)
        return { status: res.status, body: parsed };
      this.retries += 1;
      const after = Number(res.headers.get('retry-after') ?? 1);
      await sleep(1_000 * (Number.isFinite(after) && after > 0 ? after : 1));
    }
  }

  async expect(
    status: number,
    method: 'GET' | 'POST' | 'PATCH' | 'PUT',
    path: string,
    token?: string,
    body?: unknown,
  ): Promise<Record<string, unknown>> {
    const answer = await this.call(method, path, token, body);
    if (answer.status !== status)
      throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer.body;
  }

  /**
   * The market's matching mode, through the admin API (docs/ADMIN.md). Answers false when this
   * build of the exchange has no such endpoint (before call markets).
   */
  async setMatchingMode(market: string, mode: MatchingMode): Promise<boolean> {
    // PUT /admin/markets/{slug}/matching (docs/MATCHING.md "Call markets"), 1-second windows.
    const answer = await this.call('PUT', `/admin/markets/${market}/matching`, this.adminToken, {
      matchingMode: mode,
      ...(mode === 'CALL' ? { callWindowMs: 1_000 } : {}),
    });
    if (answer.status === 404 && JSON.stringify(answer.body).includes('Cannot PUT')) return false;
    if (answer.status >= 300)
      throw new Error(`setting ${market} to ${mode}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return true;
  }

  /** Registers, verifies (admin) and funds `providers` and `buyers` organisations, kept for every seed. */
  async register(providers: number, buyers: number, concurrency: number): Promise<void> {
    const register = async (role: 'PROVIDER' | 'BUYER', index: number): Promise<Organisation> => {
      const tag = `${role.toLowerCase()}-${index}-${randomBytes(3).toString('hex')}`;
      const body = await this.expect(201, 'POST', '/v1/organisations', undefined, {
        name: `sim ${tag}`,
        role,
        owner: { email: `${tag}@sim.example`, password: randomBytes(18).toString('base64url') },
      });
      const organisation = body.organisation as { id: string };
      const apiKey = body.apiKey as { key: string };
      await this.expect(200, 'POST', `/admin/organisations/${organisation.id}/verify`, this.adminToken);
      const registered = { id: organisation.id, key: apiKey.key };
      this.keys.set(registered.id, registered.key);
      return registered;
    };
    const hadProviders = this.providers.length;
    await inPool([...Array(Math.max(0, providers - hadProviders)).keys()], concurrency, async (i) => {
      this.providers[hadProviders + i] = await register('PROVIDER', hadProviders + i);
    });
    const had = this.buyers.length;
    await inPool([...Array(Math.max(0, buyers - had)).keys()], concurrency, async (i) => {
      const buyer = await register('BUYER', had + i);
      // Credit as a confirmed top-up would post it (test/support/funding.ts): 10 billion CNY.
      await this.db!.query(FUND_BUYER_SQL, [buyer.id, '1000000000000', 'CNY']);
      this.buyers[had + i] = buyer;
    });
    this.options.log(
      `  ${this.providers.length} providers and ${this.buyers.length} buyers registered, verified and funded`,
    );
  }

  /** The clock back at the scenario's start; its sites and offers placed (answers offer id -> key). */
  async placeSupply(scenario: Scenario, concurrency: number): Promise<Map<string, string>> {
    await this.clock!.set(new Date(scenario.t0));
    const sites = new Array<string>(scenario.sites.length);
    await inPool(scenario.sites, concurrency, async (site, i) => {
      const body = await this.expect(201, 'POST', '/v1/sites', this.providers[site.provider]!.key, {
        name: `sim ${scenario.seed} ${site.key}`,
        provinceCode: site.province,
        cityCode: site.city,
        uptimeTier: 'TIER_III',
      });
      sites[i] = String(body.id);
    });
    const offers = new Map<string, string>();
    await inPool(scenario.offers, concurrency, async (offer) => {
      const site = scenario.sites[offer.site]!;
      const body = await this.expect(201, 'POST', '/v1/offers', this.providers[site.provider]!.key, {
        market: offer.market,
        siteId: sites[offer.site],
        gpus: offer.gpus,
        pricePerGpuHour: money(offer.price),
        availableFrom: new Date(offer.availableFrom).toISOString(),
        availableUntil: new Date(offer.availableUntil).toISOString(),
        minLeaseHours: offer.minLeaseHours,
      });
      offers.set(String(body.id), offer.key);
    });
    return offers;
  }

  /**
   * Cancels, as their owners, every bid and offer still live, so the next seed's book holds its
   * own orders only (leases made stay: they hold GPUs of offers no later seed uses).
   */
  async clearBook(concurrency: number): Promise<number> {
    const { rows } = await this.db!.query<{ kind: 'bids' | 'offers'; id: string; organisation_id: string }>(
      `SELECT 'bids' AS kind, id, organisation_id FROM bids WHERE status IN ('OPEN', 'PARTIALLY_FILLED')
       UNION ALL
       SELECT 'offers', id, organisation_id FROM offers WHERE status IN ('OPEN', 'PARTIALLY_FILLED', 'FILLED')`,
    );
    await inPool(rows, concurrency, async (row) => {
      await this.expect(
        200,
        'POST',
        `/v1/${row.kind}/${row.id}/cancel`,
        this.keys.get(row.organisation_id),
        {},
      );
    });
    return rows.length;
  }

  /**
   * Places the bids at their arrival instants: wall-clock time after `start` follows the
   * scenario's time divided by `speed`, and the exchange's clock is moved to each arrival.
   */
  async placeBids(
    scenario: Scenario,
    speed: number,
  ): Promise<{ bids: Map<string, string>; refused: { bid: string; status: number; body: string }[] }> {
    const bids = new Map<string, string>();
    const refused: { bid: string; status: number; body: string }[] = [];
    const began = performance.now();
    const pending: Promise<void>[] = [];
    // A placement that fails is reported once every placement has settled, not left unhandled
    // (which would end the process before it cleans up).
    let failure: Error | undefined;
    const place = async (bid: SimBid): Promise<void> => {
      const answer = await this.call('POST', '/v1/bids', this.buyers[bid.buyer]!.key, {
        market: bid.market,
        gpus: bid.gpus,
        maxPricePerGpuHour: money(bid.price),
        durationHours: bid.durationHours,
        provinces: bid.provinces,
        minGpusPerSite: bid.minGpusPerSite,
        partialAllowed: bid.partialAllowed,
        billingMode: 'RESERVED',
        expiresAt: new Date(bid.expiresAt).toISOString(),
      });
      if (answer.status === 201) bids.set(String(answer.body.id), bid.key);
      else
        refused.push({
          bid: bid.key,
          status: answer.status,
          body: JSON.stringify(answer.body).slice(0, 300),
        });
    };
    let clockAt = scenario.t0;
    for (const bid of scenario.bids) {
      const due = (bid.arrival - scenario.t0) / speed - (performance.now() - began);
      if (due > 0) await sleep(due);
      // The clock moves in whole seconds: each move is acknowledged by every process.
      if (bid.arrival - clockAt >= 1_000) {
        clockAt = bid.arrival;
        await this.clock!.set(new Date(clockAt));
      }
      this.checkAlive();
      if (failure !== undefined) break;
      pending.push(
        place(bid).catch((error: unknown) => {
          failure ??= error instanceof Error ? error : new Error(String(error));
        }),
      );
    }
    await Promise.all(pending);
    if (failure !== undefined) throw failure;
    return { bids, refused };
  }

  /** Waits until no bid is left unprocessed and leases stop changing for `quietMs`. */
  async waitForQuiet(quietMs: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    let since = Date.now();
    for (;;) {
      this.checkAlive();
      const { rows } = await this.db!.query<{ leases: string; filled: string; unpublished: string }>(`
        SELECT (SELECT count(*) FROM leases) AS leases,
               (SELECT coalesce(sum(filled_gpus), 0) FROM bids) AS filled,
               (SELECT count(*) FROM outbox_events WHERE published_at IS NULL) AS unpublished`);
      const row = rows[0]!;
      const now = `${row.leases}/${row.filled}`;
      if (now !== last || row.unpublished !== '0') {
        last = now;
        since = Date.now();
      } else if (Date.now() - since >= quietMs) {
        return;
      }
      if (Date.now() > deadline) throw new Error('timed out waiting for matching to go quiet');
      await sleep(250);
    }
  }

  /** Every lease of the bids in `bids` (this seed's), in the scenario's keys. */
  async leases(bids: ReadonlyMap<string, string>, offers: ReadonlyMap<string, string>): Promise<SimLease[]> {
    const { rows } = await this.db!.query<{
      bid_id: string;
      offer_id: string;
      gpus: number;
      price: string;
      duration_hours: number;
    }>(
      `SELECT bid_id, offer_id, gpus, price_per_gpu_hour::text AS price, duration_hours FROM leases
       WHERE bid_id = ANY($1::uuid[]) ORDER BY created_at, id`,
      [[...bids.keys()]],
    );
    return rows.map((row) => {
      const bid = bids.get(row.bid_id);
      const offer = offers.get(row.offer_id);
      if (bid === undefined || offer === undefined)
        throw new Error(
          `lease of an order the simulation did not place: bid ${row.bid_id}, offer ${row.offer_id}`,
        );
      return { bid, offer, gpus: row.gpus, price: Number(row.price), durationHours: row.duration_hours };
    });
  }

  /** Ends the processes, drops the database, deletes the Redis keys. Safe to call twice. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    const alive = this.children.filter((child) => child.exitCode === null && child.signalCode === null);
    const exited = alive.map((child) => new Promise((resolve) => child.once('exit', resolve)));
    for (const child of alive) child.kill('SIGTERM');
    const bound = setTimeout(() => alive.forEach((child) => child.kill('SIGKILL')), 15_000);
    await Promise.all(exited);
    clearTimeout(bound);
    this.clock?.stop();
    await this.db?.end().catch(() => undefined);
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(
        cursor,
        'MATCH',
        `${this.options.redisPrefix}:*`,
        'COUNT',
        1000,
      );
      cursor = next;
      if (keys.length > 0) await this.redis.unlink(...keys);
    } while (cursor !== '0');
    this.redis.disconnect();
    await this.admin((client) =>
      client.query(`DROP DATABASE IF EXISTS ${this.options.database} WITH (FORCE)`),
    );
    running.delete(this);
  }
}
