/**
 * `npm run bench:e2e`: the judge of issue 14. The built API (`dist/main.api.js`) and worker
 * processes (`dist/main.worker.js`) on a scratch database and Redis prefix of the same
 * PostgreSQL and Redis, with the shipped durability (fsync and synchronous_commit on); orders
 * over HTTP from an open-loop load generator in a process of its own (bench/load-generator.ts).
 * Each run measures, and one table prints beside the targets, with the median of the runs:
 *
 * - pgbench TPC-B on the same PostgreSQL (its own scratch database) at a few client counts;
 * - the sustained rate: the highest open-loop rate at which, for a whole step, the oldest
 *   accepted order still unmatched stays under 1 s, the backlog drains within 5 s after the step,
 *   and the API answers 99% of orders within 1 s with at most 0.5% errors, searched in x1.4 steps
 *   and then refined by bisecting between the last sustained and the first failed step; and its
 *   ratio to the best TPC-B TPS;
 * - CPU per order in that step (from its start until the backlog drained) of the API, the
 *   worker(s), the PostgreSQL backends serving the exchange's database, the load generator and
 *   the Redis server (`INFO cpu`, the whole server);
 * - accept latency (due time to 201) and order-to-lease latency (the bid's `created_at` to its
 *   first lease's) at half the sustained rate;
 * - the commit floor: a one-row INSERT, its own transaction, open loop at that same rate over as
 *   many connections as the API's pool, alone on the same database; and a one-row commit every
 *   50 ms while the latency step runs. A run whose floor p99 exceeds 50 ms (the disk stalled)
 *   says so and is repeated (at most twice in all).
 *
 * Beside the latency step it prints where its accept latency went (bench/accept-breakdown.ts) and
 * which of the exchange's transactions waited on which one's locks (bench/lock-waits.ts).
 *
 * Flags: --runs N (3), --quick (1 short run: a smoke test, not a figure to publish),
 * --workers 1,2,4 (the runs use the first count; then the sustained rate once per other count).
 * Settings (environment): BENCH_STEP_SECONDS (15; quick 6), BENCH_LATENCY_SECONDS (20; quick 6),
 * BENCH_START_RATE (orders/s, 40), BENCH_RATE_FACTOR (1.4), BENCH_MAX_STEPS (14),
 * BENCH_BISECT_STEPS (steps between the last sustained and first failed rates, 2; quick 1),
 * BENCH_TENANTS (provider + buyer pairs, 50), BENCH_CONNECTIONS (256),
 * BENCH_MATCHING_MODE (CONTINUOUS; CALL: every market clears once per BENCH_CALL_WINDOW_MS, 1,000),
 * BENCH_PIPELINING (1), BENCH_WARMUP_SECONDS (5), BENCH_ONLY_RATE (orders/s: skip pgbench and the
 * search, measure latencies and the floor at this rate alone), BENCH_CPU_PROF (a directory: run
 * the API and the workers under `node --cpu-prof`), BENCH_DATABASE_SERVER, BENCH_REDIS_URL, BENCH_PORT,
 * BENCH_VACUUM (0: no VACUUM (ANALYZE) before each step when the server runs without autovacuum),
 * BENCH_STATEMENTS (N: rank the exchange database's top N statements per step by time per order;
 * needs `pg_stat_statements` loaded on the server, which this resets at each step's start),
 * BENCH_ROWS (1: print the rows each step wrote per order, by table, and the cluster's WAL per
 * order; adds about 22 s per step, waiting for the backends' statistics to be flushed; where
 * `pg_waldump` can read the server's WAL directory (the same machine, run as its owner or root),
 * also the step's WAL by relation: each table and index of the exchange's database).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Client, Pool } from 'pg';
import { API_POOL_CONNECTIONS } from '@/infra/prisma/database-pool';
import { nextClearingAt } from '@/modules/matching/domain/call-window';
import {
  admin,
  cpuOf,
  cpuSpent,
  ensureBuild,
  Exchange,
  MARKETS,
  out,
  redisCpuMs,
  SERVER,
  waitFor,
  type Tenant,
} from './exchange';
import { acceptBreakdown, parseMetrics, type Scrape } from './accept-breakdown';
import { LoadGenerator, type StepAnswer } from './load-generator';
import { LockWaits } from './lock-waits';

// ---- settings ----

function flag(name: string): string | undefined {
  const args = process.argv.slice(2);
  const at = args.indexOf(name);
  if (at === -1) return undefined;
  const value = args[at + 1];
  return value === undefined || value.startsWith('--') ? '' : value;
}
const known = new Set(['--quick', '--runs', '--workers']);
for (const arg of process.argv.slice(2))
  if (arg.startsWith('--') && !known.has(arg))
    throw new Error(`unknown flag ${arg} (--quick, --runs N, --workers 1,2,4)`);

const QUICK = flag('--quick') !== undefined;
const env = (name: string, full: number, quick = full): number =>
  process.env[name] !== undefined ? Number(process.env[name]) : QUICK ? quick : full;
const RUNS = Number(flag('--runs') || (QUICK ? 1 : 3));
const WORKER_COUNTS = (flag('--workers') || process.env.BENCH_WORKERS || '1').split(',').map(Number);
const WORKERS = WORKER_COUNTS[0]!;
const STEP_SECONDS = env('BENCH_STEP_SECONDS', 15, 6);
const LATENCY_SECONDS = env('BENCH_LATENCY_SECONDS', 20, 6);
const FLOOR_SECONDS = QUICK ? 5 : 10;
const START_RATE = env('BENCH_START_RATE', 40);
const RATE_FACTOR = env('BENCH_RATE_FACTOR', 1.4);
// 40 x 1.4^13 is about 3,200 orders/s: a ladder that never fails says so (a lower bound, not a figure).
const MAX_STEPS = env('BENCH_MAX_STEPS', 14);
/** Steps of bisection between the ladder's last sustained and first failed rates (x1.4 -> x1.09 at 2). */
const BISECT_STEPS = env('BENCH_BISECT_STEPS', 2, 1);
/** The search never goes below this rate, orders/s. */
const MIN_RATE = 2;
const TENANT_PAIRS = env('BENCH_TENANTS', 50);
// Open loop needs connections to spare: one request at a time per connection caps the offered
// load at connections / latency (Little's law), and 64 capped it at about 1,150 orders/s once a
// group commit's accept took 50-60 ms, the sustained figure of every run until then.
const CONNECTIONS = env('BENCH_CONNECTIONS', 256);
// Node's HTTP server answers a connection's pipelined requests one at a time, so pipelining would
// add head-of-line waits to the accept latency: one request per connection unless asked.
const PIPELINING = env('BENCH_PIPELINING', 1);
const WARMUP_SECONDS = env('BENCH_WARMUP_SECONDS', 5, 3);
const ONLY_RATE = process.env.BENCH_ONLY_RATE ? Number(process.env.BENCH_ONLY_RATE) : undefined;
/**
 * The markets' matching mode for the run (docs/MATCHING.md "Call markets"): CONTINUOUS unless
 * BENCH_MATCHING_MODE=CALL, whose clearings run every BENCH_CALL_WINDOW_MS (1,000). In CALL mode an
 * order may rest a window before its clearing, so the criterion's oldest-unmatched bound and the
 * order-to-lease target are a window longer (issue 13: the window + 250 ms).
 */
const MATCHING_MODE: 'CONTINUOUS' | 'CALL' =
  process.env.BENCH_MATCHING_MODE === 'CALL' ? 'CALL' : 'CONTINUOUS';
const CALL_WINDOW_MS = env('BENCH_CALL_WINDOW_MS', 1_000);
/**
 * BENCH_CALL_PHASE_MS: every market's phase in its window, the same for all (by hand, as an
 * operator may), for comparing with the spread phases the database gives (docs/MATCHING.md "When
 * a clearing runs"); unset keeps the database's.
 */
