/**
 * `npm run bench:matching`: the matching core's ContinuousBook against nodejs-order-book on the
 * same seeded streams (bench/order-stream.ts). Inputs are built before the clock starts; only
 * the processing loop (with each engine's fill tally) is timed; runs alternate core, peer, core,
 * peer... and the table shows medians. Prints figures only: nothing here asserts a speed.
 *
 *   BENCH_ORDERS=200000 npm run bench:matching   # a quicker look
 */
import { cpus } from 'node:os';
import { type IProcessOrder, type LimitOrderOptions, OrderBook, Side } from 'nodejs-order-book';
import type { BookBid, BookOffer } from '@/modules/matching/domain/book';
import { ContinuousBook } from './continuous-book';
import {
  constrainedStream,
  type OrderStream,
  plainStream,
  PROVINCE_SETS,
  restingOrders,
  siteProvince,
} from './order-stream';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 1_000_000);
const RESTING = 100_000;
const RUNS = Math.max(3, Number(process.env.BENCH_RUNS ?? 3));
const SEED = 20_261_201;
const START = Date.parse('2026-12-01T00:00:00Z');
const HOUR = 3_600_000;

/** The core's input: one BookBid or BookOffer per order, and the instant it arrives. */
interface CoreInput {
  readonly bids: (BookBid | null)[];
  readonly offers: (BookOffer | null)[];
  readonly at: Float64Array;
}

interface Tally {
  fills: number;
  /** Sum over fills of GPUs x trade price, minor units. */
  volume: number;
}

interface Measured {
  readonly seconds: number;
  readonly tally: Tally;
}

