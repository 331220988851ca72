/**
 * `npm run bench:e2e`: orders over HTTP to the built API and a worker process on this machine,
 * open loop, until matching no longer keeps up. Prints the sustained rate, the accept and
 * order-to-lease latencies at half of it, and pgbench's TPC-B figure on the same PostgreSQL in
 * the same run, with the ratios the issue asks for. Nothing here is asserted: it measures.
 * During every step a one-row durable commit every 50 ms on the same PostgreSQL measures the
 * floor under its latencies (the disk's flush time), printed beside them (per 5 s in the
 * latency step).
 *
 * Sustained rate: the highest open-loop rate at which, for a whole step, the oldest accepted
 * order still unmatched stays under 1 s, the backlog drains within 5 s after the step, and the
 * API answers 99% of orders within 1 s with at most 0.5% errors.
 *
 * Settings (environment): BENCH_STEP_SECONDS (60), BENCH_START_RATE (orders/s, 40),
 * BENCH_RATE_FACTOR (1.4), BENCH_MAX_STEPS (8), BENCH_DATABASE_SERVER, BENCH_REDIS_URL;
 * BENCH_WARMUP_SECONDS (5), BENCH_WORKERS (worker processes, 1), BENCH_ONLY_RATE (orders/s: skip pgbench and the steps,
 * measure latencies at this rate alone), BENCH_CPU_PROF (a directory: run the API and the workers
 * under `node --cpu-prof`, writing their profiles there).
 */
import { spawnSync } from 'node:child_process';
import { Client } from 'pg';
import { admin, cpuMs, ensureBuild, Exchange, order, out, SERVER, waitFor, type Tenant } from './exchange';

const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 60);
const START_RATE = Number(process.env.BENCH_START_RATE ?? 40);
const RATE_FACTOR = Number(process.env.BENCH_RATE_FACTOR ?? 1.4);
const MAX_STEPS = Number(process.env.BENCH_MAX_STEPS ?? 8);
const ONLY_RATE = process.env.BENCH_ONLY_RATE ? Number(process.env.BENCH_ONLY_RATE) : undefined;
const CPU_PROF = process.env.BENCH_CPU_PROF;
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
const DATABASE = 'compute_exchange_bench_e2e';
const PGBENCH_DATABASE = 'compute_exchange_bench_pgbench';
const PORT = 3_987;
const TENANTS = 8;
const MAX_IN_FLIGHT = 2_000;
const TIMELINE_BUCKET_MS = 5_000;