const CALL_PHASE_MS = process.env.BENCH_CALL_PHASE_MS ? Number(process.env.BENCH_CALL_PHASE_MS) : undefined;
const WINDOW_ALLOWANCE_MS = MATCHING_MODE === 'CALL' ? CALL_WINDOW_MS : 0;
const CPU_PROF = process.env.BENCH_CPU_PROF;
/**
 * Whether each step starts with `VACUUM (ANALYZE)` of the exchange's database. Only when the
 * server runs with autovacuum off (this machine's image); the PostgreSQL we ship keeps it on.
 */
const VACUUM_WANTED = process.env.BENCH_VACUUM !== '0';
let vacuumEachStep = false;
const STATEMENTS = process.env.BENCH_STATEMENTS ? Number(process.env.BENCH_STATEMENTS) : 0;
const ROWS = process.env.BENCH_ROWS === '1';
const PGBENCH_CLIENTS = QUICK ? [8] : [4, 8, 16];
const PGBENCH_SECONDS = QUICK ? 5 : 8;
const SUFFIX = randomBytes(3).toString('hex');
const DATABASE = `compute_exchange_bench_e2e_${SUFFIX}`;
const PGBENCH_DATABASE = `compute_exchange_bench_pgbench_${SUFFIX}`;
const PORT = Number(process.env.BENCH_PORT ?? 3_987);
const MAX_IN_FLIGHT = 2_000;
const TIMELINE_BUCKET_MS = 5_000;
/** A commit floor p99 above this means the disk stalled: the run says so and is repeated. */
const FLOOR_STALL_MS = 50;
const MAX_REPEATS = 2;
/** An organisation may have 1,000 live orders, and a FILLED offer stays live for its 1 h lease. */
const OFFERS_PER_PROVIDER = 800;

if (
  RUNS < 1 ||
  WORKER_COUNTS.some((n) => !Number.isInteger(n) || n < 1) ||
  [STEP_SECONDS, LATENCY_SECONDS, START_RATE, TENANT_PAIRS].some((n) => !(n > 0))
)
  throw new Error('--runs, --workers and the BENCH_ settings must be positive numbers');

// ---- small helpers ----

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function median(values: readonly number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const fixed = (n: number, digits = 1): string => (Number.isNaN(n) ? '-' : n.toFixed(digits));
const load = (): string =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

/** Pids of every process named `postgres` (the server and all its backends, anyone's). */
function allPostgresPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

// ---- pgbench ----

let pgbenchChild: ChildProcess | undefined;

function pgbench(args: string[]): Promise<string> {
  const url = new URL(SERVER);
  const connection = ['-h', url.hostname, '-p', url.port || '5432', '-U', url.username || 'postgres'];
  return new Promise((resolve, reject) => {
    const child = spawn('pgbench', [...connection, ...args, PGBENCH_DATABASE], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    pgbenchChild = child;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      pgbenchChild = undefined;
      if (code === 0) resolve(stdout);
      else reject(new Error(`pgbench ${args.join(' ')} failed (${code}): ${stderr}`));
    });
  });
}

