/**
 * The worker's CPU per matched order on the production path, for `bench:matching`
 * (docs/BENCHMARKS.md "Worker CPU per matched order"): `MatchingService.runOnce` (the read of the
 * book's deltas, the match, the commit) run by the worker's own Nest context against a scratch
 * database and Redis prefix, with orders placed through the built API (bench/exchange.ts).
 *
 * The context is the worker's (`AppModule` with the worker role), compiled but not initialised:
 * its processors, relay and schedulers do not start, so the only runs are the bench's. Offers are
 * placed first (64 GPUs each, untimed, read by a warm-up run); then each run takes `batch` new
 * bids placed through the API, each of which fills from a resting offer. Timed per run: this
 * process's CPU (`process.cpuUsage`, user + system) around `runOnce`; and the CPU of the
 * PostgreSQL backends of the worker's pool (its connections carry an application_name), read
 * from /proc before the first and after the last run of a batch size (they do nothing else).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppModule } from '@/app/app.module';
import { loadEnvironment } from '@/config/app-config';
import { preflight } from '@/bootstrap/preflight';
import { MatchingService } from '@/modules/matching/matching.service';
import { cpuOf, cpuSpent, ensureBuild, Exchange, order, out, type Tenant } from './exchange';

const PORT = Number(process.env.BENCH_PORT ?? 3_989);
const MARKET = 'nvidia-h100-80gb';
const APPLICATION_NAME = 'cx_bench_matching_worker';
/** Bids per batch size at least (runs = this / batch, and at least BENCH_WORKER_RUNS). */
const BIDS_PER_LINE = Number(process.env.BENCH_WORKER_BIDS ?? 256);
const MIN_RUNS = Number(process.env.BENCH_WORKER_RUNS ?? 3);
/**
 * A file to write each timed run's [start, end] to (process.hrtime µs, the clock of `--cpu-prof`
 * samples), so a profile of the bench can be cut down to the runs themselves.
 */
const WINDOWS_FILE = process.env.BENCH_WORKER_WINDOWS;
const OFFER_GPUS = 64;
/** Bids of order(): 4 GPUs each. */
const BID_GPUS = 4;

export interface WorkerRunLine {
  batch: number;
  runs: number;
  fills: number;
  /** This process's CPU in runOnce per matched (filled) new bid, ms. */
  workerMsPerOrder: number;
  /** The part of it in the kernel (system time: socket writes and reads, wake-ups). */
  workerSystemMsPerOrder: number;
  /** The worker pool's PostgreSQL backends' CPU per matched bid, ms (10 ms ticks summed over the line). */
  backendMsPerOrder: number;
}

async function inBatches<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