interface StepResult {
  rate: number;
  sent: number;
  accepted: number;
  errors: number;
  maxOldestUnmatchedMs: number;
  drainedMs: number | null;
  acceptMs: number[];
  /** [ms since the step began, accept ms] per accepted order, in send order. */
  accepts: [number, number][];
  startedAt: Date;
  endedAt: Date;
  /** [ms since the step began, ms] per durable commit of the CommitProbe, when one ran. */
  commits: [number, number][];
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function pgbench(): number {
  const url = new URL(SERVER);
  const args = ['-h', url.hostname, '-p', url.port || '5432', '-U', url.username || 'postgres'];
  const init = spawnSync('pgbench', [...args, '-i', '-q', '-s', '10', PGBENCH_DATABASE], {
    encoding: 'utf8',
  });
  if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
  const run = spawnSync('pgbench', [...args, '-c', '8', '-j', '2', '-T', '20', PGBENCH_DATABASE], {
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`pgbench failed: ${run.stderr}`);
  const match = /tps = ([\d.]+) \(without initial connection time\)/.exec(run.stdout);
  if (match === null) throw new Error(`no TPS in pgbench output: ${run.stdout}`);
  return Number(match[1]);
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
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Per bid accepted in [from, to]: when it was accepted and ms from then to its first lease. */
async function orderToLease(db: Client, from: Date, to: Date): Promise<{ at: Date; ms: number }[]> {
  const { rows } = await db.query<{ at: Date; ms: number }>(
    `SELECT b.created_at AS at, EXTRACT(EPOCH FROM (min(l.created_at) - b.created_at)) * 1000 AS ms
     FROM bids b JOIN leases l ON l.bid_id = b.id
     WHERE b.created_at BETWEEN $1 AND $2 GROUP BY b.id`,
    [from, to],
  );
  return rows.map((row) => ({ at: row.at, ms: Number(row.ms) }));
}

/**
 * The floor under every latency here: one durable one-row INSERT (its own transaction, so a WAL
 * flush) every 50 ms on the same PostgreSQL while the latency step runs. An accept commits once,
 * so no accept can beat this machine's commit time; a slow disk flush shows up in both.
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
 * Cancels, through the API as their owners, the orders an overloaded step left resting (their
 * partner was refused). Left alone, a resting bid takes a later step's offer and leaves that
 * offer's own bid unmatched, which reads as that step's backlog. Answers how many it cancelled.
 */
async function cancelResting(exchange: Exchange, owners: ReadonlyMap<string, Tenant>): Promise<number> {
  const { rows } = await exchange.db.query<{ kind: 'bids' | 'offers'; id: string; organisation_id: string }>(
    `SELECT 'bids' AS kind, id, organisation_id FROM bids WHERE status IN ('OPEN', 'PARTIALLY_FILLED')
     UNION ALL
     SELECT 'offers', id, organisation_id FROM offers WHERE status IN ('OPEN', 'PARTIALLY_FILLED')`,
  );
  for (const row of rows) {
    const owner = owners.get(row.organisation_id);
    if (owner === undefined)
      throw new Error(`resting ${row.kind} ${row.id} of an organisation the bench did not make`);
    const res = await exchange.post(`/v1/${row.kind}/${row.id}/cancel`, {}, owner);
    if (res.status !== 200)
      throw new Error(`cancelling ${row.kind} ${row.id}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return rows.length;
}

/**
 * Open loop at `rate` orders/s for `seconds`: sends on schedule whatever the answers, an offer
 * of 4 GPUs and then a bid of 4 GPUs that crosses it, spread over tenants and markets.
 */
async function step(
  exchange: Exchange,
  providers: Tenant[],
  buyers: Tenant[],
  rate: number,
  seconds: number,
  probeDb?: Client,
): Promise<StepResult> {
  const { db } = exchange;
  const accepts: [number, number][] = [];
  let sent = 0;
  let accepted = 0;
  let errors = 0;
  let inFlight = 0;
  let maxOldest = 0;
  const startedAt = new Date();
  const begin = performance.now();
  const probe = probeDb === undefined ? undefined : new CommitProbe(probeDb, begin);
  await probe?.start();
  // Whole pairs: an offer left without its bid would rest and read as a backlog.
  const total = 2 * Math.round((rate * seconds) / 2);
  const send = (i: number): void => {
    const [path, body, who] = order(i, providers, buyers);
    const t0 = performance.now();
    inFlight += 1;
    exchange
      .post(path, body, who)
      .then((res) => {
        if (res.status === 201) {
          accepted += 1;
          accepts.push([t0 - begin, performance.now() - t0]);
        } else errors += 1;
      })
      .catch(() => {
        errors += 1;
      })
      .finally(() => {
        inFlight -= 1;
      });
  };
  const sampler = setInterval(() => {
    oldestUnmatchedMs(db, startedAt)
      .then((ms) => {
        maxOldest = Math.max(maxOldest, ms);
      })
      .catch(() => undefined);
  }, 250);
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - begin) / 1000) * rate));
    // Past MAX_IN_FLIGHT the API is hopelessly behind; count the rest as errors, keep the schedule.
    while (sent < due) {
      if (inFlight < MAX_IN_FLIGHT) send(sent);
      else errors += 1;
      sent += 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await waitFor('answers', async () => Promise.resolve(inFlight === 0), 60_000);
  const endedAt = new Date();
  clearInterval(sampler);
  await probe?.stop();
  maxOldest = Math.max(maxOldest, await oldestUnmatchedMs(db, startedAt));
  const drainStart = performance.now();
  let drainedMs: number | null = null;
  while (performance.now() - drainStart < 5_000) {
    if ((await oldestUnmatchedMs(db, startedAt)) === 0) {
      drainedMs = performance.now() - drainStart;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    rate,
    sent,
    accepted,
    errors,
    maxOldestUnmatchedMs: maxOldest,
    drainedMs,
    acceptMs: accepts.map(([, ms]) => ms).sort((a, b) => a - b),
    accepts,
    startedAt,
    endedAt,
    commits: probe?.samples ?? [],
  };
}

// The API must keep up too: an order that waits seconds to be accepted is not sustained either.
const sustained = (r: StepResult): boolean =>
  r.maxOldestUnmatchedMs < 1_000 &&
  r.drainedMs !== null &&
  r.errors <= r.sent * 0.005 &&
  percentile(r.acceptMs, 99) < 1_000;

const commitsOf = (r: StepResult): number[] => r.commits.map(([, ms]) => ms).sort((a, b) => a - b);

function describe(r: StepResult): string {
  return [
    `${r.rate.toFixed(0).padStart(5)} orders/s`,
    `accepted ${r.accepted}/${r.sent}`,
    `errors ${r.errors}`,
    `oldest unmatched max ${r.maxOldestUnmatchedMs.toFixed(0)} ms`,
    `drained ${r.drainedMs === null ? 'no (> 5 s)' : `${r.drainedMs.toFixed(0)} ms`}`,
    `accept p50 ${percentile(r.acceptMs, 50).toFixed(1)} p99 ${percentile(r.acceptMs, 99).toFixed(1)} ms`,
    `commit floor p99 ${percentile(commitsOf(r), 99).toFixed(1)} max ${percentile(commitsOf(r), 100).toFixed(1)} ms`,
    sustained(r) ? 'SUSTAINED' : 'not sustained',
  ].join(' | ');
}

/** Accept and order-to-lease p50 / p99 / max per 5 s of the step: where the slow ones cluster. */
function timeline(r: StepResult, toLease: { at: Date; ms: number }[]): void {
  const buckets = Math.ceil((r.endedAt.getTime() - r.startedAt.getTime()) / TIMELINE_BUCKET_MS);
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
    const f = (p: number): string => percentile(sorted, p).toFixed(0).padStart(5);
    return `${f(50)} ${f(99)} ${f(100)}`;
  };
  out('  from s | accept p50   p99   max | to lease p50   p99   max | commit p50   p99   max');
  for (let i = 0; i < buckets; i += 1) {
    const from = ((i * TIMELINE_BUCKET_MS) / 1000).toFixed(0).padStart(6);
    out(
      `  ${from} |      ${figures(accept[i]!)} |        ${figures(lease[i]!)} |      ${figures(commit[i]!)}`,
    );
  }
}

async function main(): Promise<void> {
  ensureBuild();
  out(
    ONLY_RATE === undefined
      ? `bench:e2e on Node ${process.version}, ${WORKERS} worker(s), ${STEP_SECONDS} s steps from ${START_RATE} orders/s (x${RATE_FACTOR})`
      : `bench:e2e on Node ${process.version}, ${WORKERS} worker(s), latencies alone at ${ONLY_RATE} orders/s for ${STEP_SECONDS} s`,
  );

  let tps = Number.NaN;
  if (ONLY_RATE === undefined) {
    await admin(async (client) => {
      await client.query(`DROP DATABASE IF EXISTS ${PGBENCH_DATABASE} WITH (FORCE)`);
      await client.query(`CREATE DATABASE ${PGBENCH_DATABASE}`);
    });
    tps = pgbench();
    out(`pgbench -i -s 10; pgbench -c 8 -j 2 -T 20 (TPC-B-like): ${tps.toFixed(0)} TPS`);
    await admin((client) => client.query(`DROP DATABASE IF EXISTS ${PGBENCH_DATABASE} WITH (FORCE)`));
  }

  const probeDb = new Client({ connectionString: `${SERVER}/${DATABASE}` });
  const exchange = new Exchange({
    database: DATABASE,
    port: PORT,
    workers: WORKERS,
    cpuProfileDir: CPU_PROF,
  });
  try {
    await exchange.start();
    const { db } = exchange;
    // Its own connection: the step's sampler queries on `db` would queue a commit behind them.
    await probeDb.connect();
    // Fresh tenants for every step: a FILLED offer stays live until its lease ends (1 h), and an
    // organisation may have 1,000 live orders, so one set of providers would hit that cap after
    // about 8,000 offers and the step would measure refusals, not the exchange.
    const warm = await exchange.tenants(TENANTS);
    const owners = new Map<string, Tenant>();
    const own = (made: { providers: Tenant[]; buyers: Tenant[] }): void => {
      for (const tenant of [...made.providers, ...made.buyers]) owners.set(tenant.organisationId, tenant);
    };
    own(warm);
    // Warm-up: JIT, connection pools, prepared query plans.
    await step(exchange, warm.providers, warm.buyers, ONLY_RATE ?? START_RATE, WARMUP_SECONDS);

    let best: StepResult | undefined;
    let rate = START_RATE;
    for (let i = 0; ONLY_RATE === undefined && i < MAX_STEPS; i += 1) {
      const made = await exchange.tenants(TENANTS);
      own(made);
      const { providers, buyers } = made;
      const result = await step(exchange, providers, buyers, rate, STEP_SECONDS, probeDb);
      out(`step ${i + 1}: ${describe(result)}`);
      if (!sustained(result)) break;
      best = result;
      rate = Math.round(rate * RATE_FACTOR);
      // Let the previous step's tail settle before the next one.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    if (ONLY_RATE === undefined && best === undefined) {
      out(`not even ${START_RATE} orders/s was sustained; lower BENCH_START_RATE`);
      return;
    }
    // An overloaded last step leaves a backlog; the latency run starts once matching is idle.
    // Requests refused in that step (errors) leave one side of a pair resting with nothing to
    // cross, so "no open order" never comes: idle means the book and the leases stop changing.
    // Those orders are then cancelled, or they would take the latency step's orders.
    const leftover = await waitForIdle(db, 180_000);
    if (leftover > 0) {
      const cancelled = await cancelResting(exchange, owners);
      await waitForIdle(db, 60_000);
      out(`after the last step: ${leftover} orders rested whose partner was refused; cancelled ${cancelled}`);
    }
    const half = ONLY_RATE ?? Math.max(1, Math.round(best!.rate / 2));
    const fresh = await exchange.tenants(TENANTS);
    const cpu = (): number[] => [exchange.api!, ...exchange.workers].map((child) => cpuMs(child.pid!));
    const cpuBefore = cpu();
    const latency = await step(exchange, fresh.providers, fresh.buyers, half, STEP_SECONDS, probeDb);
    const cpuPerOrder = cpu().map((ms, i) => (ms - cpuBefore[i]!) / latency.sent);
    const toLease = await orderToLease(db, latency.startedAt, latency.endedAt);
    const toLeaseMs = toLease.map(({ ms }) => ms).sort((a, b) => a - b);
    out(`at ${ONLY_RATE === undefined ? '50%' : 'rate'}: ${describe(latency)}`);
    out(
      `CPU per order in that step: API ${cpuPerOrder[0]!.toFixed(2)} ms, ` +
        `worker(s) ${cpuPerOrder
          .slice(1)
          .map((ms) => ms.toFixed(2))
          .join(' + ')} ms`,
    );
    const commitMs = commitsOf(latency);
    out(
      `durable one-row commit on the same PostgreSQL meanwhile (every 50 ms, ${commitMs.length} samples): ` +
        `p50 ${percentile(commitMs, 50).toFixed(1)} p99 ${percentile(commitMs, 99).toFixed(1)} max ${percentile(commitMs, 100).toFixed(1)} ms`,
    );
    timeline(latency, toLease);
    out('');
    out('| figure | measured | target | met |');
    out('| --- | --- | --- | --- |');
    if (best !== undefined) {
      const ratio = best.rate / tps;
      out(
        `| sustained rate | ${best.rate} orders/s (${(ratio * 100).toFixed(1)}% of ${tps.toFixed(0)} TPS) | >= 40% of TPS | ${ratio >= 0.4 ? 'yes' : 'no'} |`,
      );
    }
    const p99Accept = percentile(latency.acceptMs, 99);
    out(
      `| accept p50 / p99 at ${half}/s | ${percentile(latency.acceptMs, 50).toFixed(1)} / ${p99Accept.toFixed(1)} ms | p99 < 50 ms | ${p99Accept < 50 ? 'yes' : 'no'} |`,
    );
    out(
      `| floor: one-row commit p50 / p99 meanwhile | ${percentile(commitMs, 50).toFixed(1)} / ${percentile(commitMs, 99).toFixed(1)} ms | (none: the disk's) | |`,
    );
    const p99Lease = percentile(toLeaseMs, 99);
    out(
      `| order-to-lease p50 / p99 at ${half}/s | ${percentile(toLeaseMs, 50).toFixed(1)} / ${p99Lease.toFixed(1)} ms (${toLeaseMs.length} bids) | p99 < 250 ms | ${p99Lease < 250 ? 'yes' : 'no'} |`,
    );
  } finally {
    await probeDb.end().catch(() => undefined);
    await exchange.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:e2e failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