async function pgbenchInit(): Promise<void> {
  await admin(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${PGBENCH_DATABASE} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${PGBENCH_DATABASE}`);
  });
  await pgbench(['-i', '-q', '-s', '10']);
}

/** TPC-B-like TPS (without connection time) at each client count. */
async function pgbenchTps(): Promise<Map<number, number>> {
  const tps = new Map<number, number>();
  for (const clients of PGBENCH_CLIENTS) {
    const run = await pgbench(['-c', String(clients), '-j', '2', '-T', String(PGBENCH_SECONDS)]);
    const match = /tps = ([\d.]+) \(without initial connection time\)/.exec(run);
    if (match === null) throw new Error(`no TPS in pgbench output: ${run}`);
    tps.set(clients, Number(match[1]));
  }
  return tps;
}

// ---- the exchange under load ----

interface CpuSplit {
  api: number;
  worker: number;
  postgres: number;
  load: number;
  /**
   * The Redis server (`INFO cpu`: its user + system time, every thread): BullMQ's scripts, the
   * rate limit, the idempotency locks. The whole server, since Redis cannot split it by prefix; on
   * a quiet machine the exchange's prefix is its only load.
   */
  redis: number;
  /** Every postgres process on the machine: other databases' work and the background writers too. */
  postgresAll: number;
}

interface StepResult {
  rate: number;
  sent: number;
  accepted: number;
  errors: number;
  refusals: Record<string, number>;
  samples: string[];
  stoppedEarly: boolean;
  maxOldestUnmatchedMs: number;
  drainedMs: number | null;
  acceptMs: number[];
  /** [ms since the step began, accept ms] per accepted order. */
  accepts: [number, number][];
  startedAt: Date;
  endedAt: Date;
  /** [ms since the step began, ms] per durable commit of the CommitProbe, when one ran. */
  commits: [number, number][];
  /** CPU ms per accepted order, from the step's start until its backlog drained. */
  cpu: CpuSplit;
  /** How long that CPU was measured over, ms: the share of the machine it kept busy. */
  cpuWindowMs: number;
  /** Where the accept latency went (bench/accept-breakdown.ts), when asked for. */
  breakdown?: string[];
}

/** A search's outcome: the refined rate's step, the ladder's last sustained step, its first failed rate. */
interface Search {
  best: StepResult | undefined;
  coarse: StepResult | undefined;
  failedRate: number | undefined;
}

/** Everything a step needs: the exchange, its tenants, the load generator, the monitors. */
class Bench {
  providers: Tenant[] = [];
  /** The lowest rate the last search tried, orders/s. */
  lowestTried = START_RATE;
  buyers: Tenant[] = [];
  private offersPerProvider = 0;
  /** Index of the next order in the stream; always even, so offers and bids stay paired. */
  private offset = 0;
  private readonly owners = new Map<string, Tenant>();
  /** Backends of the bench's own monitoring connections: not the exchange's CPU. */
  private readonly ownPids: number[] = [];

  constructor(
    readonly exchange: Exchange,
    readonly loadGenerator: LoadGenerator,
    readonly probeDb: Client,
    /** The lock-wait sampler's own connection: a sample must not queue behind a probe's commit. */
    readonly locksDb: Client,
  ) {}

  async init(): Promise<void> {
    for (const client of [this.exchange.db, this.probeDb, this.locksDb]) {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      this.ownPids.push(rows[0]!.pid);
    }
    await this.freshTenants();
  }

  /** New providers and buyers for what follows (the live-order cap would refuse the old ones). */
  async freshTenants(): Promise<void> {
    const made = await this.exchange.tenants(TENANT_PAIRS, 4);
    for (const tenant of [...made.providers, ...made.buyers]) this.owners.set(tenant.organisationId, tenant);
    this.providers = made.providers;
    this.buyers = made.buyers;
    this.offersPerProvider = 0;
    this.loadGenerator.configure({
      origin: this.exchange.url(''),
      connections: CONNECTIONS,
      pipelining: PIPELINING,
      providers: this.providers,
      buyers: this.buyers,
    });
  }

  /**
   * The exchange's database connections opened during the step and still open at its end: a
   * fresh backend plans its statements and compiles its functions anew, so its first batches are
   * slow (docs/BENCHMARKS.md "Idle database connections").
   */
  private async reportNewConnections(since: Date): Promise<void> {
    const { rows } = await this.probeDb.query<{ opened: number; open: number }>(
      `SELECT count(*) FILTER (WHERE backend_start >= $3)::int AS opened, count(*)::int AS open
         FROM pg_stat_activity WHERE datname = $1 AND NOT (pid = ANY($2))`,
      [DATABASE, this.ownPids, since],
    );
    const { opened, open } = rows[0]!;
    out(
      `    database connections of the exchange opened during the step: ${opened} of ${open} open at its end`,
    );
  }

  private async cpuNow(): Promise<Record<keyof CpuSplit, Map<number, number>>> {
    const { rows } = await this.probeDb.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND NOT (pid = ANY($2))',
      [DATABASE, this.ownPids],
    );
    return {
      api: cpuOf([this.exchange.api!.pid!]),
      worker: cpuOf(this.exchange.workers.map((w) => w.pid!)),
      postgres: cpuOf(rows.map((r) => r.pid)),
      load: new Map(),
      redis: new Map([[0, await redisCpuMs(this.exchange.redis)]]),
      postgresAll: cpuOf(allPostgresPids()),
    };
  }

  /**
   * Open loop at `rate` orders/s for `seconds`: an offer of 4 GPUs and then a bid of 4 GPUs that
   * crosses it, spread over the tenants and the markets. With `stopWhenLost` the step ends as
   * soon as it can no longer be sustained.
   */
  async step(
    rate: number,
    seconds: number,
    options: { stopWhenLost: boolean; probe: boolean; breakdown?: boolean },
  ): Promise<StepResult> {
    const { db } = this.exchange;
    const total = 2 * Math.round((rate * seconds) / 2);
    if (this.offersPerProvider + total / 2 / this.providers.length > OFFERS_PER_PROVIDER)
      await this.freshTenants();
    if (vacuumEachStep) await vacuumExchange(db);
    // Before the step's clock starts: it waits for the backends' statistics.
    const rowsBefore = ROWS ? await rowWrites(db) : undefined;
    const startedAt = new Date();
    const begin = performance.now();
    const probe = options.probe ? new CommitProbe(this.probeDb, begin) : undefined;
    await probe?.start();
    if (STATEMENTS > 0) await this.probeDb.query('SELECT pg_stat_statements_reset()');
    const metricsBefore = options.breakdown ? await this.scrape() : undefined;
    const lockWaits = options.breakdown ? new LockWaits(this.locksDb, DATABASE) : undefined;
    lockWaits?.start();
    const before = await this.cpuNow();
    let maxOldest = 0;
    let aborted = false;
    const sampler = setInterval(() => {
      oldestUnmatchedMs(db, startedAt)
        .then((ms) => {
          maxOldest = Math.max(maxOldest, ms);
          if (options.stopWhenLost && ms >= 1_000 && !aborted) {
            aborted = true;
            this.loadGenerator.abort();
          }
        })
        .catch(() => undefined);
    }, 250);
    let answer: StepAnswer;
    try {
      answer = await this.loadGenerator.step({
        rate,
        seconds,
        offset: this.offset,
        maxInFlight: MAX_IN_FLIGHT,
        stopWhenLost: options.stopWhenLost,
      });
    } finally {
      clearInterval(sampler);
      await lockWaits?.stop();
    }
    this.offset += answer.sent + (answer.sent % 2);
    this.offersPerProvider += answer.sent / 2 / this.providers.length;
    const endedAt = new Date();
    const metricsAfter = metricsBefore ? await this.scrape() : undefined;
    if (options.breakdown) await this.reportNewConnections(startedAt);
    for (const line of lockWaits?.report() ?? []) out(`    ${line}`);
    await probe?.stop();
    maxOldest = Math.max(maxOldest, await oldestUnmatchedMs(db, startedAt));
    const drainStart = performance.now();
    let drainedMs: number | null = null;
    while (performance.now() - drainStart < 5_000) {
      if ((await oldestUnmatchedMs(db, startedAt)) === 0) {
        drainedMs = performance.now() - drainStart;
        break;
      }
      await sleep(100);
    }
    const after = await this.cpuNow();
    const cpuWindowMs = performance.now() - begin;
    if (STATEMENTS > 0) await statementRanking(this.probeDb, answer.accepted);
    if (rowsBefore) {
      const rowsAfter = await rowWrites(db);
      rowWritesReport(rowsBefore, rowsAfter, answer.accepted);
      await walByRelation(db, rowsBefore.lsn, rowsAfter.lsn, answer.accepted);
    }
    const per = (key: keyof CpuSplit): number =>
      cpuSpent(before[key], after[key]) / Math.max(1, answer.accepted);
    const accepts: [number, number][] = [];
    for (let i = 0; i < answer.accepts.length; i += 2)
      accepts.push([answer.accepts[i]!, answer.accepts[i + 1]!]);
    return {
      rate,
      sent: answer.sent,
      accepted: answer.accepted,
      errors: answer.errors,
      refusals: answer.refusals,
      samples: answer.samples,
      stoppedEarly: answer.stoppedEarly,
      maxOldestUnmatchedMs: maxOldest,
      drainedMs,
      acceptMs: accepts.map(([, ms]) => ms).sort((a, b) => a - b),
      accepts,
      startedAt,
      endedAt,
      commits: probe?.samples ?? [],
      breakdown:
        metricsBefore && metricsAfter
          ? acceptBreakdown({
              before: metricsBefore,
              after: metricsAfter,
              acceptMs: accepts.map(([, ms]) => ms),
              sendLagMs: answer.sendLags,
              seconds: (endedAt.getTime() - startedAt.getTime()) / 1000,
            })
          : undefined,
      cpu: {
        api: per('api'),
        worker: per('worker'),
        postgres: per('postgres'),
        load: answer.cpuMs / Math.max(1, answer.accepted),
        redis: per('redis'),
        postgresAll: per('postgresAll'),
      },
      cpuWindowMs,
    };
  }

  /** The API's `/metrics` (its histograms: the accept breakdown). */
  private async scrape(): Promise<Scrape> {
    const res = await fetch(this.exchange.url('/metrics'));
    if (res.status !== 200) throw new Error(`GET /metrics: ${res.status}`);
    return parseMetrics(await res.text());
  }

  /**
   * After a step that was not sustained: waits until matching is idle, then cancels, through the
   * API as their owners, the orders left resting (their partner was refused or never sent). Left
   * alone, a resting bid takes a later step's offer and leaves that offer's own bid unmatched,
   * which reads as that step's backlog.
   */
  async settle(): Promise<void> {
    const { db } = this.exchange;
    const leftover = await waitForIdle(db, 180_000);
    if (leftover === 0) return;
    const { rows } = await db.query<{ kind: 'bids' | 'offers'; id: string; organisation_id: string }>(
      `SELECT 'bids' AS kind, id, organisation_id FROM bids WHERE status IN ('OPEN', 'PARTIALLY_FILLED')
       UNION ALL
       SELECT 'offers', id, organisation_id FROM offers WHERE status IN ('OPEN', 'PARTIALLY_FILLED')`,
    );
    for (const row of rows) {
      const owner = this.owners.get(row.organisation_id);
      if (owner === undefined)
        throw new Error(`resting ${row.kind} ${row.id} of an organisation the bench did not make`);
      const res = await this.exchange.post(`/v1/${row.kind}/${row.id}/cancel`, {}, owner);
      if (res.status !== 200)
        throw new Error(`cancelling ${row.kind} ${row.id}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    await waitForIdle(db, 60_000);
    out(`  ${leftover} orders rested whose partner was refused or not sent; cancelled ${rows.length}`);
  }

  /**
   * The highest sustained rate: steps from `from` orders/s, x RATE_FACTOR each, until one is not
   * sustained, then BISECT_STEPS steps between the last sustained and that failed rate. When the
   * first step already fails, tries lower rates (at most three times, down to MIN_RATE).
   */
  async sustainedRate(from: number, label: string): Promise<Search> {
    let best: StepResult | undefined;
    let failed: StepResult | undefined;
    let rate = from;
    let lowered = 0;
    this.lowestTried = rate;
    for (let i = 0; i < MAX_STEPS; i += 1) {
      const result = await this.tryRate(rate, `${label} step ${i + 1}`);
      if (sustained(result)) {
        best = result;
        rate = Math.round(rate * RATE_FACTOR);
        continue;
      }
      failed = result;
      if (best !== undefined || lowered >= 3 || rate <= MIN_RATE) break;
      lowered += 1;
      rate = Math.max(MIN_RATE, Math.round(rate / RATE_FACTOR ** 2));
      this.lowestTried = rate;
    }
    const coarse = best;
    // The ladder's figure can understate by up to RATE_FACTOR: bisect (geometrically) between the
    // last sustained and the first failed rate, same criterion and step length.
    if (best !== undefined && failed !== undefined && failed.rate > best.rate) {
      let [low, high] = [best.rate, failed.rate];
      for (let i = 0; i < BISECT_STEPS; i += 1) {
        const mid = Math.round(Math.sqrt(low * high));
        if (mid <= low || mid >= high) break;
        const result = await this.tryRate(mid, `${label} bisect ${i + 1} (${low}-${high})`);
        if (sustained(result)) [best, low] = [result, mid];
        else high = mid;
      }
      out(
        `  ${label}: sustained ${best.rate} orders/s (ladder ${coarse!.rate}, first failed ${failed.rate}, ` +
          `last failed ${high}: within x${fixed(high / best.rate, 2)})`,
      );
    }
    if (best !== undefined && failed === undefined) {
      out(
        `  ${label}: no step failed in ${MAX_STEPS} (BENCH_MAX_STEPS): ${best.rate} orders/s is a lower bound`,
      );
    }
    return { best, coarse, failedRate: failed?.rate };
  }

  /** One step of the search at `rate`, printed; a failed step's leftovers are cancelled. */
  private async tryRate(rate: number, label: string): Promise<StepResult> {
    const result = await this.step(rate, STEP_SECONDS, { stopWhenLost: true, probe: true });
    out(`  ${label}: ${describe(result)}`);
    if (sustained(result)) {
      // Let the step's tail settle before the next one.
      await sleep(2_000);
    } else {
      for (const sample of result.samples) out(`    refused: ${sample}`);
      await this.settle();
    }
    return result;
  }
}

