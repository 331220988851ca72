/**
 * The simulation (docs/SIMULATION.md) as a function: for each seed it generates the scenario,
 * computes the offline optimum, drives every seed through a fresh exchange per matching mode,
 * and writes the report. `simulate.ts` is its command line; the CI test calls it directly.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { analyse, type Trade } from './analysis';
import { type MatchingMode, ROOT, SimExchange, type SpawnProcess } from './driver';
import { type Allocation, type Book, optimumOf, replayCall, replayContinuous, toBook } from './model';
import { type SeedResult, writeReport } from './report';
import { DEFAULT_SEEDS, DEFAULT_SIZE, generateScenario, type Scenario, SMALL_SIZE } from './scenario';

interface Options {
  seeds: number[];
  small: boolean;
  modes: MatchingMode[];
  out: string;
  speed: number;
  singleProcess: boolean;
  offline: boolean;
}

export const USAGE =
  'usage: simulate [--seeds a,b,c] [--small] [--mode call|continuous|both] [--out dir] [--speed x] [--single-process] [--offline]';

function parse(args: readonly string[]): Options {
  const options: Options = {
    seeds: [...DEFAULT_SEEDS],
    small: false,
    modes: ['CONTINUOUS', 'CALL'],
    out: join(ROOT, 'dist', 'simulate'),
    speed: 1,
    singleProcess: false,
    offline: false,
  };
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    const value = (): string => {
      const next = args[i + 1];
      if (next === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      i += 1;
      return next;
    };
    switch (arg) {
      case '--seeds':
      case '--seed':
        options.seeds = value()
          .split(',')
          .map((s) => Number(s.trim()));
        if (options.seeds.some((s) => !Number.isSafeInteger(s))) throw new Error(`bad seeds\n${USAGE}`);
        break;
      case '--small':
        options.small = true;
        break;
      case '--mode': {
        const mode = value();
        if (mode === 'both') options.modes = ['CONTINUOUS', 'CALL'];
        else if (mode === 'call') options.modes = ['CALL'];
        else if (mode === 'continuous') options.modes = ['CONTINUOUS'];
        else throw new Error(`bad mode ${mode}\n${USAGE}`);
        break;
      }
      case '--out':
        options.out = value();
        break;
      case '--speed':
        options.speed = Number(value());
        if (!(options.speed > 0)) throw new Error(`bad speed\n${USAGE}`);
        break;
      case '--single-process':
        options.singleProcess = true;
        break;
      case '--offline':
        options.offline = true;
        break;
      default:
        throw new Error(`unknown argument ${arg}\n${USAGE}`);
    }
  }
  // The small scenario is for CI: one seed and one process (dist/main.js) unless told otherwise.
  if (options.small && !args.includes('--seeds') && !args.includes('--seed'))
    options.seeds = [DEFAULT_SEEDS[0]!];
  if (options.small) options.singleProcess = true;
  return options;
}

/** Where the exchanges live and how their processes start; defaults from SIM_* variables. */
export interface SimulateEnvironment {
  readonly log: (line: string) => void;
  readonly server: string;
  readonly redisUrl: string;
  /** Databases are `<dbPrefix>_<mode>`. */
  readonly dbPrefix: string;
  /** Redis keys are under `<redisPrefix>:<random>:`. */
  readonly redisPrefix: string;
  readonly port: number;
  readonly spawn?: SpawnProcess;
}

export function environmentFromProcess(): SimulateEnvironment {
  return {
    log: (line) => void process.stdout.write(`${line}\n`),
    server: process.env.SIM_DATABASE_SERVER ?? 'postgresql://postgres@127.0.0.1:5432',
    redisUrl: process.env.SIM_REDIS_URL ?? 'redis://127.0.0.1:6379',
    dbPrefix: process.env.SIM_DB_PREFIX ?? 'cx_sim',
    redisPrefix: process.env.SIM_REDIS_PREFIX ?? 'cxsim',
    port: Number(process.env.SIM_PORT ?? 3_988),
  };
}

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

interface Run {
  trades: Trade[];
  refused: number;
  /** Requests of the whole drive answered 5xx or 429 and sent again. */
  retries: number;
  wallMs: number;
}

interface Prepared {
  scenario: Scenario;
  book: Book;
  optimum: Awaited<ReturnType<typeof optimumOf>>;
  predicted: Allocation;
}

/**
 * Every seed through one fresh exchange in `mode`, one after the other: organisations are
 * registered once, each seed places its own sites and offers with the clock back at its start,
 * and what it leaves live is cancelled before the next. Undefined when the build lacks the mode.
 */
