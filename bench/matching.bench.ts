/**
 * `npm run bench:matching`: the production matching engine in continuous mode against
 * nodejs-order-book on the same seeded stream (bench/order-stream.ts).
 *
 * The production engine is what a matching worker runs per run (MatchingService.runOnce): the
 * market's in-memory `MarketBook` takes the orders that changed as deltas (`refresh`, which keeps
 * both sides in priority order), the run allocates (`match`: exactly `matchMarket` over the book,
 * reading only the orders that cross), and the run's fills go back into the book (`applyRun`).
 * There is no other entry point for one order. Database reads, the commit and BullMQ are not timed
 * in those lines. Inputs are built before the clock starts; runs alternate engine,
 * peer, engine, peer...; the table shows medians. Prints figures only: nothing here asserts a speed.
 * Then the worker lines (bench/worker-runs.ts): the whole of `runOnce` on a scratch database, the
 * worker's CPU and the PostgreSQL backends' per matched order at BENCH_BATCHES bids per run.
 *
 *   BENCH_ORDERS=2000 npm run bench:matching     # a quicker look
 *   BENCH_WORKER=0 npm run bench:matching        # the engine lines alone (no database, no API)
 *   BENCH_PORT=3991 npm run bench:matching       # the worker lines' API on another port
 */
import { cpus, loadavg } from 'node:os';
import { type IProcessOrder, type LimitOrderOptions, OrderBook, Side } from 'nodejs-order-book';
import { type BookDelta, MarketBook } from '@/modules/matching/domain/market-book';
import { bookHeader } from '../test/matching/book-fixtures';
import { type OrderStream, plainStream, PROVINCE_SETS, restingOrders, siteProvince } from './order-stream';
import { workerRunLines } from './worker-runs';

/** Orders per run of the stream (the engine's cost per run grows with the orders that cross, not the book). */
const ORDERS = Number(process.env.BENCH_ORDERS ?? 5_000);
/** Orders loaded (untimed) before the stream in the "resting" line; they never cross. */
const RESTING = Number(process.env.BENCH_RESTING ?? 2_000);
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
/** Orders per worker run in the batch lines: the deltas one read brings before one allocation. */
const BATCHES = (process.env.BENCH_BATCHES ?? '1,16,256').split(',').map(Number);
/** BENCH_WORKER=0 skips the worker lines (they start the API on BENCH_PORT and a scratch database). */
const WORKER = process.env.BENCH_WORKER !== '0';
const SEED = 20_261_201;
const START = Date.parse('2026-12-01T00:00:00Z');
const HOUR = 3_600_000;

const HEADER = bookHeader({ marketId: 'bench' });

/** The engine's input: one delta per order (a new live order), and the instant it arrives. */
interface EngineInput {
  readonly deltas: BookDelta[];
  readonly at: Float64Array;
}

interface Tally {
  fills: number;
  /** Sum over fills of GPUs x trade price, minor units. */
  volume: number;
}

interface Measured {
  readonly seconds: number;
  /** User + system CPU of this process during the timed loop. */
  readonly cpuSeconds: number;
  readonly tally: Tally;
}

/** Orders arrive 1 ms apart from `start`; seqs follow arrival from `firstSeq`. */
function engineInput(stream: OrderStream, prefix: string, firstSeq: number, start: number): EngineInput {
  const deltas: BookDelta[] = [];
  const at = new Float64Array(stream.count);
  for (let i = 0; i < stream.count; i += 1) {
    const now = start + i;
    at[i] = now;
    const seq = BigInt(firstSeq + i);
    const price = BigInt(stream.price[i]!);
    if (stream.isBid[i] === 1) {
      const id = `${prefix}b${i}`;
      deltas.push({
        kind: 'bid',
        id,
        bid: {
          id,
          // Buyers and sellers are different organisations, as the peer has no such rule.
          organisationId: `buyer-${i % 500}`,
          verified: true,
          price,
          remaining: stream.qty[i]!,
          seq,
          durationHours: stream.durationHours[i]!,
          provinces: PROVINCE_SETS[stream.provinceSet[i]!]!,
          minGpusPerSite: stream.minGpusPerSite[i]!,
          partialAllowed: stream.partialAllowed[i] === 1,
          expiresAt: now + stream.lifetimeMs[i]!,
          billingMode: 'RESERVED',
        },
      });
    } else {
      const id = `${prefix}o${i}`;
      const site = stream.site[i]!;
      deltas.push({
        kind: 'offer',
        id,
        offer: {
          id,
          organisationId: `seller-${i % 500}`,
          verified: true,
          siteId: `site-${site}`,
          province: siteProvince(site),
          price,
          free: stream.qty[i]!,
          seq,
          availableFrom: now - HOUR,
          availableUntil: now + stream.lifetimeMs[i]!,
          minLeaseHours: stream.minLeaseHours[i]!,
          payPerUseMinPercent: 25,
        },
      });
    }
  }
  return { deltas, at };
}