/**
 * What the shipped PostgreSQL's autovacuum does, done between steps on a server that runs without
 * it: with autovacuum off, the hot rows (market_matching, ledger_accounts, outbox_events) build
 * dead-tuple chains and nothing analyses the scratch tables, which made PostgreSQL's CPU per order
 * 1.0-1.8 ms higher in A/B runs (docs/BENCHMARKS.md). Outside the measured window, as autovacuum's
 * own workers are outside the backends the bench counts.
 */
async function vacuumExchange(db: Client): Promise<void> {
  const started = performance.now();
  await db.query('VACUUM (ANALYZE)');
  vacuumMs.push(performance.now() - started);
}
const vacuumMs: number[] = [];

/**
 * The exchange database's statements since the step began (`pg_stat_statements`, reset at its
 * start), by execution plus planning time per accepted order. `track = all` lists the trigger
 * statements too, and their time is also inside the statement that fired them (`top` = no). The
 * bench's own monitoring queries are in the list, named by their text.
 */
async function statementRanking(db: Client, accepted: number): Promise<void> {
  const { rows } = await db.query<{
    toplevel: boolean;
    calls: string;
    exec: number;
    plan: number;
    plans: string;
    query: string;
  }>(
    `SELECT s.toplevel, s.calls, s.total_exec_time AS exec, s.total_plan_time AS plan, s.plans,
            regexp_replace(s.query, '\\s+', ' ', 'g') AS query
       FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
      WHERE d.datname = $1
      ORDER BY s.total_exec_time + s.total_plan_time DESC LIMIT $2`,
    [DATABASE, STATEMENTS],
  );
  const n = Math.max(1, accepted);
  out(`    statements by time per order (${accepted} orders; ms = exec + plan; top = issued by a client)`);
  out('    ms/order   exec   plan calls/order plans/order top query');
  for (const r of rows)
    out(
      `    ${fixed((r.exec + r.plan) / n, 3).padStart(8)} ${fixed(r.exec / n, 3).padStart(6)} ${fixed(r.plan / n, 3).padStart(6)} ` +
        `${fixed(Number(r.calls) / n, 2).padStart(11)} ${fixed(Number(r.plans) / n, 2).padStart(11)} ${r.toplevel ? 'yes' : 'no '} ` +
        r.query.slice(0, 160),
    );
}

interface RowWrites {
  /** Per table: inserted, updated (of which HOT), deleted. */
  tables: Map<string, [number, number, number, number]>;
  /** The whole cluster's WAL: records, full-page images, bytes. */
  wal: [number, number, number];
  /** The WAL's insert position when read. */
  lsn: string;
}

/**
 * The exchange database's row writes by table (`pg_stat_user_tables`) and the cluster's WAL
 * (`pg_stat_wal`). A backend flushes its counts when it goes idle, at most once a second, and an
 * idle one within 10 s (PostgreSQL 15's `PGSTAT_IDLE_INTERVAL`): so this first waits 11 s, and the
 * counts then include every write committed before the call.
 */
async function rowWrites(db: Client): Promise<RowWrites> {
  await sleep(11_000);
  const { rows } = await db.query<{ relname: string; ins: string; upd: string; hot: string; del: string }>(
    `SELECT relname, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot, n_tup_del AS del
       FROM pg_stat_user_tables`,
  );
  const [wal] = (
    await db.query<{ records: string; fpi: string; bytes: string; lsn: string }>(
      `SELECT wal_records AS records, wal_fpi AS fpi, wal_bytes AS bytes, pg_current_wal_lsn()::text AS lsn
         FROM pg_stat_wal`,
    )
  ).rows;
  return {
    tables: new Map(
      rows.map((r) => [r.relname, [Number(r.ins), Number(r.upd), Number(r.hot), Number(r.del)]]),
    ),
    wal: [Number(wal?.records ?? 0), Number(wal?.fpi ?? 0), Number(wal?.bytes ?? 0)],
    lsn: wal?.lsn ?? '0/0',
  };
}

/**
 * The WAL between two positions by relation of the exchange's database (its tables and indexes
 * by name), from `pg_waldump`: records and bytes (full-page images included) per accepted order,
 * a record counted for the first block it names. Records that name no block (commits) are listed
 * by resource manager, and other databases' as one line. Prints why when `pg_waldump` cannot run.
 */
async function walByRelation(db: Client, from: string, to: string, accepted: number): Promise<void> {
  const { rows: settings } = await db.query<{ dir: string; major: string; oid: string }>(
    `SELECT current_setting('data_directory') AS dir, current_setting('server_version_num')::int / 10000 AS major,
            (SELECT oid FROM pg_database WHERE datname = current_database())::text AS oid`,
  );
  const { dir, major, oid } = settings[0]!;
  const { rows: relations } = await db.query<{ filenode: string; name: string; kind: string }>(
    `SELECT pg_relation_filenode(c.oid)::text AS filenode, c.relname AS name, c.relkind::text AS kind
       FROM pg_class c WHERE pg_relation_filenode(c.oid) IS NOT NULL`,
  );
  const names = new Map(relations.map((r) => [r.filenode, r.kind === 'i' ? `  ${r.name}` : r.name]));
  // Debian's layout keeps it off the PATH; elsewhere, the PATH's.
  const debian = `/usr/lib/postgresql/${major}/bin/pg_waldump`;
  const tool = existsSync(debian) ? debian : 'pg_waldump';
  const byName = new Map<string, { records: number; bytes: number }>();
  const failure = await new Promise<string | null>((resolve) => {
    const child = spawn(tool, ['-p', `${dir}/pg_wal`, '-s', from, '-e', to], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let rest = '';
    const line = (text: string): void => {
      const total = /len \(rec\/tot\):\s*\d+\/\s*(\d+)/.exec(text);
      if (total === null) return;
      const rel = /blkref #0: rel \d+\/(\d+)\/(\d+)/.exec(text);
      const name =
        rel === null
          ? `(no block: ${/rmgr: (\S+)/.exec(text)?.[1] ?? '?'})`
          : rel[1] !== oid
            ? '(other databases)'
            : (names.get(rel[2]!) ?? `(relation ${rel[2]})`);
      const entry = byName.get(name) ?? { records: 0, bytes: 0 };
      entry.records += 1;
      entry.bytes += Number(total[1]);
      byName.set(name, entry);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      lines.forEach(line);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => resolve(error.message));
    child.on('close', (code) => {
      line(rest);
      // pg_waldump ends with an error at the WAL's current end when -e is the insert position.
      resolve(byName.size > 0 ? null : `exit ${code}: ${stderr.trim().split('\n')[0] ?? ''}`);
    });
  });
  if (failure !== null) {
    out(`    WAL by relation: ${tool} on ${dir}/pg_wal gave nothing (${failure})`);
    return;
  }
  const n = Math.max(1, accepted);
  out(`    WAL per order by relation (pg_waldump ${from} to ${to}; indexes indented)`);
  out('    records   bytes  relation');
  for (const [name, { records, bytes }] of [...byName].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 30))
    out(`    ${fixed(records / n, 2).padStart(7)} ${fixed(bytes / n, 0).padStart(7)}  ${name}`);
}