/** Orders arrive 1 ms apart from `start`; seqs follow arrival from `firstSeq`. */
function coreInput(
  stream: OrderStream,
  prefix: string,
  firstSeq: number,
  start: number,
  stepMs: number,
): CoreInput {
  const bids: (BookBid | null)[] = new Array<BookBid | null>(stream.count).fill(null);
  const offers: (BookOffer | null)[] = new Array<BookOffer | null>(stream.count).fill(null);
  const at = new Float64Array(stream.count);
  for (let i = 0; i < stream.count; i += 1) {
    const now = start + i * stepMs;
    at[i] = now;
    const seq = BigInt(firstSeq + i);
    const price = BigInt(stream.price[i]!);
    if (stream.isBid[i] === 1) {
      bids[i] = {
        id: `${prefix}b${i}`,
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
      };
    } else {
      const site = stream.site[i]!;
      const from = stream.opensAfterMs[i] === 0 ? now - HOUR : now + stream.opensAfterMs[i]!;
      offers[i] = {
        id: `${prefix}o${i}`,
        organisationId: `seller-${i % 500}`,
        verified: true,
        siteId: `site-${site}`,
        province: siteProvince(site),
        price,
        free: stream.qty[i]!,
        seq,
        availableFrom: from,
        availableUntil: now + stream.lifetimeMs[i]!,
        minLeaseHours: stream.minLeaseHours[i]!,
      };
    }
  }
  return { bids, offers, at };
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

function feedCore(book: ContinuousBook, input: CoreInput, tally: Tally): void {
  const { bids, offers, at } = input;
  for (let i = 0; i < at.length; i += 1) {
    const bid = bids[i] ?? null;
    const n = bid !== null ? book.placeBid(bid, at[i]!) : book.placeOffer(offers[i]!, at[i]!);
    for (let k = 0; k < n; k += 1) {
      tally.fills += 1;
      tally.volume += book.fillGpus(k) * book.fillPrice(k);
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

/** What the core's book holds once the stream is through. */
interface Resting {
  readonly bids: number;
  readonly offers: number;
}

function timeCore(stream: CoreInput, preload: CoreInput | null): Measured & { resting: Resting } {
  const book = new ContinuousBook();
  if (preload !== null) feedCore(book, preload, { fills: 0, volume: 0 });
  settle();
  const tally = { fills: 0, volume: 0 };
  const started = process.hrtime.bigint();
  feedCore(book, stream, tally);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, tally, resting: { bids: book.restingBids, offers: book.restingOffers } };
}

function timePeer(
  orders: readonly LimitOrderOptions[],
  preload: readonly LimitOrderOptions[] | null,
): Measured {
  const book = new OrderBook();
  if (preload !== null) feedPeer(book, preload, { fills: 0, volume: 0 });
  settle();
  const tally = { fills: 0, volume: 0 };
  const started = process.hrtime.bigint();
  feedPeer(book, orders, tally);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, tally };
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
  readonly tally: Tally;
}

function row(stream: string, engine: string, runs: readonly Measured[]): Row {
  const rates = runs.map((r) => ORDERS / r.seconds);
  return {
    stream,
    engine,
    rate: median(rates),
    runs: rates,
    tally: sameTally(runs, `${stream} / ${engine}`),
  };
}

function thousands(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function write(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Runs `core` and `peer` alternately RUNS times each. */
function alternate<C extends Measured>(core: () => C, peer: () => Measured): { core: C[]; peer: Measured[] } {
  const result: { core: C[]; peer: Measured[] } = { core: [], peer: [] };
  for (let r = 0; r < RUNS; r += 1) {
    result.core.push(core());
    result.peer.push(peer());
  }
  return result;
}

function main(): void {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  write(`Matching core (ContinuousBook) vs nodejs-order-book 10.1.1`);
  write(
    `${thousands(ORDERS)} orders per run, seed ${SEED}, median of ${RUNS} alternating runs; ` +
      `Node ${process.version}, ${cpus().length} vCPU (${cpu})`,
  );
  write();

  const rows: Row[] = [];
  const plain = plainStream(ORDERS, SEED);
  const preloadStream = restingOrders(RESTING, SEED + 1);

  // Plain stream, then the same stream over 100,000 resting orders that never cross it.
  const plainCore = coreInput(plain, '', RESTING + 1, START, 1);
  const plainPeer = peerInput(plain, 's');
  const plainRuns = alternate(
    () => timeCore(plainCore, null),
    () => timePeer(plainPeer, null),
  );
  rows.push(row('plain', 'core', plainRuns.core), row('plain', 'nodejs-order-book', plainRuns.peer));
  const plainResting = plainRuns.core[0]!.resting;

  const preloadCore = coreInput(preloadStream, 'r', 1, START - RESTING - 1, 1);
  const preloadPeer = peerInput(preloadStream, 'r');
  const restingRuns = alternate(
    () => timeCore(plainCore, preloadCore),
    () => timePeer(plainPeer, preloadPeer),
  );
  rows.push(
    row('plain + 100k resting', 'core', restingRuns.core),
    row('plain + 100k resting', 'nodejs-order-book', restingRuns.peer),
  );

  // Provinces, co-location and the rest; the peer gets the stream stripped of them (= plain).
  const constrained = coreInput(constrainedStream(ORDERS, SEED), '', RESTING + 1, START, 1);
  const constrainedRuns = alternate(
    () => timeCore(constrained, null),
    () => timePeer(plainPeer, null),
  );
  rows.push(
    row('provinces + co-location', 'core', constrainedRuns.core),
    row('same, constraints stripped (reference only)', 'nodejs-order-book', constrainedRuns.peer),
  );
  const constrainedResting = constrainedRuns.core[0]!.resting;

  write('| stream | engine | orders/s (median) | runs (orders/s) | fills | sum qty x price (minor units) |');
  write('|---|---|---:|---|---:|---:|');
  for (const r of rows) {
    write(
      `| ${r.stream} | ${r.engine} | ${thousands(r.rate)} | ${r.runs.map(thousands).join(', ')} | ` +
        `${thousands(r.tally.fills)} | ${thousands(r.tally.volume)} |`,
    );
  }
  write();

  const [pc, pp, rc, rp] = rows;
  const equal = (a: Row, b: Row): string =>
    a.tally.fills === b.tally.fills && a.tally.volume === b.tally.volume ? 'yes' : 'no';
  const drop = (before: Row, after: Row): string => `${((1 - after.rate / before.rate) * 100).toFixed(1)}%`;
  write(
    `plain: core / nodejs-order-book = ${(pc!.rate / pp!.rate).toFixed(2)}x; fills and sums equal: ${equal(pc!, pp!)}`,
  );
  write(
    `100k resting: core / nodejs-order-book = ${(rc!.rate / rp!.rate).toFixed(2)}x; ` +
      `fills and sums equal: ${equal(rc!, rp!)} (and equal to the plain run: ${equal(rc!, pc!)})`,
  );
  write(`drop with 100k resting orders: core ${drop(pc!, rc!)}, nodejs-order-book ${drop(pp!, rp!)}`);
  write(
    `book after the plain stream (core): ${thousands(plainResting.bids)} bids, ` +
      `${thousands(plainResting.offers)} offers resting`,
  );
  write(
    `book after the constrained stream (core): ${thousands(constrainedResting.bids)} bids, ` +
      `${thousands(constrainedResting.offers)} offers resting (expired bids are dropped when met)`,
  );
}

main();