/** The peer's input: the same side, price and quantity as limit GTC orders. */
function peerInput(stream: OrderStream, prefix: string): LimitOrderOptions[] {
  const orders: LimitOrderOptions[] = [];
  for (let i = 0; i < stream.count; i += 1) {
    orders.push({
      id: `${prefix}${i}`,
      side: stream.isBid[i] === 1 ? Side.BUY : Side.SELL,
      size: stream.qty[i]!,
      price: stream.price[i]!,
    });
  }
  return orders;
}

/**
 * The worker's loop, `batch` orders per run: one read's deltas, one allocation at the last
 * order's instant, and (when it filled) the fills applied to the book, as runOnce does after a
 * commit. The epoch moves with every read, as the database's does.
 */
function feedEngine(book: MarketBook, input: EngineInput, batch: number, tally: Tally): void {
  const { deltas, at } = input;
  let epoch = book.epoch;
  for (let i = 0; i < deltas.length; i += batch) {
    const end = Math.min(i + batch, deltas.length);
    epoch += 1n;
    book.refresh(HEADER, epoch, batch === 1 ? [deltas[i]!] : deltas.slice(i, end));
    const run = book.match(at[end - 1]!);
    if (run.fills.length === 0) continue;
    book.applyRun(run);
    for (const fill of run.fills) {
      tally.fills += 1;
      tally.volume += fill.gpus * Number(fill.price);
    }
  }
}

/**
 * One trade per maker order the taker met: every `done` entry but the taker itself, and the
 * maker left partly filled when the taker was filled whole.
 */
function tallyPeer(result: IProcessOrder, takerId: string, tally: Tally): void {
  if (result.err !== null) throw new Error(`nodejs-order-book rejected ${takerId}: ${result.err.message}`);
  for (const order of result.done) {
    if (order.id === takerId || !('price' in order)) continue;
    tally.fills += 1;
    tally.volume += order.size * order.price;
  }
  const partial = result.partial;
  if (
    result.quantityLeft === 0 &&
    partial !== null &&
    partial.id !== takerId &&
    result.partialQuantityProcessed > 0
  ) {
    tally.fills += 1;
    tally.volume += result.partialQuantityProcessed * partial.price;
  }
}

function feedPeer(book: OrderBook, orders: readonly LimitOrderOptions[], tally: Tally): void {
  for (let i = 0; i < orders.length; i += 1) {
    const order = orders[i]!;
    tallyPeer(book.limit(order), order.id, tally);
  }
}

function settle(): void {
  // A collection between runs, so that one run's garbage is not collected in the next one's time.
  if (gc !== undefined) gc();
}

function measure(feed: (tally: Tally) => void): Measured {
  settle();
  const tally = { fills: 0, volume: 0 };
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  feed(tally);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6, tally };
}

/**
 * Each engine's book from its last run, kept until its next one. A worker keeps its market's book
 * for as long as it runs; a book dropped before the GC between runs takes the objects' shapes
 * with it, V8 throws away the code optimised for them, and every run would time recompiling.
 * Both engines are kept alike.
 */
const lastBooks: { engine?: MarketBook; peer?: OrderBook } = {};

function timeEngine(stream: EngineInput, preload: EngineInput | null, batch: number): Measured {
  const book = new MarketBook(HEADER, 0n);
  if (preload !== null) feedEngine(book, preload, preload.deltas.length, { fills: 0, volume: 0 });
  const measured = measure((tally) => feedEngine(book, stream, batch, tally));
  lastBooks.engine = book;
  return measured;
}