/** What a step wrote per accepted order, by table (most first), and the cluster's WAL per order. */
function rowWritesReport(before: RowWrites, after: RowWrites, accepted: number): void {
  const n = Math.max(1, accepted);
  const lines: Array<{ table: string; d: number[]; total: number }> = [];
  for (const [table, counts] of after.tables) {
    const was = before.tables.get(table) ?? [0, 0, 0, 0];
    const d = counts.map((c, i) => c - was[i]!);
    const total = d[0]! + d[1]! + d[3]!;
    if (total > 0) lines.push({ table, d, total });
  }
  lines.sort((a, b) => b.total - a.total);
  const sum = lines.reduce((s, l) => s + l.total, 0);
  out(`    rows written per order (${accepted} orders; pg_stat_user_tables, the exchange's database)`);
  out('    inserted  updated (HOT)  deleted  table');
  for (const { table, d } of lines)
    out(
      `    ${fixed(d[0]! / n, 2).padStart(8)} ${fixed(d[1]! / n, 2).padStart(8)} (${fixed(d[2]! / n, 2).padStart(4)}) ${fixed(d[3]! / n, 2).padStart(8)}  ${table}`,
    );
  const wal = after.wal.map((w, i) => (w - before.wal[i]!) / n);
  out(
    `    ${fixed(sum / n, 2)} rows per order in all; WAL per order (the whole cluster): ` +
      `${fixed(wal[0]!, 1)} records, ${fixed(wal[1]!, 2)} full-page images, ${fixed(wal[2]! / 1024, 1)} KiB`,
  );
}

/**
 * Age in ms of the oldest OPEN order (accepted, nothing matched yet) placed since `since`, 0 when
 * none. Orders of earlier steps are left out: one whose partner an overloaded step refused rests
 * for good and would read as a backlog of every later step.
 */
async function oldestUnmatchedMs(db: Client, since: Date): Promise<number> {
  const { rows } = await db.query<{ oldest: Date | null }>(
    `SELECT least((SELECT min(created_at) FROM bids WHERE status = 'OPEN' AND created_at >= $1),
                  (SELECT min(created_at) FROM offers WHERE status = 'OPEN' AND created_at >= $1)) AS oldest`,
    [since],
  );
  const oldest = rows[0]?.oldest ?? null;
  return oldest === null ? 0 : Math.max(0, Date.now() - oldest.getTime());
}

/** Waits until open orders and leases stay unchanged for 3 s; answers the open orders left. */
async function waitForIdle(db: Client, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let stableSince = Date.now();
  for (;;) {
    const { rows } = await db.query<{ open: string; leases: string }>(`
      SELECT (SELECT count(*) FROM bids WHERE status IN ('OPEN', 'PARTIALLY_FILLED'))
           + (SELECT count(*) FROM offers WHERE status IN ('OPEN', 'PARTIALLY_FILLED')) AS open,
             (SELECT count(*) FROM leases) AS leases`);
    const row = rows[0]!;
    const now = `${row.open}/${row.leases}`;
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= 3_000) {
      return Number(row.open);
    }
    if (Date.now() > deadline) throw new Error('timed out waiting for matching to go idle');
    await sleep(250);
  }
}

/** Per bid accepted in [from, to]: when it was accepted and ms from then to its first lease. */
async function orderToLease(
  db: Client,
  from: Date,
  to: Date,
): Promise<{ at: Date; ms: number; phaseMs: number }[]> {
  const { rows } = await db.query<{ at: Date; ms: number; phase_ms: number }>(
    `SELECT b.created_at AS at, EXTRACT(EPOCH FROM (min(l.created_at) - b.created_at)) * 1000 AS ms,
            m.call_phase_ms AS phase_ms
     FROM bids b JOIN leases l ON l.bid_id = b.id JOIN markets m ON m.id = b.market_id
     WHERE b.created_at BETWEEN $1 AND $2 GROUP BY b.id, m.call_phase_ms`,
    [from, to],
  );
  return rows.map((row) => ({ at: row.at, ms: Number(row.ms), phaseMs: row.phase_ms }));
}

/**
 * A one-row durable commit (its own transaction, so a WAL flush) every 50 ms on the same
 * PostgreSQL while a step runs: a disk stall during the step shows up here as well as in it.
 */
class CommitProbe {
  readonly samples: [number, number][] = [];
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly db: Client,
    private readonly begin: number,
  ) {}

  async start(): Promise<void> {
    await this.db.query(
      'CREATE TABLE IF NOT EXISTS bench_commit_probe (id bigserial PRIMARY KEY, at timestamptz NOT NULL)',
    );
    this.timer = setInterval(() => {
      // One at a time: a stalled flush delays the next sample instead of piling them up.
      if (this.busy) return;
      this.busy = true;
      const t0 = performance.now();
      this.db
        .query('INSERT INTO bench_commit_probe (at) VALUES (now())')
        .then(() => this.samples.push([t0 - this.begin, performance.now() - t0]))
        .catch(() => undefined)
        .finally(() => {
          this.busy = false;
        });
    }, 50);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await waitFor('the commit probe', async () => Promise.resolve(!this.busy), 60_000);
  }
}

/**
 * The commit floor: one-row INSERTs, each its own transaction, open loop at `rate`/s for
 * `seconds` over API_POOL_CONNECTIONS connections (the concurrency the API's own pool allows), on
 * the exchange's database while nothing else of the bench runs. Latency from the due time, as
 * for accepts. Answers the sorted latencies.
 */
async function commitFloor(rate: number, seconds: number): Promise<number[]> {
  const pool = new Pool({ connectionString: `${SERVER}/${DATABASE}`, max: API_POOL_CONNECTIONS });
  try {
    await pool.query(
      'CREATE TABLE IF NOT EXISTS bench_commit_floor (id bigserial PRIMARY KEY, at timestamptz NOT NULL)',
    );
    // Open every connection before the clock starts.
    await Promise.all(Array.from({ length: API_POOL_CONNECTIONS }, () => pool.query('SELECT 1')));
    const total = Math.round(rate * seconds);
    const samples: number[] = [];
    const pending: Promise<unknown>[] = [];
    const begin = performance.now();
    for (let i = 0; i < total; i += 1) {
      const due = (i * 1_000) / rate;
      const wait = due - (performance.now() - begin);
      if (wait > 0) await sleep(wait);
      pending.push(
        pool
          .query('INSERT INTO bench_commit_floor (at) VALUES (now())')
          .then(() => samples.push(performance.now() - begin - due)),
      );
    }
    await Promise.all(pending);
    return samples.sort((a, b) => a - b);
  } finally {
    await pool.end();
  }
}

