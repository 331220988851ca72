/**
 * `npm run bench:placement-cpu`: API CPU time per placement, closed loop, the API process alone
 * (no worker, so nothing matches and every order rests). On a machine shared with other work
 * wall-clock rates swing with the neighbours; the CPU the API process itself spends per order
 * (user + system, from /proc) barely does, so this is the figure to compare code changes by.
 *
 * With BENCH_WORKER=1 a worker process runs too, every pair matches, and the worker's CPU per
 * order is reported as well, counted until the book is empty again.
 *
 * It also reports the CPU of the PostgreSQL backends serving the bench database (the app's pool
 * connections, from /proc), per order.
 *
 * Settings (environment): BENCH_ORDERS (3000, half offers, half bids), BENCH_CONCURRENCY (8),
 * BENCH_WORKER (0), BENCH_CPU_PROF (a directory: run the API and the worker under `node --cpu-prof`,
 * writing their profiles there), BENCH_DATABASE_SERVER, BENCH_REDIS_URL, BENCH_PORT.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import { cpuMs, ensureBuild, Exchange, order, out, type Tenant } from './exchange';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 3_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const CPU_PROF = process.env.BENCH_CPU_PROF;
const WITH_WORKER = process.env.BENCH_WORKER === '1';
const DATABASE = `compute_exchange_bench_cpu_${randomBytes(3).toString('hex')}`;
const PORT = Number(process.env.BENCH_PORT ?? 3_988);
const TENANTS = 8;

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

/** CPU so far of each PostgreSQL backend connected to this bench's database, by pid. */
async function backendsCpu(db: Client): Promise<Map<number, number>> {
  const { rows } = await db.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
       AND backend_type = 'client backend'`,
  );
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      cpu.set(pid, cpuMs(pid));
    } catch {
      // The backend ended between the query and the read.
    }
  }
  return cpu;
}

/** CPU the backends spent since `before` (a backend that ended meanwhile is not counted). */
function backendsCpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, ms] of after) sum += ms - (before.get(pid) ?? 0);
  return sum;
}

/** Closed loop: CONCURRENCY clients each placing its share of `count` orders. */
async function run(
  exchange: Exchange,
  count: number,
  providers: Tenant[],
  buyers: Tenant[],
  offset: number,
): Promise<number> {
  let next = 0;
  let failed = 0;
  const client = async (): Promise<void> => {
    while (next < count) {
      const i = offset + next;
      next += 1;
      const [path, body, who] = order(i, providers, buyers);
      const res = await exchange.post(path, body, who);
      if (res.status !== 201) failed += 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  return failed;
}

async function main(): Promise<void> {
  ensureBuild();
  const exchange = new Exchange({
    database: DATABASE,
    port: PORT,
    workers: WITH_WORKER ? 1 : 0,
    cpuProfileDir: CPU_PROF,
  });
  try {
    await exchange.start();
    const { db } = exchange;
    const { providers, buyers } = await exchange.tenants(TENANTS);
    // Warm-up: JIT, pools, prepared plans.
    await run(exchange, 400, providers, buyers, 0);
    await drained(db);
    const pid = exchange.api!.pid!;
    const worker = exchange.workers[0];
    const cpu0 = cpuMs(pid);
    const backends0 = await backendsCpu(db);
    const workerCpu0 = worker ? cpuMs(worker.pid!) : 0;
    const t0 = performance.now();
    const failed = await run(exchange, ORDERS, providers, buyers, 400);
    const wallMs = performance.now() - t0;
    const cpu = cpuMs(pid) - cpu0;
    const backends = worker ? 0 : backendsCpuSince(backends0, await backendsCpu(db));
    out(
      `${ORDERS} orders, ${CONCURRENCY} clients: API CPU ${(cpu / ORDERS).toFixed(2)} ms/order ` +
        `(${cpu} ms in all), wall ${(ORDERS / (wallMs / 1000)).toFixed(0)} orders/s, failed ${failed}`,
    );
    if (!worker) {
      out(`PostgreSQL backends CPU ${(backends / ORDERS).toFixed(2)} ms/order (${backends} ms in all)`);
    }
    if (worker) {
      await drained(db);
      const workerCpu = cpuMs(worker.pid!) - workerCpu0;
      out(
        `worker CPU ${(workerCpu / ORDERS).toFixed(2)} ms/order (${workerCpu} ms in all, until the book was empty)`,
      );
    }
  } finally {
    await exchange.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:placement-cpu failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exitCode = 1;
});