async function drive(
  seeds: readonly Prepared[],
  mode: MatchingMode,
  options: Options,
  env: SimulateEnvironment,
): Promise<Map<number, Run> | undefined> {
  const out = env.log;
  const exchange = new SimExchange({
    server: env.server,
    redisUrl: env.redisUrl,
    database: `${env.dbPrefix}_${mode.toLowerCase()}`,
    redisPrefix: `${env.redisPrefix}:${randomBytes(3).toString('hex')}`,
    port: env.port,
    singleProcess: options.singleProcess,
    log: out,
    logDir: join(options.out, 'logs'),
    ...(env.spawn === undefined ? {} : { spawn: env.spawn }),
  });
  const runs = new Map<number, Run>();
  try {
    const t0 = seeds[0]!.scenario.t0;
    await exchange.start(t0);
    for (const market of seeds[0]!.scenario.markets) {
      if (!(await exchange.setMatchingMode(market.slug, mode))) {
        if (mode === 'CALL') return undefined;
        // A build without matching modes matches continuously.
        break;
      }
    }
    // Registration hashes a password per organisation: CPU-bound, so few at a time.
    await exchange.register(
      Math.max(...seeds.map((s) => s.scenario.providers)),
      Math.max(...seeds.map((s) => s.scenario.buyers)),
      2,
    );
    for (const { scenario } of seeds) {
      const began = Date.now();
      const offers = await exchange.placeSupply(scenario, CONCURRENCY);
      out(
        `  seed ${scenario.seed} ${mode}: ${offers.size} offers placed; ${scenario.bids.length} bids arriving`,
      );
      const placed = await exchange.placeBids(scenario, options.speed);
      await exchange.waitForQuiet(3_000, 300_000);
      const leases = await exchange.leases(placed.bids, offers);
      for (const refusal of placed.refused.slice(0, 3))
        out(`  refused ${refusal.bid}: ${refusal.status} ${refusal.body}`);
      runs.set(scenario.seed, {
        trades: leases.map((l) => ({ bid: l.bid, offer: l.offer, gpus: l.gpus, price: l.price })),
        refused: placed.refused.length,
        retries: exchange.retries,
        wallMs: Date.now() - began,
      });
      await exchange.clearBook(CONCURRENCY);
    }
    return runs;
  } finally {
    await exchange.stop();
  }
}

const CONCURRENCY = 8;

export interface SimulateResult {
  readonly reportPath: string;
  readonly results: readonly SeedResult[];
}

/** Runs the simulation `args` ask for (see USAGE) and writes its report. */
export async function simulate(
  args: readonly string[],
  env: SimulateEnvironment = environmentFromProcess(),
): Promise<SimulateResult> {
  const out = env.log;
  const options = parse(args);
  const size = options.small ? SMALL_SIZE : DEFAULT_SIZE;
  const notes: string[] = [];
  if (options.offline)
    notes.push(
      'Offline run: the modes are in-process replays of the matching core (model.ts), not the exchange.',
    );
  const prepared: Prepared[] = [];
  for (const seed of options.seeds) {
    const scenario = generateScenario(seed, size);
    const book = toBook(scenario);
    const t = Date.now();
    const optimum = await optimumOf(book, scenario.t0);
    const predicted = replayContinuous(book, scenario.t0);
    out(
      `seed ${seed}: ${scenario.sites.length} sites, ${scenario.offers.length} offers, ${scenario.bids.length} bids; optimum ${optimum.gpuHours} GPU-h${optimum.optimal ? '' : ` (bound ${optimum.bound})`} in ${((Date.now() - t) / 1000).toFixed(1)} s; continuous predicted ${((100 * predicted.gpuHours) / optimum.gpuHours).toFixed(1)}%`,
    );
    prepared.push({ scenario, book, optimum, predicted });
  }
  const byMode = new Map<MatchingMode, Map<number, Run>>();
  for (const mode of options.modes) {
    let runs: Map<number, Run> | undefined;
    if (options.offline) {
      runs = new Map();
      for (const { scenario, book, predicted } of prepared) {
        const began = Date.now();
        const replay =
          mode === 'CONTINUOUS'
            ? predicted
            : await replayCall(
                book,
                scenario.bids.map((b) => b.arrival),
                1_000,
                scenario.t0,
              );
        runs.set(scenario.seed, {
          trades: replay.fills.map((f) => ({
            bid: f.bidId,
            offer: f.offerId,
            gpus: f.gpus,
            price: Number(f.price),
          })),
          refused: 0,
          retries: 0,
          wallMs: Date.now() - began,
        });
      }
    } else {
      runs = await drive(prepared, mode, options, env);
    }
    if (runs === undefined)
      notes.push(`${mode} mode did not run: this build of the exchange has no matching-mode admin endpoint.`);
    else byMode.set(mode, runs);
  }
  const results: SeedResult[] = prepared.map(({ scenario, book, optimum, predicted }) => {
    const modes: SeedResult['modes'] = {};
    for (const [mode, runs] of byMode) {
      const run = runs.get(scenario.seed)!;
      const analysis = analyse(scenario, book, run.trades);
      modes[mode] = { ...analysis, refused: run.refused, retries: run.retries, wallMs: run.wallMs };
      out(
        `seed ${scenario.seed} ${mode}: ${analysis.gpuHours} GPU-h = ${((100 * analysis.gpuHours) / optimum.gpuHours).toFixed(1)}% of the optimum; ${analysis.violations.length} rules broken; ${run.refused} refused; ${(run.wallMs / 1000).toFixed(0)} s`,
      );
    }
    const optimumAnalysis = analyse(
      scenario,
      book,
      optimum.fills.map((f) => ({ bid: f.bidId, offer: f.offerId, gpus: f.gpus, price: Number(f.price) })),
    );
    return {
      scenario,
      optimum: { ...optimumAnalysis, optimal: optimum.optimal, bound: optimum.bound },
      predictedContinuous: predicted.gpuHours,
      modes,
    };
  });
  const path = writeReport(options.out, {
    command: `npm run simulate -- ${args.join(' ')}`.trim(),
    commit: commit(),
    date: new Date().toISOString().slice(0, 10),
    results,
    notes,
  });
  out(`report: ${path}`);
  return { reportPath: path, results };
}