// The API must keep up too: an order that waits seconds to be accepted is not sustained either.
const sustained = (r: StepResult): boolean =>
  !r.stoppedEarly &&
  r.maxOldestUnmatchedMs < 1_000 + WINDOW_ALLOWANCE_MS &&
  r.drainedMs !== null &&
  r.errors <= r.sent * 0.005 &&
  percentile(r.acceptMs, 99) < 1_000;

const commitsOf = (r: StepResult): number[] => r.commits.map(([, ms]) => ms).sort((a, b) => a - b);
const totalCpu = (c: CpuSplit): number => c.api + c.worker + c.postgres + c.load + c.redis;
/**
 * The share of the machine's cores the exchange, its PostgreSQL backends, Redis and the load
 * generator kept busy during the step, %: CPU per order x orders / the window. Near 100, a step's
 * latencies are queueing for a core whatever its rate (docs/BENCHMARKS.md "What limits it now").
 */
const busyPercent = (r: StepResult): number =>
  (100 * totalCpu(r.cpu) * r.accepted) / Math.max(1, r.cpuWindowMs) / availableParallelism();
/** The split as the step lines and the scaling table print it: API + worker + PostgreSQL + load + Redis. */
const cpuTerms = (c: CpuSplit): string =>
  [c.api, c.worker, c.postgres, c.load, c.redis].map((ms) => fixed(ms, 2)).join(' + ');

function describe(r: StepResult): string {
  return [
    `${r.rate.toFixed(0).padStart(5)} orders/s`,
    `accepted ${r.accepted}/${r.sent}${r.stoppedEarly ? ' (stopped early)' : ''}`,
    `errors ${r.errors}`,
    `oldest unmatched max ${r.maxOldestUnmatchedMs.toFixed(0)} ms`,
    `drained ${r.drainedMs === null ? 'no (> 5 s)' : `${r.drainedMs.toFixed(0)} ms`}`,
    `accept p50 ${fixed(percentile(r.acceptMs, 50))} p99 ${fixed(percentile(r.acceptMs, 99))} ms`,
    `commit p99 ${fixed(percentile(commitsOf(r), 99))} ms`,
    `CPU/order ${cpuTerms(r.cpu)} ms (${fixed(busyPercent(r), 0)}% of ${availableParallelism()} cores busy)`,
    sustained(r) ? 'SUSTAINED' : 'not sustained',
  ].join(' | ');
}

/** Accept and order-to-lease p50 / p99 / max per 5 s of the step: where the slow ones cluster. */
function timeline(r: StepResult, toLease: { at: Date; ms: number }[]): void {
  const buckets = Math.max(1, Math.ceil((r.endedAt.getTime() - r.startedAt.getTime()) / TIMELINE_BUCKET_MS));
  const bucketOf = (ms: number): number =>
    Math.min(buckets - 1, Math.max(0, Math.floor(ms / TIMELINE_BUCKET_MS)));
  const accept: number[][] = Array.from({ length: buckets }, () => []);
  const lease: number[][] = Array.from({ length: buckets }, () => []);
  const commit: number[][] = Array.from({ length: buckets }, () => []);
  for (const [at, ms] of r.accepts) accept[bucketOf(at)]!.push(ms);
  for (const [at, ms] of r.commits) commit[bucketOf(at)]!.push(ms);
  for (const { at, ms } of toLease) lease[bucketOf(at.getTime() - r.startedAt.getTime())]!.push(ms);
  const figures = (values: number[]): string => {
    const sorted = [...values].sort((a, b) => a - b);
    const f = (p: number): string => fixed(percentile(sorted, p), 0).padStart(5);
    return `${f(50)} ${f(99)} ${f(100)}`;
  };
  out('    from s | accept p50   p99   max | to lease p50   p99   max | commit p50   p99   max');
  for (let i = 0; i < buckets; i += 1) {
    const from = ((i * TIMELINE_BUCKET_MS) / 1000).toFixed(0).padStart(6);
    out(
      `    ${from} |      ${figures(accept[i]!)} |        ${figures(lease[i]!)} |      ${figures(commit[i]!)}`,
    );
  }
}

// ---- one run ----

interface RunResult {
  load: string;
  tps: Map<number, number>;
  bestTps: number;
  /** The refined (bisected) sustained step. */
  sustained: StepResult | undefined;
  /** The x RATE_FACTOR ladder's last sustained step, and the rate it first failed at. */
  coarse: StepResult | undefined;
  failedRate: number | undefined;
  latencyRate: number;
  latency: StepResult;
  toLeaseMs: number[];
  floorMs: number[];
  stalled: boolean;
}

async function oneRun(bench: Bench, label: string, from: number): Promise<RunResult> {
  const started = load();
  out(`${label}: load average ${started}`);
  let tps = new Map<number, number>();
  let best: StepResult | undefined;
  let search: Search | undefined;
  if (ONLY_RATE === undefined) {
    tps = await pgbenchTps();
    out(
      `  pgbench TPC-B-like, -s 10, ${PGBENCH_SECONDS} s each: ` +
        [...tps].map(([c, t]) => `${t.toFixed(0)} TPS at -c ${c}`).join(', '),
    );
    search = await bench.sustainedRate(from, label);
    best = search.best;
    // Nothing sustained (an overloaded machine): the latencies are still measured, at half the
    // lowest rate, so the table says what this machine did; the sustained figures read "-".
    if (best === undefined) out(`  ${label}: not even ${bench.lowestTried} orders/s was sustained`);
  }
  const half = ONLY_RATE ?? Math.max(1, Math.round((best?.rate ?? bench.lowestTried) / 2));
  const latency = await bench.step(half, LATENCY_SECONDS, {
    stopWhenLost: false,
    probe: true,
    breakdown: true,
  });
  const toLease = await orderToLease(bench.exchange.db, latency.startedAt, latency.endedAt);
  const toLeaseMs = toLease.map(({ ms }) => ms).sort((a, b) => a - b);
  out(`  ${label} at ${half}/s: ${describe(latency)}`);
  timeline(latency, toLease);
  if (MATCHING_MODE === 'CALL') {
    // How long after its clearing's instant (the next multiple of the window plus the market's
    // phase) a bid's lease was written: the clearing's own time (job start, read, solve, commit),
    // without the wait for it.
    const afterInstant = toLease
      // The first instant at or after its acceptance: the production rule, from a millisecond before.
      .map(
        ({ at, ms, phaseMs }) =>
          at.getTime() + ms - nextClearingAt(at.getTime() - 1, CALL_WINDOW_MS, phaseMs),
      )
      .sort((a, b) => a - b);
    out(
      `  ${label}: lease after its clearing's instant p50 ${fixed(percentile(afterInstant, 50))} ` +
        `p99 ${fixed(percentile(afterInstant, 99))} max ${fixed(afterInstant.at(-1) ?? 0)} ms ` +
        `(a bid placed after its window's read clears a window later)`,
    );
  }
  out(`  ${label}: where the accept latency went at ${half}/s (a shared machine: compare shares, not ms)`);
  for (const line of latency.breakdown ?? []) out(`    ${line}`);
  if (!sustained(latency)) await bench.settle();
  const floorMs = await commitFloor(half, FLOOR_SECONDS);
  const floorP99 = percentile(floorMs, 99);
  const probeP99 = percentile(commitsOf(latency), 99);
  out(
    `  commit floor at ${half}/s over ${API_POOL_CONNECTIONS} connections: p50 ${fixed(percentile(floorMs, 50))} ` +
      `p99 ${fixed(floorP99)} max ${fixed(percentile(floorMs, 100))} ms; during the latency step ` +
      `(1 per 50 ms) p99 ${fixed(probeP99)} max ${fixed(percentile(commitsOf(latency), 100))} ms`,
  );
  const stalled = floorP99 > FLOOR_STALL_MS || probeP99 > FLOOR_STALL_MS;
  if (stalled)
    out(
      `  WARNING: ${label}: commit floor p99 over ${FLOOR_STALL_MS} ms: the disk stalled; the run is repeated`,
    );
  out(`  ${label} ended: load average ${load()}`);
  return {
    load: started,
    tps,
    bestTps: Math.max(...tps.values()),
    sustained: best,
    coarse: search?.coarse,
    failedRate: search?.failedRate,
    latencyRate: half,
    latency,
    toLeaseMs,
    floorMs,
    stalled,
  };
}