function timePeer(
  orders: readonly LimitOrderOptions[],
  preload: readonly LimitOrderOptions[] | null,
): Measured {
  const book = new OrderBook();
  if (preload !== null) feedPeer(book, preload, { fills: 0, volume: 0 });
  const measured = measure((tally) => feedPeer(book, orders, tally));
  lastBooks.peer = book;
  return measured;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The runs' common tally; the streams are deterministic, so runs that disagree are a bug. */
function sameTally(runs: readonly Measured[], what: string): Tally {
  const first = runs[0]!.tally;
  for (const run of runs) {
    if (run.tally.fills !== first.fills || run.tally.volume !== first.volume) {
      throw new Error(`${what}: runs disagree (${JSON.stringify(runs.map((r) => r.tally))})`);
    }
  }
  return first;
}

interface Row {
  readonly stream: string;
  readonly engine: string;
  readonly rate: number;
  readonly runs: readonly number[];
  /** Median CPU per fill, microseconds. */
  readonly cpuPerFillUs: number;
  readonly tally: Tally;
}

function row(stream: string, engine: string, runs: readonly Measured[]): Row {
  const tally = sameTally(runs, `${stream} / ${engine}`);
  const rates = runs.map((r) => ORDERS / r.seconds);
  return {
    stream,
    engine,
    rate: median(rates),
    runs: rates,
    cpuPerFillUs: median(runs.map((r) => (r.cpuSeconds * 1e6) / Math.max(1, tally.fills))),
    tally,
  };
}

function thousands(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function write(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Runs `engine` and `peer` alternately RUNS times each. */
function alternate(engine: () => Measured, peer: () => Measured): { engine: Measured[]; peer: Measured[] } {
  const result: { engine: Measured[]; peer: Measured[] } = { engine: [], peer: [] };
  for (let r = 0; r < RUNS; r += 1) {
    result.engine.push(engine());
    result.peer.push(peer());
  }
  return result;
}

async function main(): Promise<void> {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  write('Production matching engine (MarketBook.match, CONTINUOUS) vs nodejs-order-book 10.1.1');
  write(
    `${thousands(ORDERS)} orders per run, seed ${SEED}, median of ${RUNS} alternating runs; ` +
      `Node ${process.version}, ${cpus().length} vCPU (${cpu}), load average ${loadavg()[0]!.toFixed(2)}`,
  );
  write();

  const rows: Row[] = [];
  const plain = plainStream(ORDERS, SEED);
  const plainEngine = engineInput(plain, '', RESTING + 1, START);
  const plainPeer = peerInput(plain, 's');

  // One order per run: the engine sees the stream as the peer does, so their fills must agree.
  const single = alternate(
    () => timeEngine(plainEngine, null, 1),
    () => timePeer(plainPeer, null),
  );
  rows.push(row('plain, 1 order per run', 'engine', single.engine));
  rows.push(row('plain', 'nodejs-order-book', single.peer));

  if (RESTING > 0) {
    const resting = restingOrders(RESTING, SEED + 1);
    const restingEngine = engineInput(resting, 'r', 1, START - RESTING - 1);
    const restingPeer = peerInput(resting, 'r');
    const deep = alternate(
      () => timeEngine(plainEngine, restingEngine, 1),
      () => timePeer(plainPeer, restingPeer),
    );
    rows.push(row(`plain + ${thousands(RESTING)} resting, 1 order per run`, 'engine', deep.engine));
    rows.push(row(`plain + ${thousands(RESTING)} resting`, 'nodejs-order-book', deep.peer));
  }

  // More orders per run, as a worker reads them when they arrive faster than it runs. Bids in
  // one run are served in priority order rather than arrival order, so fills may differ.
  for (const batch of BATCHES.filter((b) => b > 1)) {
    const runs: Measured[] = [];
    for (let r = 0; r < RUNS; r += 1) runs.push(timeEngine(plainEngine, null, batch));
    rows.push(row(`plain, ${batch} orders per run`, 'engine', runs));
  }

  write(
    '| stream | engine | orders/s (median) | runs (orders/s) | CPU per fill (µs) | fills | sum qty x price (minor units) |',
  );
  write('|---|---|---:|---|---:|---:|---:|');
  for (const r of rows) {
    write(
      `| ${r.stream} | ${r.engine} | ${thousands(r.rate)} | ${r.runs.map(thousands).join(', ')} | ` +
        `${r.cpuPerFillUs.toFixed(1)} | ${thousands(r.tally.fills)} | ${thousands(r.tally.volume)} |`,
    );
  }
  write();

  const equal = (a: Row, b: Row): string =>
    a.tally.fills === b.tally.fills && a.tally.volume === b.tally.volume ? 'yes' : 'no';
  const [engine, peer] = rows;
  write(
    `plain: engine / nodejs-order-book = ${(engine!.rate / peer!.rate).toFixed(4)}x (target: 3x); ` +
      `fills and sums equal: ${equal(engine!, peer!)}`,
  );
  if (RESTING > 0) {
    const [, , deepEngine, deepPeer] = rows;
    write(
      `${thousands(RESTING)} resting: engine / nodejs-order-book = ${(deepEngine!.rate / deepPeer!.rate).toFixed(4)}x; ` +
        `fills and sums equal: ${equal(deepEngine!, deepPeer!)} (and equal to the plain run: ${equal(deepEngine!, engine!)})`,
    );
  }
  const book = new MarketBook(HEADER, 0n);
  feedEngine(book, plainEngine, 1, { fills: 0, volume: 0 });
  write(
    `book after the plain stream: ${thousands(book.size.bids)} bids, ${thousands(book.size.offers)} offers resting`,
  );

  if (WORKER) {
    write();
    write(
      `Worker CPU per matched order, MatchingService.runOnce on PostgreSQL (${BATCHES.join(', ')} new bids per run)`,
    );
    await workerRunLines(BATCHES);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:matching failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
