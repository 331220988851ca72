/**
 * Where the simulated market loses GPU-hours against the offline optimum (docs/SIMULATION.md
 * "Diagnosis"): per seed, supply and demand per market, how many bids share a market's window,
 * and `clearCall` replayed over windows of several lengths, with how often a clearing stopped at
 * a work limit or took the greedy allocation. In-process, no exchange.
 *
 *   npm run -s build:bench && node dist/bench/bench/simulate/diagnose.js [seeds] [windows ms]
 *   node dist/bench/bench/simulate/diagnose.js 20270101 1,1000,5000,30000
 *   node dist/bench/bench/simulate/diagnose.js 20270101 1000 relax   # and with each rule lifted
 *
 * A window of 1 ms clears each bid on its own (bids arrive at distinct milliseconds): the
 * clearing's objective without any window.
 */
import type { Fill } from '@/modules/matching/domain/book';
import { solveCall } from '@/modules/matching/domain/call-clearing';
import { loadCallSolver } from '@/modules/matching/domain/highs-runtime';
import { type Book, optimumOf, replayContinuous, toBook } from './model';
import { DEFAULT_SEEDS, DEFAULT_SIZE, generateScenario, HOUR_MS, scenarioTotals } from './scenario';

const percent = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(1)}%`;

interface Replay {
  readonly fills: Fill[];
  readonly gpuHours: number;
  readonly clearings: number;
  readonly components: number;
  readonly limited: number;
  readonly greedy: number;
}

/** `replayCall` of model.ts with the clearing's diagnostics summed. */
async function replayWindows(
  book: Book,
  arrivals: readonly number[],
  windowMs: number,
  now: number,
): Promise<Replay> {
  await loadCallSolver();
  const fills: Fill[] = [];
  const free = new Map(book.offers.map((o) => [o.id, o.free]));
  const remaining = new Map<string, number>();
  const replay = { clearings: 0, components: 0, limited: 0, greedy: 0 };
  const start = arrivals[0] ?? 0;
  let i = 0;
  while (i < book.bids.length) {
    const windowEnd = start + (Math.floor((arrivals[i]! - start) / windowMs) + 1) * windowMs;
    const touched = new Set<string>();
    while (i < book.bids.length && arrivals[i]! < windowEnd) {
      const bid = book.bids[i]!;
      remaining.set(bid.id, bid.remaining);
      touched.add(book.marketOf.get(bid.id)!);
      i += 1;
    }
    for (const market of [...touched].sort()) {
      const bids = book.bids
        .filter((b) => book.marketOf.get(b.id) === market && (remaining.get(b.id) ?? 0) > 0)
        .map((b) => ({ ...b, remaining: remaining.get(b.id)! }));
      const offers = book.offers
        .filter((o) => book.marketOf.get(o.id) === market && free.get(o.id)! > 0)
        .map((o) => ({ ...o, free: free.get(o.id)! }));
      const solved = solveCall(bids, offers, now);
      replay.clearings += 1;
      replay.components += solved.components;
      replay.limited += solved.limited;
      replay.greedy += solved.greedy;
      for (const fill of solved.run.fills) {
        free.set(fill.offerId, free.get(fill.offerId)! - fill.gpus);
        remaining.set(fill.bidId, remaining.get(fill.bidId)! - fill.gpus);
      }
      fills.push(...solved.run.fills);
    }
  }
  const duration = new Map(book.bids.map((b) => [b.id, b.durationHours]));
  const gpuHours = fills.reduce((sum, fill) => sum + fill.gpus * duration.get(fill.bidId)!, 0);
  return { fills, gpuHours, ...replay };
}

/** GPUs filled, and GPU-hours by lease length (1-8 h, 12-48 h, 72-168 h). */
function byLength(book: Book, fills: readonly Fill[]): string {
  const duration = new Map(book.bids.map((b) => [b.id, b.durationHours]));
  const hours = [0, 0, 0];
  let gpus = 0;
  for (const fill of fills) {
    const d = duration.get(fill.bidId)!;
    gpus += fill.gpus;
    hours[d <= 8 ? 0 : d <= 48 ? 1 : 2]! += fill.gpus * d;
  }
  return `${gpus} GPUs; GPU-h by length ${hours.join(' / ')}`;
}

/** The book with one family of rules lifted: what continuous matching loses to each. */
function relaxed(book: Book, t0: number): Record<string, Book> {
  return {
    'no price caps': { ...book, bids: book.bids.map((b) => ({ ...b, price: 10n ** 12n })) },
    'any province': { ...book, bids: book.bids.map((b) => ({ ...b, provinces: [] })) },
    'no windows': {
      ...book,
      offers: book.offers.map((o) => ({ ...o, availableUntil: t0 + 400 * HOUR_MS, minLeaseHours: 1 })),
    },
    'no co-location': {
      ...book,
      bids: book.bids.map((b) => ({ ...b, minGpusPerSite: 1, partialAllowed: true })),
    },
  };
}

async function main(): Promise<void> {
  const seeds = process.argv[2] === undefined ? DEFAULT_SEEDS : process.argv[2].split(',').map(Number);
  const windows = (process.argv[3] ?? '1,1000,5000,30000').split(',').map(Number);
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  for (const seed of seeds) {
    const scenario = generateScenario(seed, DEFAULT_SIZE);
    const book = toBook(scenario);
    const totals = scenarioTotals(scenario);
    out(
      `seed ${seed}: ${totals.installed} GPUs installed, ${totals.offered} offered, ${totals.wanted} wanted`,
    );
    for (const market of scenario.markets) {
      const offered = scenario.offers.filter((o) => o.market === market.slug).reduce((s, o) => s + o.gpus, 0);
      const wanted = scenario.bids.filter((b) => b.market === market.slug).reduce((s, b) => s + b.gpus, 0);
      out(`  ${market.slug}: ${offered} offered, ${wanted} wanted`);
    }
    for (const w of [1_000, 5_000, 30_000]) {
      const cells = new Map<string, number>();
      for (const bid of scenario.bids) {
        const cell = `${bid.market}/${Math.floor((bid.arrival - scenario.t0) / w)}`;
        cells.set(cell, (cells.get(cell) ?? 0) + 1);
      }
      out(
        `  ${w / 1_000} s windows: ${(scenario.bids.length / cells.size).toFixed(1)} bids per market and window`,
      );
    }
    const optimum = await optimumOf(book, scenario.t0);
    const continuous = replayContinuous(book, scenario.t0);
    out(`  optimum ${optimum.gpuHours} GPU-h: ${byLength(book, optimum.fills)}`);
    out(
      `  continuous ${percent(continuous.gpuHours, optimum.gpuHours)}: ${byLength(book, continuous.fills)}`,
    );
    if (process.argv[4] === 'relax') {
      for (const [name, variant] of Object.entries(relaxed(book, scenario.t0))) {
        const best = await optimumOf(variant, scenario.t0);
        const run = replayContinuous(variant, scenario.t0);
        out(`  ${name}: optimum ${best.gpuHours} GPU-h, continuous ${percent(run.gpuHours, best.gpuHours)}`);
      }
    }
    for (const w of windows) {
      const began = Date.now();
      const call = await replayWindows(
        book,
        scenario.bids.map((b) => b.arrival),
        w,
        scenario.t0,
      );
      out(
        `  call ${w / 1_000} s ${percent(call.gpuHours, optimum.gpuHours)}: ${byLength(book, call.fills)}; ${call.clearings} clearings, ${call.components} components, ${call.limited} at a work limit, ${call.greedy} greedy; ${((Date.now() - began) / 1_000).toFixed(0)} s`,
      );
    }
  }
}

void main();