async function place(exchange: Exchange, placed: [string, unknown, Tenant]): Promise<void> {
  const [path, body, tenant] = placed;
  const res = await exchange.postRetrying(path, body, tenant);
  if (res.status !== 201) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Runs the lines and prints their table; removes its database and Redis keys whatever happens. */
export async function workerRunLines(batches: readonly number[]): Promise<WorkerRunLine[]> {
  ensureBuild();
  const database = `compute_exchange_bench_worker_${randomBytes(3).toString('hex')}`;
  const exchange = new Exchange({ database, port: PORT, workers: 0 });
  let context: INestApplicationContext | undefined;
  const cleanUp = async (): Promise<void> => {
    await context
      ?.close()
      .catch((error: unknown) => process.stderr.write(`closing the worker: ${String(error)}\n`));
    context = undefined;
    await exchange.stop();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`bench:matching: ${signal}, cleaning up\n`);
    void cleanUp().finally(() => process.exit(130));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, onSignal);
  try {
    out(`worker runs: scratch database ${database}, Redis prefix ${exchange.prefix}, API on port ${PORT}`);
    await exchange.start();
    const env = exchange.env();
    Object.assign(process.env, env, {
      DATABASE_URL: `${env.DATABASE_URL}?application_name=${APPLICATION_NAME}`,
      MIGRATE_ON_START: 'false',
    });
    const quiet = { info: () => undefined, warn: () => undefined };
    const config = await preflight(loadEnvironment(), quiet);
    const compiled = await Test.createTestingModule({
      imports: [AppModule.register(config, { api: false, worker: true })],
    }).compile();
    compiled.useLogger(false);
    context = compiled;
    const matching = context.get(MatchingService);

    const { providers, buyers } = await exchange.tenants(8, 4);
    const {
      rows: [market],
    } = await exchange.db.query<{ id: string }>('SELECT id FROM markets WHERE slug = $1', [MARKET]);
    if (market === undefined) throw new Error(`market ${MARKET} missing`);
    const runsOf = (batch: number): number => Math.max(MIN_RUNS, Math.ceil(BIDS_PER_LINE / batch));
    const bids = batches.reduce((sum, batch) => sum + batch * runsOf(batch), 0);
    const offers = Math.ceil((bids * BID_GPUS) / OFFER_GPUS) + 1;
    await inBatches(
      Array.from({ length: offers }, (_, i) => i),
      8,
      async (i) => {
        const [path, body, tenant] = order(2 * i, providers, buyers, MARKET);
        await place(exchange, [path, { ...(body as object), gpus: OFFER_GPUS }, tenant]);
      },
    );
    // The warm-up loads the book (and plans each statement on the pool's connections).
    await matching.runOnce(market.id);

    const backendPids = async (): Promise<number[]> =>
      (
        await exchange.db.query<{ pid: number }>(
          'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2',
          [database, APPLICATION_NAME],
        )
      ).rows.map((row) => row.pid);

    out(
      `worker runs: ${offers} offers of ${OFFER_GPUS} GPUs resting, bids of ${BID_GPUS} GPUs that each fill from one; ` +
        `load average ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
    );
    const lines: WorkerRunLine[] = [];
    const windows: Array<[number, bigint, bigint]> = [];
    let next = 1;
    for (const batch of batches) {
      const runs = runsOf(batch);
      let workerUs = 0;
      let systemUs = 0;
      let fills = 0;
      const backendsBefore = cpuOf(await backendPids());
      for (let r = 0; r < runs; r += 1) {
        const placed = Array.from({ length: batch }, () => order(2 * next++ + 1, providers, buyers, MARKET));
        await inBatches(placed, 8, (p) => place(exchange, p));
        const started = process.hrtime.bigint();
        const before = process.cpuUsage();
        const outcome = await matching.runOnce(market.id);
        const used = process.cpuUsage(before);
        windows.push([batch, started / 1000n, process.hrtime.bigint() / 1000n]);
        workerUs += used.user + used.system;
        systemUs += used.system;
        if (outcome.kind !== 'committed' || outcome.fills < batch)
          throw new Error(
            `a run of ${batch} bids: ${JSON.stringify(outcome, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
          );
        fills += outcome.fills;
      }
      const backendMs = cpuSpent(backendsBefore, cpuOf(await backendPids()));
      const matched = batch * runs;
      lines.push({
        batch,
        runs,
        fills,
        workerMsPerOrder: workerUs / 1000 / matched,
        workerSystemMsPerOrder: systemUs / 1000 / matched,
        backendMsPerOrder: backendMs / matched,
      });
    }
    out(
      '| new bids per run | runs | fills | worker CPU per matched order (ms) | of which system (ms) | PostgreSQL backend CPU per matched order (ms) |',
    );
    out('|---:|---:|---:|---:|---:|---:|');
    for (const line of lines)
      out(
        `| ${line.batch} | ${line.runs} | ${line.fills} | ${line.workerMsPerOrder.toFixed(3)} | ${line.workerSystemMsPerOrder.toFixed(3)} | ${line.backendMsPerOrder.toFixed(3)} |`,
      );
    if (WINDOWS_FILE !== undefined) writeFileSync(WINDOWS_FILE, windows.map((w) => w.join(' ')).join('\n'));
    out(
      `load average after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    return lines;
  } finally {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(signal, onSignal);
    await cleanUp();
  }
}