// ---- the summary ----

/** The runs the medians are taken over: the clean ones, unless fewer than the runs asked for. */
function judgedRuns(runs: RunResult[]): RunResult[] {
  const clean = runs.filter((r) => !r.stalled);
  return clean.length >= Math.min(RUNS, runs.length) ? clean : runs;
}

function summary(runs: RunResult[], settings: string): void {
  const judged = judgedRuns(runs);
  type Of = (r: RunResult) => number;
  /** The target beside a median, and whether the median meets it. */
  type Target = (median: number, med: (of: Of) => number) => [string, string];
  const rows: { name: string; of: Of; target: Target; digits: number }[] = [];
  const row = (name: string, of: Of, target: Target = () => ['', ''], digits = 1): void =>
    void rows.push({ name, of, target, digits });
  // A median that could not be measured (nothing sustained) meets nothing, and says so.
  const yes = (ok: boolean, median = 0): string =>
    Number.isNaN(median) ? '- (not measured)' : ok ? 'yes' : '**no**';
  const sustainedCpu = (r: RunResult): CpuSplit | undefined => r.sustained?.cpu;
  const cpu =
    (key: keyof CpuSplit): Of =>
    (r) =>
      sustainedCpu(r)?.[key] ?? Number.NaN;
  if (ONLY_RATE === undefined) {
    row('pgbench TPC-B TPS (best of -c ' + PGBENCH_CLIENTS.join(', ') + ')', (r) => r.bestTps, undefined, 0);
    row(`sustained orders/s, x${RATE_FACTOR} ladder`, (r) => r.coarse?.rate ?? Number.NaN, undefined, 0);
    row(`first failed ladder step, orders/s`, (r) => r.failedRate ?? Number.NaN, undefined, 0);
    row(
      `sustained orders/s (refined, ${BISECT_STEPS} bisection step${BISECT_STEPS === 1 ? '' : 's'})`,
      (r) => r.sustained?.rate ?? Number.NaN,
      undefined,
      0,
    );
    row(
      'sustained / TPC-B TPS, %',
      (r) => (100 * (r.sustained?.rate ?? Number.NaN)) / r.bestTps,
      (m) => ['>= 40', yes(m >= 40, m)],
    );
    row('CPU/order API, ms (in the sustained step)', cpu('api'), () => ['~1.0 (guide)', ''], 2);
    row(`CPU/order worker${WORKERS > 1 ? 's' : ''}, ms`, cpu('worker'), () => ['~0.3 (guide)', ''], 2);
    row('CPU/order PostgreSQL backends, ms', cpu('postgres'), () => ['~1.0 (guide)', ''], 2);
    row('CPU/order load generator, ms', cpu('load'), () => ['~0.2 (guide)', ''], 2);
    row('CPU/order Redis server, ms', cpu('redis'), undefined, 2);
    row(
      'CPU/order total, ms',
      (r) => (r.sustained ? totalCpu(r.sustained.cpu) : Number.NaN),
      (m) => ['<= 2.5', yes(m <= 2.5, m)],
      2,
    );
    row(
      `cores busy in the sustained step, % of ${availableParallelism()}`,
      (r) => (r.sustained ? busyPercent(r.sustained) : Number.NaN),
      undefined,
      0,
    );
  }
  row('latency step rate, orders/s', (r) => r.latencyRate, undefined, 0);
  row('accept p50, ms', (r) => percentile(r.latency.acceptMs, 50));
  row('commit floor p50, ms (alone, same rate)', (r) => percentile(r.floorMs, 50));
  row(
    'commit floor p99, ms (alone, same rate)',
    (r) => percentile(r.floorMs, 99),
    (m) => [`<= ${FLOOR_STALL_MS} (else repeat)`, yes(m <= FLOOR_STALL_MS, m)],
  );
  row(
    'commit p99 during the latency step, ms',
    (r) => percentile(commitsOf(r.latency), 99),
    (m) => [`<= ${FLOOR_STALL_MS} (else repeat)`, yes(m <= FLOOR_STALL_MS, m)],
  );
  row(
    'accept p99, ms',
    (r) => percentile(r.latency.acceptMs, 99),
    (m, med) => {
      const floor = med((r) => percentile(r.floorMs, 99));
      return [`<= floor p99 + 25 = ${fixed(floor + 25)}`, yes(m <= floor + 25, m)];
    },
  );
  row('order-to-lease p50, ms', (r) => percentile(r.toLeaseMs, 50));
  row(
    'order-to-lease p99, ms',
    (r) => percentile(r.toLeaseMs, 99),
    (m) => {
      const target = 250 + WINDOW_ALLOWANCE_MS;
      return [
        MATCHING_MODE === 'CALL' ? `<= window + 250 = ${target} (call)` : '<= 250 (continuous)',
        yes(m <= target, m),
      ];
    },
  );
  row('CPU/order at the latency rate, total, ms', (r) => totalCpu(r.latency.cpu), undefined, 2);
  row(
    `cores busy at the latency rate, % of ${availableParallelism()}`,
    (r) => busyPercent(r.latency),
    undefined,
    0,
  );

  const med = (of: Of): number => median(judged.map(of));
  out('');
  out(`bench:e2e summary: ${settings}`);
  out(
    `runs judged: ${judged.map((r) => runs.indexOf(r) + 1).join(', ')} of ${runs.length}${judged.length < runs.length ? ' (stalled runs left out)' : ''}`,
  );
  out('');
  const header = [
    'figure',
    ...runs.map((r, i) => `run ${i + 1}${r.stalled ? ' (stalled)' : ''}`),
    'median',
    'target',
    'met',
  ];
  out(`| ${header.join(' | ')} |`);
  out(`|${header.map(() => ' --- ').join('|')}|`);
  for (const { name, of, target, digits } of rows) {
    const m = med(of);
    const [goal, met] = target(m, med);
    out(`| ${[name, ...runs.map((r) => fixed(of(r), digits)), fixed(m, digits), goal, met].join(' | ')} |`);
  }
  out(`| load average (1, 5, 15 min) at each run's start | ${runs.map((r) => r.load).join(' | ')} | | | |`);
  out('');
  out(
    vacuumEachStep
      ? `autovacuum off on this server: VACUUM (ANALYZE) before each of ${vacuumMs.length} steps, ` +
          `median ${fixed(median(vacuumMs), 0)} ms, max ${fixed(Math.max(...vacuumMs), 0)} ms (not in the figures)`
      : 'no VACUUM between steps (autovacuum on, or BENCH_VACUUM=0)',
  );
  out(
    'CPU/order of every postgres process on the machine in the sustained step (other databases and background writers too): ' +
      runs.map((r) => fixed(r.sustained?.cpu.postgresAll ?? Number.NaN, 2)).join(', ') +
      ' ms',
  );
}

// ---- main ----

let cleaning: Promise<void> | undefined;
const cleanups: (() => Promise<void>)[] = [];

/** Ends every process and removes every database and Redis key the bench made; runs once. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    pgbenchChild?.kill('SIGTERM');
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: unknown) => process.stderr.write(`clean-up: ${String(error)}\n`));
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench:e2e: ${signal}, cleaning up\n`);
    void cleanUp().finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  ensureBuild();
  const settings =
    `${QUICK ? 'QUICK (smoke run, not a figure to publish), ' : ''}${WORKERS} worker(s), ${RUNS} run(s), ` +
    `${STEP_SECONDS} s steps from ${START_RATE}/s x${RATE_FACTOR}, ${LATENCY_SECONDS} s latency step, ` +
    `${TENANT_PAIRS} providers + ${TENANT_PAIRS} buyers, ${MARKETS.length} markets, load generator ${CONNECTIONS} connections x ${PIPELINING} pipelined, Node ${process.version}`;
  out(`bench:e2e: ${settings}`);

  const durability = await admin(async (client) => {
    const { rows } = await client.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'autovacuum', 'server_version')`,
    );
    return new Map(rows.map((r) => [r.name, r.setting]));
  });
  out(
    `PostgreSQL ${durability.get('server_version')}: ${[...durability]
      .filter(([n]) => n !== 'server_version')
      .map(([n, s]) => `${n}=${s}`)
      .join(', ')}`,
  );
  if (durability.get('fsync') !== 'on' || durability.get('synchronous_commit') !== 'on')
    throw new Error('fsync and synchronous_commit must be on: the bench measures the shipped durability');
  vacuumEachStep = VACUUM_WANTED && durability.get('autovacuum') === 'off';
  if (vacuumEachStep)
    out(
      'autovacuum is off on this server (the shipped PostgreSQL keeps it on): each step starts with ' +
        'VACUUM (ANALYZE) of the exchange database, outside the measured window (BENCH_VACUUM=0: no vacuum)',
    );
  else if (durability.get('autovacuum') === 'off')
    out('WARNING: autovacuum is off and BENCH_VACUUM=0: PostgreSQL CPU per order reads higher than shipped');

  if (ONLY_RATE === undefined) {
    cleanups.push(() =>
      admin((client) => client.query(`DROP DATABASE IF EXISTS ${PGBENCH_DATABASE} WITH (FORCE)`)).then(
        () => undefined,
      ),
    );
    await pgbenchInit();
  }
  const exchange = new Exchange({
    database: DATABASE,
    port: PORT,
    workers: WORKERS,
    cpuProfileDir: CPU_PROF,
  });
  cleanups.push(() => exchange.stop());
  const loadGenerator = new LoadGenerator();
  cleanups.push(() => loadGenerator.close());
  const probeDb = new Client({ connectionString: `${SERVER}/${DATABASE}` });
  cleanups.push(() => probeDb.end().catch(() => undefined));
  const locksDb = new Client({ connectionString: `${SERVER}/${DATABASE}` });
  cleanups.push(() => locksDb.end().catch(() => undefined));

  out(
    `scratch database ${DATABASE}${ONLY_RATE === undefined ? ` and ${PGBENCH_DATABASE}` : ''}, Redis prefix ${exchange.prefix}`,
  );
  await exchange.start();
  if (MATCHING_MODE === 'CALL') {
    // Before any order: each run reads its market's mode and window (the admin endpoint,
    // PUT /v1/admin/markets/{slug}/matching, does the same with an audit record).
    await exchange.db.query(
      `UPDATE markets SET matching_mode = 'CALL', call_window_ms = $1 WHERE slug = ANY($2)`,
      [CALL_WINDOW_MS, MARKETS],
    );
    if (CALL_PHASE_MS !== undefined) {
      await exchange.db.query(`UPDATE markets SET call_phase_ms = $1 WHERE slug = ANY($2)`, [
        CALL_PHASE_MS,
        MARKETS,
      ]);
    }
    const { rows } = await exchange.db.query<{ slug: string; call_phase_ms: number }>(
      'SELECT slug, call_phase_ms FROM markets WHERE slug = ANY($1) ORDER BY call_phase_ms',
      [MARKETS],
    );
    out(`  clearing phases: ${rows.map((row) => `${row.slug} ${row.call_phase_ms} ms`).join(', ')}`);
  }
  out(
    `markets ${MARKETS.join(', ')} in ${MATCHING_MODE} mode${MATCHING_MODE === 'CALL' ? `, ${CALL_WINDOW_MS} ms windows` : ''}`,
  );
  // Own connection: the step's sampler queries on `exchange.db` would queue a commit behind them.
  await probeDb.connect();
  await locksDb.connect();
  const bench = new Bench(exchange, loadGenerator, probeDb, locksDb);
  const setup = performance.now();
  await bench.init();
  out(
    `${2 * TENANT_PAIRS} tenants registered and verified in ${((performance.now() - setup) / 1000).toFixed(0)} s`,
  );
  // Warm-up: JIT, connection pools, prepared query plans.
  await bench.step(ONLY_RATE ?? START_RATE, WARMUP_SECONDS, { stopWhenLost: false, probe: false });
  await bench.settle();

  const runs: RunResult[] = [];
  let attempts = 0;
  while (runs.filter((r) => !r.stalled).length < RUNS && attempts < RUNS + MAX_REPEATS) {
    attempts += 1;
    // Later runs start two steps below the best sustained rate so far: fewer steps, same criterion.
    const sofar = median(runs.map((r) => r.sustained?.rate ?? Number.NaN));
    // When nothing was sustained so far, start just above the floor of the search.
    const from =
      runs.length === 0
        ? START_RATE
        : Number.isNaN(sofar)
          ? Math.round(MIN_RATE * RATE_FACTOR)
          : Math.max(MIN_RATE, Math.round(sofar / RATE_FACTOR ** 2));
    const run = await oneRun(bench, `run ${attempts}`, from);
    runs.push(run);
  }
  summary(runs, settings);

  const others = WORKER_COUNTS.slice(1);
  if (others.length > 0 && ONLY_RATE === undefined) {
    const judgedRate = median(judgedRuns(runs).map((r) => r.sustained?.rate ?? Number.NaN));
    const scalingFrom = Number.isNaN(judgedRate)
      ? Math.round(MIN_RATE * RATE_FACTOR)
      : Math.max(MIN_RATE, Math.round(judgedRate / RATE_FACTOR ** 2));
    const tps = median(judgedRuns(runs).map((r) => r.bestTps));
    const scaling: [number, StepResult | undefined][] = [];
    for (const count of WORKER_COUNTS) {
      if (count === WORKERS) continue;
      await exchange.scaleWorkers(count);
      out(`scaling: ${count} worker processes, load average ${load()}`);
      // Fresh workers start cold (JIT, connection pools) as the first run's did: warm them the same way.
      await bench.step(scalingFrom, WARMUP_SECONDS, { stopWhenLost: false, probe: false });
      await bench.settle();
      scaling.push([count, (await bench.sustainedRate(scalingFrom, `${count} workers`)).best]);
    }
    out('');
    out(
      `Scaling over ${MARKETS.length} markets (one sustained-rate search per count; ${WORKERS} worker(s): the median above)`,
    );
    out('');
    out(
      '| worker processes | sustained orders/s | % of TPC-B TPS | CPU/order API + workers + PostgreSQL + load + Redis, ms |',
    );
    out('| --- | --- | --- | --- |');
    const medCpu = (key: keyof CpuSplit): number =>
      median(runs.map((r) => r.sustained?.cpu[key] ?? Number.NaN));
    const line = (count: string, rate: number, cpu: CpuSplit | undefined): void =>
      out(
        `| ${count} | ${fixed(rate, 0)} | ${fixed((100 * rate) / tps)} | ${
          cpu ? `${cpuTerms(cpu)} = ${fixed(totalCpu(cpu), 2)}` : '-'
        } |`,
      );
    line(`${WORKERS} (median)`, judgedRate, {
      api: medCpu('api'),
      worker: medCpu('worker'),
      postgres: medCpu('postgres'),
      load: medCpu('load'),
      redis: medCpu('redis'),
      postgresAll: medCpu('postgresAll'),
    });
    for (const [count, result] of scaling) line(String(count), result?.rate ?? Number.NaN, result?.cpu);
  }
}

const started = performance.now();
main()
  .catch((error: unknown) => {
    process.stderr.write(
      `bench:e2e failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanUp();
    out(`bench:e2e took ${((performance.now() - started) / 60_000).toFixed(1)} min; cleaned up`);
    // Nothing of ours is left running; do not wait on stray handles.
    process.exit();
  });
