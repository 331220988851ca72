import type { Highs, ModelData } from 'highs';
import { type BookBid, type BookOffer, type Fill, lotOf, lotsCovering, wholeLots } from './book';
import { bidCanTrade, pairIneligibility, sortBids, sortOffers } from './eligibility';
import { callSolver } from './highs-runtime';
import { matchMarket, type MarketRun } from './match-market';

/**
 * Work limits of one clearing's solves (docs/MATCHING.md "Call markets"). They count solver work,
 * never wall-clock time, so a book clears the same way on an idle machine and on a loaded one.
 * Each applies to each solve: per independent component of the book, per stage.
 */
export interface CallLimits {
  /** Branch-and-bound nodes (HiGHS `mip_max_nodes`). */
  readonly maxNodes?: number;
  /** Simplex iterations (HiGHS `simplex_iteration_limit`). */
  readonly maxSimplexIterations?: number;
  /**
   * Columns a stage's MIP may leave free (not fixed by the relaxation's face or by reduced-cost
   * fixing); a larger one is not run, and the stage keeps the best clearing known.
   */
  readonly maxMipColumns?: number;
  /**
   * Simplex work of the whole clearing: simplex iterations summed over every LP and MIP solve of
   * every component, a MIP's weighted for its presolve, cuts and heuristics, each solve charged a
   * few more for its setup. When it is spent, each component keeps the best clearing it knows
   * (at least the greedy one) and counts as limited.
   */
  readonly maxWork?: number;
}

export const DEFAULT_CALL_LIMITS: Required<CallLimits> = {
  maxNodes: 1_000,
  maxSimplexIterations: 1_000_000,
  maxMipColumns: 12_000,
  maxWork: 25_000,
};

/** The three objectives of a clearing, compared in this order (docs/MATCHING.md "Call markets"). */
export interface ClearingScore {
  /** Matched GPU-hours: GPUs × the bid's duration, summed over fills. Higher is better. */
  readonly gpuHours: number;
  /** Surplus: (bid maximum - offer ask) × GPU-hours, minor units, summed. Higher is better. */
  readonly surplus: number;
  /** Priority cost: see `priorityCost`. Lower is better. */
  readonly priority: number;
}

export interface SolvedClearing {
  readonly run: MarketRun;
  readonly score: ClearingScore;
  /** Independent components of the book (bids and offers linked by eligible pairs). */
  readonly components: number;
  /** Components whose solve stopped at a work limit (its result is feasible, not proven best). */
  readonly limited: number;
  /** Components where the greedy allocation filled more GPU-hours and was taken instead. */
  readonly greedy: number;
  /** Simplex work spent, in iterations (see `CallLimits.maxWork`). */
  readonly work: number;
}

/**
 * A call market's clearing of one market's book at `now`, epoch ms (docs/MATCHING.md "Call
 * markets"). Pure and deterministic once the solver is loaded (`loadCallSolver`).
 */
export function clearCall(
  bids: readonly BookBid[],
  offers: readonly BookOffer[],
  now: number,
  limits?: CallLimits,
): MarketRun {
  return solveCall(bids, offers, now, { ...limits, greedyFallback: true }).run;
}

/**
 * `clearCall` with its diagnostics. `greedyFallback: false` gives the solver's allocation alone
 * (what the property tests compare with a brute-force optimum, and what an offline optimum uses).
 */
export function solveCall(
  bids: readonly BookBid[],
  offers: readonly BookOffer[],
  now: number,
  options: CallLimits & { readonly greedyFallback?: boolean } = {},
): SolvedClearing {
  const limits: Required<CallLimits> = {
    maxNodes: options.maxNodes ?? DEFAULT_CALL_LIMITS.maxNodes,
    maxSimplexIterations: options.maxSimplexIterations ?? DEFAULT_CALL_LIMITS.maxSimplexIterations,
    maxMipColumns: options.maxMipColumns ?? DEFAULT_CALL_LIMITS.maxMipColumns,
    maxWork: options.maxWork ?? DEFAULT_CALL_LIMITS.maxWork,
  };
  const meter = new WorkMeter(limits.maxWork);
  const greedyFallback = options.greedyFallback ?? true;
  const book = buildBook(bids, offers, now);
  const components = componentsOf(book);

  const amounts = new Map<Pair, number>();
  let limited = 0;
  let greedy = 0;
  for (const component of components) {
    const alternative = greedyAmounts(book, component, now);
    const solved = solveComponent(book, component, limits, meter, alternative);
    if (solved.limited) limited += 1;
    let chosen = solved.amounts;
    if (greedyFallback && gpuHoursOf(book, alternative) > gpuHoursOf(book, chosen)) {
      chosen = alternative;
      greedy += 1;
    }
    for (const [pair, gpus] of chosen) amounts.set(pair, gpus);
  }
  return {
    run: runOf(book, amounts),
    score: scoreOf(book, amounts),
    components: components.length,
    limited,
    greedy,
    work: meter.spent,
  };
}

/**
 * The greedy allocation alone, as a clearing prices and orders it (pay-as-ask, docs/MATCHING.md
 * "Call markets"): what `matchMarket` fills on each component, with no solve. The fallback of a
 * clearing whose solve ran past its time bound; needs no solver loaded.
 */
export function clearGreedy(bids: readonly BookBid[], offers: readonly BookOffer[], now: number): MarketRun {
  const book = buildBook(bids, offers, now);
  const amounts = new Map<Pair, number>();
  for (const component of componentsOf(book)) {
    for (const [pair, gpus] of greedyAmounts(book, component, now)) amounts.set(pair, gpus);
  }
  return runOf(book, amounts);
}

/**
 * The priority cost of one GPU-hour that the bid ranked `bidRank` takes from the offer ranked
 * `offerRank`: `bidRank × B × O + offerRank × (B - bidRank)`, ranks being positions (from 0) in
 * the bid and offer priority orders of all `B` bids and `O` offers given. Minimised last, it
 * gives GPU-hours to earlier bids first (one GPU-hour one place earlier in the bid order outweighs
 * any offer term), and the better offers to the better bids.
 */
export function priorityCost(
  bidRank: number,
  offerRank: number,
  bidCount: number,
  offerCount: number,
): number {
  return bidRank * bidCount * offerCount + offerRank * (bidCount - bidRank);
}

// ---------------------------------------------------------------------------------------------
// The book as the solver sees it
// ---------------------------------------------------------------------------------------------

/** An index into Book.pairs. */
type Pair = number;

/** How a bid's co-location minimum binds (docs/MATCHING.md "Call markets", co-location). */
type SiteRule =
  /** m = 1: any GPU from any site. */
  | 'NONE'
  /** Every site used gives at least m = min(minGpusPerSite, remaining). */
  | 'STRICT'
  /** Partial bid with remaining > minGpusPerSite > 1: as STRICT, except one site may give less
   *  when it completes the bid (what a run's later pass allows). */
  | 'REMAINDER';

interface SiteGroup {
  readonly siteId: string;
  /** The bid's pairs at this site, in offer priority order. */
  readonly pairs: Pair[];
  /** Free GPUs of those offers. */
  readonly supply: number;
}

interface SolverBid {
  readonly bid: BookBid;
  readonly rank: number;
  /** GPUs per site come in whole multiples of this (docs/MATCHING.md "Lots"). */
  readonly lot: number;
  /** GPUs it may still take: `remaining` in whole lots. */
  readonly wanted: number;
  readonly rule: SiteRule;
  /** The co-location minimum of STRICT and REMAINDER bids (m, resp. minGpusPerSite). */
  readonly minimum: number;
  readonly sites: SiteGroup[];
  /** The bid's pairs, in offer priority order. */
  readonly pairs: Pair[];
}

interface SolverOffer {
  readonly offer: BookOffer;
  readonly rank: number;
}

interface PairData {
  readonly bid: number;
  readonly offer: number;
}

interface Book {
  readonly bids: SolverBid[];
  readonly offers: SolverOffer[];
  readonly pairs: PairData[];
  readonly bidCount: number;
  readonly offerCount: number;
}

function buildBook(bids: readonly BookBid[], offers: readonly BookOffer[], now: number): Book {
  const sortedBids = sortBids(bids);
  const sortedOffers = sortOffers(offers);
  const offerCount = sortedOffers.length;
  const solverOffers: SolverOffer[] = [];
  const offerIndex: number[] = [];
  sortedOffers.forEach((offer, rank) => {
    if (offer.verified && offer.free > 0 && offer.availableFrom <= now) {
      offerIndex.push(solverOffers.length);
      solverOffers.push({ offer, rank });
    }
  });

  const solverBids: SolverBid[] = [];
  const pairs: PairData[] = [];
  sortedBids.forEach((bid, rank) => {
    if (!bidCanTrade(bid, now)) return;
    const bySite = new Map<string, { offers: number[]; supply: number }>();
    // Offers are in priority order, cheapest first: the walk stops at the first one too dear.
    for (let i = 0; i < solverOffers.length; i += 1) {
      const { offer } = solverOffers[i]!;
      if (offer.price > bid.price) break;
      if (pairIneligibility(bid, offer, now) !== null) continue;
      const site = bySite.get(offer.siteId) ?? { offers: [], supply: 0 };
      site.offers.push(i);
      site.supply += offer.free;
      bySite.set(offer.siteId, site);
    }
    // Whole lots per site (docs/MATCHING.md "Lots"): what a site can give is its supply in whole
    // lots, and the minimum is rounded up to whole lots. An all-or-nothing bid whose remaining is
    // not whole lots cannot fill.
    const lot = lotOf(bid);
    const wanted = wholeLots(bid.remaining, lot);
    if (wanted === 0 || (!bid.partialAllowed && wanted !== bid.remaining)) return;
    for (const site of bySite.values()) site.supply = wholeLots(site.supply, lot);
    const minGpus = lotsCovering(Math.max(1, bid.minGpusPerSite), lot);
    const m = Math.min(minGpus, wanted);
    const rule: SiteRule = m <= 1 ? 'NONE' : bid.partialAllowed && wanted > minGpus ? 'REMAINDER' : 'STRICT';
    // A STRICT bid cannot use a site that cannot supply its minimum; a REMAINDER bid can use any
    // site for its remainder, if it holds a lot.
    const usable = [...bySite].filter(
      ([, site]) => site.supply > 0 && (rule !== 'STRICT' || site.supply >= m),
    );
    const supply = usable.reduce((total, [, site]) => total + site.supply, 0);
    if (usable.length === 0 || (!bid.partialAllowed && supply < wanted)) return;

    const bidIndex = solverBids.length;
    const sites: SiteGroup[] = [];
    const bidPairs: Pair[] = [];
    for (const [siteId, site] of usable) {
      const sitePairs: Pair[] = [];
      for (const offer of site.offers) {
        sitePairs.push(pairs.length);
        pairs.push({ bid: bidIndex, offer });
      }
      sites.push({ siteId, pairs: sitePairs, supply: site.supply });
      bidPairs.push(...sitePairs);
    }
    bidPairs.sort((a, b) => pairs[a]!.offer - pairs[b]!.offer);
    solverBids.push({
      bid,
      rank,
      lot,
      wanted,
      rule,
      minimum: rule === 'REMAINDER' ? minGpus : m,
      sites,
      pairs: bidPairs,
    });
  });
  return { bids: solverBids, offers: solverOffers, pairs, bidCount: sortedBids.length, offerCount };
}

interface Component {
  /** Bid indices, ascending (bid priority order). */
  readonly bids: number[];
  /** Offer indices, ascending (offer priority order). */
  readonly offers: number[];
}

/** Bids and offers linked by eligible pairs: components share nothing, so each solves alone. */
function componentsOf(book: Book): Component[] {
  const n = book.bids.length;
  const parent = Array.from({ length: n + book.offers.length }, (_, i) => i);
  const find = (i: number): number => {
    let root = i;
    while (parent[root] !== root) root = parent[root]!;
    while (parent[i] !== root) {
      const next = parent[i]!;
      parent[i] = root;
      i = next;
    }
    return root;
  };
  for (const pair of book.pairs) {
    const a = find(pair.bid);
    const b = find(n + pair.offer);
    if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
  }
  const byRoot = new Map<number, Component>();
  for (let i = 0; i < n; i += 1) {
    const root = find(i);
    const component = byRoot.get(root) ?? { bids: [], offers: [] };
    component.bids.push(i);
    byRoot.set(root, component);
  }
  for (let j = 0; j < book.offers.length; j += 1) {
    byRoot.get(find(n + j))?.offers.push(j);
  }
  return [...byRoot.values()];
}

// ---------------------------------------------------------------------------------------------
// Solving one component
// ---------------------------------------------------------------------------------------------

interface ComponentResult {
  readonly amounts: Map<Pair, number>;
  readonly limited: boolean;
}

/**
 * The lexicographic optimum of one component: GPU-hours, then surplus, then priority cost. A
 * single bid without co-location needs no solver: taking its eligible offers in priority order
 * is optimal. Otherwise `solveLexicographic` decides, and should numerics disagree with exact
 * arithmetic there, `solveStaged` solves the component again as three plain MIPs.
 */
function solveComponent(
  book: Book,
  component: Component,
  limits: Required<CallLimits>,
  meter: WorkMeter,
  start: ReadonlyMap<Pair, number>,
): ComponentResult {
  if (component.bids.length === 1) {
    const only = book.bids[component.bids[0]!]!;
    if (only.rule === 'NONE') return { amounts: takeInOrder(book, only), limited: false };
  }
  if (meter.exhausted) return { amounts: new Map(), limited: true };
  const highs = callSolver();
  const model = buildModel(book, component, highs);
  return (
    solveLexicographic(highs, book, component, model, limits, meter, start) ??
    solveStaged(highs, book, component, model, limits, meter)
  );
}

/**
 * Work charged for each solve besides its iterations, in iterations: this many, plus one per
 * thousand columns (setting bounds and copying the solution cost about that much).
 */
const RUN_ITERATIONS = 10;
/**
 * A MIP's LP iteration costs this many plain ones: it also pays for presolve, probing, cuts and
 * heuristics (about 5x on the books of bench/call-clearing.ts).
 */
const MIP_ITERATION_WEIGHT = 5;
/** A MIP that could not run this many LP iterations is not started. */
const MIN_MIP_ITERATIONS = 200;

/**
 * The simplex work a clearing has left (`CallLimits.maxWork`): each solve may take only the
 * iterations that remain, so the work spent, and with it the clearing, is the same on any
 * machine.
 */
class WorkMeter {
  spent = 0;

  constructor(
    private readonly budget: number,
    private readonly parent: WorkMeter | null = null,
  ) {}

  /** A meter for one step of a stage (a search, a rounding): at most `share` of the work left, spent here too. */
  part(share: number): WorkMeter {
    return new WorkMeter(Math.floor(share * this.left), this);
  }

  get exhausted(): boolean {
    return this.left <= 0;
  }

  /** Whether a MIP on a model of `columns` columns may start. */
  canRunMip(columns: number): boolean {
    return this.left - overhead(columns) >= MIN_MIP_ITERATIONS * MIP_ITERATION_WEIGHT;
  }

  /** Solves the model's LP within `cap` iterations and the work left. */
  runLp(solver: HighsModel, columns: number, cap: number): void {
    solver.options.set('simplex_iteration_limit', Math.max(0, Math.min(cap, this.left - overhead(columns))));
    solver.run();
    this.charge(Number(solver.info.get('simplex_iteration_count')) + overhead(columns));
  }

  /** Solves the MIP, interrupted at its first check past the work left (LP iterations of all its nodes). */
  runMip(highs: Highs, solver: HighsModel, columns: number, cap: number): void {
    const allowed = (this.left - overhead(columns)) / MIP_ITERATION_WEIGHT;
    let iterations = 0;
    solver.options.set('simplex_iteration_limit', Math.max(0, Math.min(cap, Math.floor(allowed))));
    solver.run({
      [highs.constants.callbackType.mipInterrupt]: (event) => {
        iterations = Number(event.data.mip_total_lp_iterations ?? 0n);
        if (iterations >= allowed) event.interrupt();
        return undefined;
      },
    });
    this.charge(iterations * MIP_ITERATION_WEIGHT + overhead(columns));
  }

  private get left(): number {
    return this.budget - this.spent;
  }

  private charge(work: number): void {
    this.spent += work;
    this.parent?.charge(work);
  }
}

function overhead(columns: number): number {
  return RUN_ITERATIONS + Math.floor(columns / 1_000);
}

type HighsModel = ReturnType<Highs['createModel']>;

/** LP solves within a step's share of the clearing's work. */
interface LpSteps {
  run(): void;
  readonly exhausted: boolean;
}

/** The share of the work left that a stage's search, rounding or polish may spend. */
const STEP_SHARE = 0.25;
/** And the first stage's polish of the greedy clearing, the clearing taken when nothing better is found. */
const SEED_SHARE = 0.5;

/** An LP value this close to an integer is that integer. */
const INTEGRALITY_TOLERANCE = 1e-6;
/** A relaxation's objective this close (relative) to an integer is that integer. */
const OBJECTIVE_TOLERANCE = 1e-9;
/** Margins before a reduced cost or dual is taken to exceed a gap: relative to the gap, and to the largest cost (numerics). */
const GAP_MARGIN = 1e-6;
const DUAL_MARGIN = 1e-7;
/** A column value or row activity this close to a bound sits on it. */
const BOUND_TOLERANCE = 1e-6;

/**
 * The three stages on one HiGHS model, each held on the optimal set of the stages before it by
 * fixing bounds (exact, and as sparse as the first solve: docs/MATCHING.md "The model"). Null
 * when an earlier stage's optimum was left (a dual read as zero that was not).
 */
function solveLexicographic(
  highs: Highs,
  book: Book,
  component: Component,
  model: BuiltModel,
  limits: Required<CallLimits>,
  meter: WorkMeter,
  start: ReadonlyMap<Pair, number>,
): ComponentResult | null {
  const solver = highs.createModel(model.data);
  const runLp = (): void => meter.runLp(solver, model.columns, limits.maxSimplexIterations);
  /** LP solves for a step that may spend `share` of the work left. */
  const stepOf = (share: number): LpSteps => {
    const part = meter.part(share);
    return {
      run: () => part.runLp(solver, model.columns, limits.maxSimplexIterations),
      get exhausted() {
        return part.exhausted;
      },
    };
  };
  try {
    solver.options.set({
      output_flag: false,
      mip_rel_gap: 0,
      // Every objective has integer coefficients on integer columns: a gap below 1 is closed.
      mip_abs_gap: 0.5,
      mip_max_nodes: limits.maxNodes,
      simplex_iteration_limit: limits.maxSimplexIterations,
    });
    solver.clearIntegrality();
    const all = { kind: 'range', from: 0, to: model.columns - 1 } as const;
    const rows = model.data.rowLower.length;
    const colLower = new Float64Array(model.columns);
    const colUpper = Float64Array.from(model.data.colUpper as ArrayLike<number>);
    const rowLower = Float64Array.from(model.data.rowLower as ArrayLike<number>);
    const rowUpper = Float64Array.from(model.data.rowUpper as ArrayLike<number>);
    const stages = [model.gpuHours, model.surplus, model.priority];
    const reached: number[] = [];
    /** Every stage so far was settled by its relaxation, each held on its optimal face. */
    let relaxed = true;
    /** The previous stage's value is held by bounds (true) or must be held by a row. */
    let held = true;
    let limited = false;
    /** The best clearing so far: pair columns, and all columns when a MIP gave it. */
    let best: Float64Array | null = null;
    let bestColumns: Float64Array | null = null;
    for (let stage = 0; stage < stages.length; stage += 1) {
      const costs = stages[stage]!;
      if (stage > 0) {
        if (!held) {
          const previous = stages[stage - 1]!;
          solver.addRow(reached[stage - 1]! - 0.5, highs.infinity, sparse(previous, model.pairCount));
        }
        solver.changeColsCost(all, padded(costs, model.columns));
        solver.changeObjectiveSense(
          stage === 2 ? highs.constants.objectiveSense.minimize : highs.constants.objectiveSense.maximize,
        );
      }

      runLp();
      const solution =
        solver.getModelStatus() === highs.constants.modelStatus.optimal ? solver.getSolution() : null;
      if (solution === null && meter.exhausted) {
        // The clearing's work is spent: the best clearing known stands (none: nothing fills).
        limited = true;
        break;
      }
      const relaxation = Number(solver.info.get('objective_function_value'));
      if (relaxed && solution !== null) {
        let x = integralPairs(model, solution.colValue);
        if (x === null || !feasible(book, component, model, x)) {
          x = reachRelaxation(highs, solver, stepOf(STEP_SHARE), book, component, model, {
            value: relaxation,
            maximise: stage < 2,
            colLower,
            colUpper,
            maxNodes: Math.min(limits.maxNodes, DIVE_NODES, Math.floor(DIVE_WORK / model.columns)),
          });
        }
        if (x !== null && feasible(book, component, model, x)) {
          if (!keeps(stages, reached, x)) return null;
          best = x;
          bestColumns = null;
          reached.push(dot(costs, x));
          if (stage === stages.length - 1) break;
          held = holdFace(solution, costs, model, colLower, colUpper, rowLower, rowUpper);
          if (held) {
            solver.changeColsBounds(all, colLower, colUpper);
            if (rows > 0)
              solver.changeRowsBounds({ kind: 'range', from: 0, to: rows - 1 }, rowLower, rowUpper);
          } else {
            relaxed = false;
          }
          continue;
        }
      }
      relaxed = false;

      // The stage is a MIP. A clearing near its relaxation bounds the gap, and every clearing at
      // least as good as the best one known keeps the columns and rows whose reduced cost or dual
      // exceeds that gap on their bounds: fixing them shrinks this MIP and the later stages'.
      if (solution !== null) {
        const bounds = { stages, stage, colLower, colUpper, rowLower, rowUpper };
        // Stage 2 minimises the priority cost; the others maximise.
        const improves = (x: Float64Array, than: Float64Array | null): boolean =>
          than === null ||
          (stage === 2 ? dot(costs, x) < dot(costs, than) : dot(costs, x) > dot(costs, than));
        if (best === null) {
          // No clearing yet (the first stage, its search failed): the greedy one, improved by an
          // LP with the binaries it implies fixed, stands unless the rounding below does better.
          const seeded = seed(highs, solver, stepOf(SEED_SHARE), book, component, model, start, bounds);
          if (seeded !== null) {
            best = Float64Array.from(seeded.subarray(0, model.pairCount));
            bestColumns = seeded;
          }
        }
        const plunged = plunge(highs, solver, stepOf(STEP_SHARE), book, component, model, colLower, colUpper);
        if (plunged !== null) {
          const x = plunged.subarray(0, model.pairCount);
          if (improves(x, best) && keeps(stages, reached, x)) {
            best = Float64Array.from(x);
            bestColumns = plunged;
          }
        }
        if (bestColumns !== null && stage > 0) {
          const polished = polish(
            highs,
            solver,
            stepOf(STEP_SHARE),
            book,
            component,
            model,
            bestColumns,
            bounds,
          );
          if (polished !== null) {
            const x = polished.subarray(0, model.pairCount);
            if (improves(x, best) && keeps(stages, reached, x)) {
              best = Float64Array.from(x);
              bestColumns = polished;
            }
          }
        }
        if (best !== null) {
          fixBeyondGap(
            solution,
            Math.abs(relaxation - dot(costs, best)),
            largestOf(costs),
            colLower,
            colUpper,
            rowLower,
            rowUpper,
          );
          solver.changeColsBounds(all, colLower, colUpper);
          if (rows > 0) solver.changeRowsBounds({ kind: 'range', from: 0, to: rows - 1 }, rowLower, rowUpper);
        }
      }
      let free = 0;
      for (let c = 0; c < model.columns; c += 1) if (colLower[c] !== colUpper[c]) free += 1;
      if (free > limits.maxMipColumns || !meter.canRunMip(model.columns)) {
        // Too large to decide within the work limits: the best clearing known stands, and the
        // later stages, which would hold this one's value by a dense row, are not run.
        limited = true;
        break;
      }
      solver.changeColsIntegrality(all, model.data.integrality!);
      if (bestColumns !== null) solver.setSolution({ colValue: bestColumns });
      meter.runMip(highs, solver, model.columns, limits.maxSimplexIterations);
      if (solver.getModelStatus() !== highs.constants.modelStatus.optimal) limited = true;
      if (solver.info.get('primal_solution_status') === highs.constants.solutionStatus.feasible) {
        const columns = solver.getSolution().colValue.map(Math.round);
        const x = columns.subarray(0, model.pairCount);
        if (feasible(book, component, model, x) && keeps(stages, reached, x)) {
          best = Float64Array.from(x);
          bestColumns = columns;
        }
      }
      solver.clearIntegrality();
      // A stage stopped before any clearing keeps the previous stage's: it holds what was reached.
      if (best === null) return { amounts: new Map(), limited: true };
      reached.push(dot(costs, best));
      held = false;
    }
    if (best === null) return { amounts: new Map(), limited: true };
    return { amounts: amountsOf(model, best), limited };
  } finally {
    solver.dispose();
  }
}

/** Branch-and-bound nodes a stage may spend looking for a clearing that reaches its relaxation's value. */
const DIVE_NODES = 256;
/** And at most this many columns summed over its LP re-solves: fewer nodes on a larger model. */
const DIVE_WORK = 2_000_000;

/**
 * A clearing reaching the stage relaxation's `value` by a depth-first search on the binaries, or
 * null within `maxNodes` (docs/MATCHING.md "How it is solved"). Bounds are restored before returning.
 */
function reachRelaxation(
  highs: Highs,
  solver: ReturnType<Highs['createModel']>,
  lp: LpSteps,
  book: Book,
  component: Component,
  model: BuiltModel,
  target: {
    readonly value: number;
    readonly maximise: boolean;
    readonly colLower: Float64Array;
    readonly colUpper: Float64Array;
    readonly maxNodes: number;
  },
): Float64Array | null {
  const { value, colLower, colUpper } = target;
  const tolerance = OBJECTIVE_TOLERANCE * Math.max(1, Math.abs(value));
  // Integer costs on integer columns: a fractional optimum cannot be reached.
  if (Math.abs(value - Math.round(value)) > tolerance) return null;
  const sign = target.maximise ? 1 : -1;
  /** Each node: its fixings from the root, as (column, value) pairs. */
  const open: number[][] = [[]];
  let applied: readonly number[] = [];
  let nodes = 0;
  let root = true;
  const restore = (): void => {
    for (let i = 0; i < applied.length; i += 2) {
      const c = applied[i]!;
      solver.changeColBounds(c, colLower[c]!, colUpper[c]!);
    }
    applied = [];
  };
  try {
    while (open.length > 0 && nodes < target.maxNodes && !lp.exhausted) {
      const fixings = open.pop()!;
      nodes += 1;
      // The root's relaxation is the one the caller just solved.
      if (!root) {
        restore();
        for (let i = 0; i < fixings.length; i += 2) {
          solver.changeColBounds(fixings[i]!, fixings[i + 1]!, fixings[i + 1]!);
        }
        applied = fixings;
        lp.run();
        if (solver.getModelStatus() !== highs.constants.modelStatus.optimal) continue;
        if (sign * Number(solver.info.get('objective_function_value')) < sign * value - tolerance) continue;
      }
      root = false;
      const values = solver.getSolution().colValue;
      let branch = -1;
      let distance = 1;
      for (let c = model.pairCount; c < model.columns; c += 1) {
        const v = values[c]!;
        if (model.binary[c] === 0) continue;
        if (Math.abs(v - Math.round(v)) > INTEGRALITY_TOLERANCE && Math.abs(v - 0.5) < distance) {
          distance = Math.abs(v - 0.5);
          branch = c;
        }
      }
      if (branch === -1) {
        const x = integralPairs(model, values);
        if (x !== null && feasible(book, component, model, x)) return x;
        continue;
      }
      // The child nearer the relaxation's value is searched first.
      const up = values[branch]! >= 0.5;
      open.push([...fixings, branch, up ? 0 : 1], [...fixings, branch, up ? 1 : 0]);
    }
    return null;
  } finally {
    restore();
  }
}

/** The LP solution's pair columns when they are all integral, rounded; otherwise null. */
function integralPairs(model: BuiltModel, values: Float64Array): Float64Array | null {
  const x = new Float64Array(model.pairCount);
  for (let c = 0; c < model.pairCount; c += 1) {
    x[c] = Math.round(values[c]!);
    if (Math.abs(values[c]! - x[c]!) > INTEGRALITY_TOLERANCE) return null;
  }
  return x;
}

/** Whether `x` still reaches every earlier stage's value (exact: integer coefficients). */
function keeps(stages: readonly Float64Array[], reached: readonly number[], x: Float64Array): boolean {
  return reached.every((value, stage) => {
    const now = dot(stages[stage]!, x);
    return stage === 2 ? now <= value : now >= value;
  });
}

/**
 * Fixes, in the given bounds, every column with a nonzero reduced cost and every row with a
 * nonzero dual on the bound it sits on: the LP optimum's face (see `solveLexicographic`). False
 * when a value does not sit on a bound as its dual says (numerics): the face is then not held.
 */
function holdFace(
  solution: { colValue: Float64Array; colDual: Float64Array; rowValue: Float64Array; rowDual: Float64Array },
  costs: Float64Array,
  model: BuiltModel,
  colLower: Float64Array,
  colUpper: Float64Array,
  rowLower: Float64Array,
  rowUpper: Float64Array,
): boolean {
  let largest = 1;
  for (let c = 0; c < model.pairCount; c += 1) largest = Math.max(largest, Math.abs(costs[c]!));
  const zero = 1e-9 * largest;
  const fixedCols: Array<[number, number]> = [];
  for (let c = 0; c < colLower.length; c += 1) {
    if (Math.abs(solution.colDual[c]!) <= zero) continue;
    const bound = onBound(solution.colValue[c]!, colLower[c]!, colUpper[c]!);
    if (bound === null) return false;
    fixedCols.push([c, bound]);
  }
  const fixedRows: Array<[number, number]> = [];
  for (let r = 0; r < rowLower.length; r += 1) {
    if (Math.abs(solution.rowDual[r]!) <= zero) continue;
    const bound = onBound(solution.rowValue[r]!, rowLower[r]!, rowUpper[r]!);
    if (bound === null) return false;
    fixedRows.push([r, bound]);
  }
  for (const [c, bound] of fixedCols) {
    colLower[c] = bound;
    colUpper[c] = bound;
  }
  for (const [r, bound] of fixedRows) {
    rowLower[r] = bound;
    rowUpper[r] = bound;
  }
  return true;
}

/** LP re-solves a plunge may spend fixing one binary at a time. */
const PLUNGE_STEPS = 64;

/**
 * A clearing near the relaxation: fixes the most fractional binary to its nearer value (the other
 * one when that is infeasible) and re-solves, until none is fractional. All columns, or null.
 * Bounds are restored before returning.
 */
function plunge(
  highs: Highs,
  solver: ReturnType<Highs['createModel']>,
  lp: LpSteps,
  book: Book,
  component: Component,
  model: BuiltModel,
  colLower: Float64Array,
  colUpper: Float64Array,
): Float64Array | null {
  const fixedCols: number[] = [];
  let batch = true;
  let steps = 0;
  try {
    for (;;) {
      if (lp.exhausted) return null;
      lp.run();
      if (solver.getModelStatus() !== highs.constants.modelStatus.optimal) return null;
      const values = solver.getSolution().colValue;
      let branch = -1;
      let distance = 1;
      for (let c = model.pairCount; c < model.columns; c += 1) {
        const v = values[c]!;
        if (model.binary[c] === 0) continue;
        if (Math.abs(v - Math.round(v)) > INTEGRALITY_TOLERANCE && Math.abs(v - 0.5) < distance) {
          distance = Math.abs(v - 0.5);
          branch = c;
        }
      }
      if (branch === -1) {
        const x = integralPairs(model, values);
        return x !== null && feasible(book, component, model, x) ? values.map(Math.round) : null;
      }
      // Every fractional binary to its nearer value at once: one LP instead of one per binary.
      if (batch) {
        const batchCols: number[] = [];
        for (let c = model.pairCount; c < model.columns; c += 1) {
          const v = values[c]!;
          if (model.binary[c] === 1 && Math.abs(v - Math.round(v)) > INTEGRALITY_TOLERANCE) {
            batchCols.push(c);
            solver.changeColBounds(c, Math.round(v), Math.round(v));
          }
        }
        lp.run();
        if (solver.getModelStatus() === highs.constants.modelStatus.optimal) {
          fixedCols.push(...batchCols);
          continue;
        }
        for (const c of batchCols) solver.changeColBounds(c, colLower[c]!, colUpper[c]!);
        batch = false;
        lp.run();
      }
      // One binary at a time is one LP each: bounded, after which the stage goes on without it.
      if (steps >= PLUNGE_STEPS) return null;
      steps += 1;
      const nearer = Math.round(values[branch]!);
      fixedCols.push(branch);
      solver.changeColBounds(branch, nearer, nearer);
      lp.run();
      if (solver.getModelStatus() !== highs.constants.modelStatus.optimal) {
        solver.changeColBounds(branch, 1 - nearer, 1 - nearer);
      }
    }
  } finally {
    for (const c of fixedCols) solver.changeColBounds(c, colLower[c]!, colUpper[c]!);
  }
}

/**
 * The greedy allocation as a clearing of the first stage: its own columns (pairs, and the binaries
 * and lot counts they imply), or `polish`'s on them when better. Null when it fills nothing.
 */
function seed(
  highs: Highs,
  solver: ReturnType<Highs['createModel']>,
  lp: LpSteps,
  book: Book,
  component: Component,
  model: BuiltModel,
  start: ReadonlyMap<Pair, number>,
  held: Parameters<typeof polish>[7],
): Float64Array | null {
  if (start.size === 0) return null;
  const columns = columnsOf(model, start);
  if (!feasible(book, component, model, columns.subarray(0, model.pairCount))) return null;
  const polished = polish(highs, solver, lp, book, component, model, columns, held);
  if (polished === null) return columns;
  const costs = held.stages[held.stage]!;
  return dot(costs, polished.subarray(0, model.pairCount)) > dot(costs, columns.subarray(0, model.pairCount))
    ? polished
    : columns;
}

/**
 * The best clearing with the same binaries as `columns` (the same bids filled whole and the same
 * sites used), stage by stage up to `stage`, each held on its optimal face: with every binary
 * fixed and the stages held by bounds the LP is a network one (see `reachRelaxation`), so each
 * stage's optimum is integral. All columns, or null. Bounds and costs are restored.
 */
function polish(
  highs: Highs,
  solver: ReturnType<Highs['createModel']>,
  lp: LpSteps,
  book: Book,
  component: Component,
  model: BuiltModel,
  columns: Float64Array,
  held: {
    readonly stages: readonly Float64Array[];
    readonly stage: number;
    readonly colLower: Float64Array;
    readonly colUpper: Float64Array;
    readonly rowLower: Float64Array;
    readonly rowUpper: Float64Array;
  },
): Float64Array | null {
  const all = { kind: 'range', from: 0, to: model.columns - 1 } as const;
  const rows = held.rowLower.length;
  const colLower = held.colLower.slice();
  const colUpper = held.colUpper.slice();
  const rowLower = held.rowLower.slice();
  const rowUpper = held.rowUpper.slice();
  type Sense = Highs['constants']['objectiveSense'][keyof Highs['constants']['objectiveSense']];
  const sense = (stage: number): Sense =>
    stage === 2 ? highs.constants.objectiveSense.minimize : highs.constants.objectiveSense.maximize;
  for (let c = model.pairCount; c < model.columns; c += 1) {
    const v = Math.round(columns[c]!);
    colLower[c] = v;
    colUpper[c] = v;
  }
  try {
    solver.changeColsBounds(all, colLower, colUpper);
    for (let stage = 0; stage <= held.stage; stage += 1) {
      solver.changeColsCost(all, padded(held.stages[stage]!, model.columns));
      solver.changeObjectiveSense(sense(stage));
      lp.run();
      if (solver.getModelStatus() !== highs.constants.modelStatus.optimal) return null;
      const solution = solver.getSolution();
      if (stage === held.stage) {
        const x = integralPairs(model, solution.colValue);
        return x !== null && feasible(book, component, model, x) ? solution.colValue.map(Math.round) : null;
      }
      if (!holdFace(solution, held.stages[stage]!, model, colLower, colUpper, rowLower, rowUpper))
        return null;
      solver.changeColsBounds(all, colLower, colUpper);
      if (rows > 0) solver.changeRowsBounds({ kind: 'range', from: 0, to: rows - 1 }, rowLower, rowUpper);
    }
    return null;
  } finally {
    solver.changeColsCost(all, padded(held.stages[held.stage]!, model.columns));
    solver.changeObjectiveSense(sense(held.stage));
    solver.changeColsBounds(all, held.colLower, held.colUpper);
    if (rows > 0)
      solver.changeRowsBounds({ kind: 'range', from: 0, to: rows - 1 }, held.rowLower, held.rowUpper);
  }
}

/**
 * Reduced-cost fixing: fixes, in the given bounds, every column whose reduced cost and every row
 * whose dual exceeds `gap` in magnitude on the bound it sits on. A clearing that scores within
 * `gap` of the relaxation's optimum moves such a column or row by less than 1 from its bound,
 * and being integral (integer coefficients) does not move it at all. Returns how many columns
 * it fixed.
 */
function fixBeyondGap(
  solution: { colValue: Float64Array; colDual: Float64Array; rowValue: Float64Array; rowDual: Float64Array },
  gap: number,
  largest: number,
  colLower: Float64Array,
  colUpper: Float64Array,
  rowLower: Float64Array,
  rowUpper: Float64Array,
): number {
  const threshold = gap * (1 + GAP_MARGIN) + DUAL_MARGIN * largest;
  let fixed = 0;
  for (let c = 0; c < colLower.length; c += 1) {
    if (colLower[c] === colUpper[c] || Math.abs(solution.colDual[c]!) <= threshold) continue;
    const bound = onBound(solution.colValue[c]!, colLower[c]!, colUpper[c]!);
    if (bound === null) continue;
    colLower[c] = bound;
    colUpper[c] = bound;
    fixed += 1;
  }
  for (let r = 0; r < rowLower.length; r += 1) {
    if (rowLower[r] === rowUpper[r] || Math.abs(solution.rowDual[r]!) <= threshold) continue;
    const bound = onBound(solution.rowValue[r]!, rowLower[r]!, rowUpper[r]!);
    if (bound === null) continue;
    rowLower[r] = bound;
    rowUpper[r] = bound;
  }
  return fixed;
}

/** The bound `value` sits on (the finite one nearest), or null when it sits on neither. */
function onBound(value: number, lower: number, upper: number): number | null {
  if (Number.isFinite(lower) && Math.abs(value - lower) <= BOUND_TOLERANCE) return lower;
  if (Number.isFinite(upper) && Math.abs(value - upper) <= BOUND_TOLERANCE) return upper;
  return null;
}

/** Every column of an allocation: its pairs' GPUs, and the binaries and lot counts they imply. */
function columnsOf(model: BuiltModel, amounts: ReadonlyMap<Pair, number>): Float64Array {
  const columns = new Float64Array(model.columns);
  for (const [pair, gpus] of amounts) {
    const c = model.columnOf.get(pair);
    if (c !== undefined) columns[c] = gpus;
  }
  model.derive.forEach((value, i) => {
    columns[model.pairCount + i] = value(columns);
  });
  return columns;
}

function amountsOf(model: BuiltModel, x: Float64Array): Map<Pair, number> {
  const amounts = new Map<Pair, number>();
  for (let c = 0; c < model.pairCount; c += 1) {
    const gpus = x[c]!;
    if (gpus > 0) amounts.set(model.pairOf[c]!, gpus);
  }
  return amounts;
}

/**
 * The lexicographic optimum of one component, in three MIP solves on one model: GPU-hours, then
 * surplus with GPU-hours held, then priority cost with both held. Each stage starts from the
 * previous stage's solution, so a stage stopped by a work limit still returns one at least as
 * good.
 */
function solveStaged(
  highs: Highs,
  book: Book,
  component: Component,
  model: BuiltModel,
  limits: Required<CallLimits>,
  meter: WorkMeter,
): ComponentResult {
  const mip = highs.createModel(model.data);
  try {
    mip.options.set({
      output_flag: false,
      mip_rel_gap: 0,
      // Every objective has integer coefficients on integer columns: a gap below 1 is closed.
      mip_abs_gap: 0.5,
      mip_max_nodes: limits.maxNodes,
      simplex_iteration_limit: limits.maxSimplexIterations,
    });
    let limited = false;
    let best: Float64Array | null = null;
    const stages = [model.gpuHours, model.surplus, model.priority];
    for (let stage = 0; stage < stages.length; stage += 1) {
      const costs = stages[stage]!;
      if (stage > 0) {
        // Hold the previous stage's objective at the value reached (integers: -0.5 is slack only).
        const previous = stages[stage - 1]!;
        const value = dot(previous, best!);
        mip.addRow(value - 0.5, highs.infinity, sparse(previous, model.pairCount));
        mip.changeColsCost({ kind: 'range', from: 0, to: model.columns - 1 }, padded(costs, model.columns));
        mip.changeObjectiveSense(
          stage === 2 ? highs.constants.objectiveSense.minimize : highs.constants.objectiveSense.maximize,
        );
        mip.setSolution({ colValue: best! });
      }
      if (!meter.canRunMip(model.columns)) {
        limited = true;
        break;
      }
      meter.runMip(highs, mip, model.columns, limits.maxSimplexIterations);
      const status = mip.getModelStatus();
      if (status !== highs.constants.modelStatus.optimal) limited = true;
      if (mip.info.get('primal_solution_status') === highs.constants.solutionStatus.feasible) {
        const values = mip.getSolution().colValue;
        const rounded = values.map(Math.round);
        if (feasible(book, component, model, rounded)) best = rounded;
      }
      if (best === null) return { amounts: new Map(), limited: true };
    }
    if (best === null) return { amounts: new Map(), limited: true };
    return { amounts: amountsOf(model, best), limited };
  } finally {
    mip.dispose();
  }
}

/** Eligible offers in priority order, as many GPUs from each as the bid still wants. */
function takeInOrder(book: Book, solverBid: SolverBid): Map<Pair, number> {
  const amounts = new Map<Pair, number>();
  const supply = solverBid.pairs.reduce(
    (total, p) => total + book.offers[book.pairs[p]!.offer]!.offer.free,
    0,
  );
  if (!solverBid.bid.partialAllowed && supply < solverBid.bid.remaining) return amounts;
  let need = solverBid.bid.remaining;
  for (const pair of solverBid.pairs) {
    if (need === 0) break;
    const gpus = Math.min(need, book.offers[book.pairs[pair]!.offer]!.offer.free);
    amounts.set(pair, gpus);
    need -= gpus;
  }
  return amounts;
}

interface BuiltModel {
  readonly data: ModelData;
  /** Columns 0..pairCount-1 are the pairs' GPUs; the rest are binaries and lot counts. */
  readonly pairCount: number;
  /** 1 for the binaries the search, plunge and polish decide; 0 for pairs and lot counts. */
  readonly binary: Uint8Array;
  readonly columns: number;
  readonly pairOf: Pair[];
  /** The column of each pair. */
  readonly columnOf: ReadonlyMap<Pair, number>;
  /** How each column after the pairs follows from the pairs' GPUs. */
  readonly derive: ReadonlyArray<(x: Float64Array) => number>;
  readonly gpuHours: Float64Array;
  readonly surplus: Float64Array;
  readonly priority: Float64Array;
}

/**
 * Columns and rows of the clearing's model, as docs/MATCHING.md "The model" writes them.
 */
function buildModel(book: Book, component: Component, highs: Highs): BuiltModel {
  const pairOf: Pair[] = [];
  const column = new Map<Pair, number>();
  for (const b of component.bids) {
    for (const p of book.bids[b]!.pairs) {
      column.set(p, pairOf.length);
      pairOf.push(p);
    }
  }
  const pairCount = pairOf.length;
  const colUpper: number[] = [];
  const integrality: number[] = [];
  for (const p of pairOf) {
    const { bid, offer } = book.pairs[p]!;
    colUpper.push(Math.min(book.offers[offer]!.offer.free, book.bids[bid]!.wanted));
    integrality.push(1);
  }
  /** How each column after the pairs follows from the pairs' GPUs (see `columnsOf`). */
  const derive: Array<(x: Float64Array) => number> = [];
  const addBinary = (value: (x: Float64Array) => number): number => {
    colUpper.push(1);
    integrality.push(1);
    derive.push(value);
    return colUpper.length - 1;
  };
  /** Columns counting a site's lots: general integers, which the binary heuristics leave alone. */
  const lotColumns: number[] = [];
  const addLotCount = (upper: number, value: (x: Float64Array) => number): number => {
    colUpper.push(upper);
    integrality.push(1);
    derive.push(value);
    lotColumns.push(colUpper.length - 1);
    return colUpper.length - 1;
  };
  const sum = (cols: ReadonlyArray<readonly [number, number]>, x: Float64Array): number =>
    cols.reduce((total, [c]) => total + x[c]!, 0);

  const rowLower: number[] = [];
  const rowUpper: number[] = [];
  const starts: number[] = [0];
  const indices: number[] = [];
  const values: number[] = [];
  const addRow = (lower: number, upper: number, entries: ReadonlyArray<readonly [number, number]>): void => {
    for (const [col, value] of entries) {
      indices.push(col);
      values.push(value);
    }
    starts.push(indices.length);
    rowLower.push(lower);
    rowUpper.push(upper);
  };
  const inf = highs.infinity;

  const byOffer = new Map<number, number[]>();
  for (const c of pairOf.keys()) {
    const offer = book.pairs[pairOf[c]!]!.offer;
    const list = byOffer.get(offer) ?? [];
    list.push(c);
    byOffer.set(offer, list);
  }
  for (const o of component.offers) {
    const cols = byOffer.get(o);
    if (cols === undefined || cols.length < 2) continue; // one pair: its column bound is enough
    addRow(
      -inf,
      book.offers[o]!.offer.free,
      cols.map((c) => [c, 1] as const),
    );
  }

  for (const b of component.bids) {
    const sb = book.bids[b]!;
    const remaining = sb.wanted;
    const xs = sb.pairs.map((p) => [column.get(p)!, 1] as const);
    const filledWhole =
      !sb.bid.partialAllowed || sb.rule === 'REMAINDER'
        ? addBinary((x) => (sum(xs, x) === remaining ? 1 : 0))
        : -1;
    if (!sb.bid.partialAllowed) {
      addRow(0, 0, [...xs, [filledWhole, -remaining]]);
    } else {
      addRow(-inf, remaining, xs);
      if (sb.rule === 'REMAINDER') addRow(0, inf, [...xs, [filledWhole, -remaining]]);
    }
    if (sb.rule === 'NONE') continue;
    const remainderSites: number[] = [];
    for (const site of sb.sites) {
      const siteXs = site.pairs.map((p) => [column.get(p)!, 1] as const);
      const cap = Math.min(site.supply, remaining);
      // Whole lots at the site: its GPUs equal lot x an integer count (docs/MATCHING.md "Lots").
      const atSite = (x: Float64Array): number => sum(siteXs, x);
      if (sb.lot > 1) {
        const lots = addLotCount(Math.floor(cap / sb.lot), (x) => atSite(x) / sb.lot);
        addRow(0, 0, [...siteXs, [lots, -sb.lot]]);
      }
      if (sb.rule === 'REMAINDER' && site.supply < sb.minimum) {
        const r = addBinary((x) => (atSite(x) > 0 ? 1 : 0));
        remainderSites.push(r);
        addRow(-inf, 0, [...siteXs, [r, -cap]]);
        continue;
      }
      const y = addBinary((x) => (atSite(x) > 0 ? 1 : 0));
      addRow(-inf, 0, [...siteXs, [y, -cap]]);
      if (sb.rule === 'STRICT') {
        addRow(0, inf, [...siteXs, [y, -sb.minimum]]);
      } else {
        const r = addBinary((x) => (atSite(x) > 0 && atSite(x) < sb.minimum ? 1 : 0));
        remainderSites.push(r);
        addRow(0, inf, [...siteXs, [y, -sb.minimum], [r, sb.minimum - 1]]);
      }
    }
    if (sb.rule === 'REMAINDER') {
      addRow(-inf, 0, [...remainderSites.map((r) => [r, 1] as const), [filledWhole, -1]]);
    }
  }

  const columns = colUpper.length;
  const gpuHours = new Float64Array(pairCount);
  const surplus = new Float64Array(pairCount);
  const priority = new Float64Array(pairCount);
  for (let c = 0; c < pairCount; c += 1) {
    const { bid, offer } = book.pairs[pairOf[c]!]!;
    const sb = book.bids[bid]!;
    const so = book.offers[offer]!;
    const hours = sb.bid.durationHours;
    gpuHours[c] = hours;
    surplus[c] = Number(sb.bid.price - so.offer.price) * hours;
    priority[c] = priorityCost(sb.rank, so.rank, book.bidCount, book.offerCount) * hours;
  }
  const binary = new Uint8Array(columns);
  binary.fill(1, pairCount);
  for (const c of lotColumns) binary[c] = 0;
  return {
    binary,
    data: {
      numCols: columns,
      numRows: rowLower.length,
      sense: highs.constants.objectiveSense.maximize,
      colCost: padded(gpuHours, columns),
      colLower: new Float64Array(columns),
      colUpper,
      rowLower,
      rowUpper,
      matrix: { format: 'csr', numRows: rowLower.length, numCols: columns, starts, indices, values },
      integrality: Int32Array.from(integrality),
    },
    pairCount,
    columns,
    pairOf,
    columnOf: column,
    derive,
    gpuHours,
    surplus,
    priority,
  };
}

function largestOf(costs: Float64Array): number {
  let largest = 1;
  for (const cost of costs) largest = Math.max(largest, Math.abs(cost));
  return largest;
}

function padded(costs: Float64Array, columns: number): Float64Array {
  const all = new Float64Array(columns);
  all.set(costs);
  return all;
}

function sparse(costs: Float64Array, count: number): { indices: Int32Array; values: Float64Array } {
  const indices: number[] = [];
  const values: number[] = [];
  for (let c = 0; c < count; c += 1) {
    if (costs[c] !== 0) {
      indices.push(c);
      values.push(costs[c]!);
    }
  }
  return { indices: Int32Array.from(indices), values: Float64Array.from(values) };
}

function dot(costs: Float64Array, x: Float64Array): number {
  let total = 0;
  for (let c = 0; c < costs.length; c += 1) total += costs[c]! * x[c]!;
  return total;
}

/** The rounded solution against the rules themselves: the solver's tolerances are not trusted. */
function feasible(book: Book, component: Component, model: BuiltModel, x: Float64Array): boolean {
  const amounts = new Map<Pair, number>();
  for (let c = 0; c < model.pairCount; c += 1) {
    if (x[c]! < 0) return false;
    if (x[c]! > 0) amounts.set(model.pairOf[c]!, x[c]!);
  }
  return allocationViolations(book, component, amounts) === 0;
}

/** How many rules the allocation breaks (offer capacity, remaining, all-or-nothing, co-location). */
function allocationViolations(book: Book, component: Component, amounts: ReadonlyMap<Pair, number>): number {
  let violations = 0;
  const taken = new Map<number, number>();
  for (const [p, gpus] of amounts) {
    const offer = book.pairs[p]!.offer;
    taken.set(offer, (taken.get(offer) ?? 0) + gpus);
  }
  for (const [offer, gpus] of taken) if (gpus > book.offers[offer]!.offer.free) violations += 1;
  for (const b of component.bids) {
    const sb = book.bids[b]!;
    const remaining = sb.wanted;
    const total = sb.pairs.reduce((sum, p) => sum + (amounts.get(p) ?? 0), 0);
    if (total > remaining) violations += 1;
    if (total === 0) continue;
    if (!sb.bid.partialAllowed && total !== remaining) violations += 1;
    if (sb.rule === 'NONE') continue;
    let below = 0;
    for (const site of sb.sites) {
      const atSite = site.pairs.reduce((sum, p) => sum + (amounts.get(p) ?? 0), 0);
      if (atSite > 0 && atSite < sb.minimum) below += 1;
      if (atSite % sb.lot !== 0) violations += 1;
    }
    const allowed = sb.rule === 'REMAINDER' && total === remaining ? 1 : 0;
    if (below > allowed) violations += 1;
  }
  return violations;
}

// ---------------------------------------------------------------------------------------------
// The greedy alternative, scores, and the run
// ---------------------------------------------------------------------------------------------

/** What `matchMarket` fills on the component alone (components share no offer, so it is its part of a whole-book run). */
function greedyAmounts(book: Book, component: Component, now: number): Map<Pair, number> {
  const bids = component.bids.map((b) => book.bids[b]!.bid);
  const offers = component.offers.map((o) => book.offers[o]!.offer);
  const run = matchMarket(bids, offers, now);
  const pairByIds = new Map<string, Pair>();
  for (const b of component.bids) {
    for (const p of book.bids[b]!.pairs) {
      pairByIds.set(`${book.bids[b]!.bid.id}/${book.offers[book.pairs[p]!.offer]!.offer.id}`, p);
    }
  }
  const amounts = new Map<Pair, number>();
  for (const fill of run.fills) {
    const p = pairByIds.get(`${fill.bidId}/${fill.offerId}`);
    // A pair outside the solver's book is one the rules exclude: never expected, and a greedy
    // allocation using it is not taken.
    if (p === undefined) return new Map<Pair, number>();
    amounts.set(p, (amounts.get(p) ?? 0) + fill.gpus);
  }
  return allocationViolations(book, component, amounts) === 0 ? amounts : new Map<Pair, number>();
}

function gpuHoursOf(book: Book, amounts: ReadonlyMap<Pair, number>): number {
  let total = 0;
  for (const [p, gpus] of amounts) total += gpus * book.bids[book.pairs[p]!.bid]!.bid.durationHours;
  return total;
}

function scoreOf(book: Book, amounts: ReadonlyMap<Pair, number>): ClearingScore {
  let gpuHours = 0;
  let surplus = 0;
  let priority = 0;
  for (const [p, gpus] of amounts) {
    const { bid, offer } = book.pairs[p]!;
    const sb = book.bids[bid]!;
    const so = book.offers[offer]!;
    const hours = gpus * sb.bid.durationHours;
    gpuHours += hours;
    surplus += Number(sb.bid.price - so.offer.price) * hours;
    priority += priorityCost(sb.rank, so.rank, book.bidCount, book.offerCount) * hours;
  }
  return { gpuHours, surplus, priority };
}

/**
 * Fills in bid priority order, one per (bid, offer), at the offer's ask; within a bid in offer
 * priority order, except that a site giving less than the bid's minimum (its remainder) comes
 * last, as the pass that filled it would have.
 */
function runOf(book: Book, amounts: ReadonlyMap<Pair, number>): MarketRun {
  const byBid = new Map<number, Pair[]>();
  for (const p of amounts.keys()) {
    const b = book.pairs[p]!.bid;
    const list = byBid.get(b) ?? [];
    list.push(p);
    byBid.set(b, list);
  }
  const fills: Fill[] = [];
  const bidsFilled = new Map<string, number>();
  const offersTaken = new Map<string, number>();
  for (const b of [...byBid.keys()].sort((x, y) => x - y)) {
    const sb = book.bids[b]!;
    const siteTotal = new Map<string, number>();
    for (const p of byBid.get(b)!) {
      const siteId = book.offers[book.pairs[p]!.offer]!.offer.siteId;
      siteTotal.set(siteId, (siteTotal.get(siteId) ?? 0) + amounts.get(p)!);
    }
    const isRemainder = (p: Pair): number =>
      sb.rule !== 'NONE' && siteTotal.get(book.offers[book.pairs[p]!.offer]!.offer.siteId)! < sb.minimum
        ? 1
        : 0;
    const ordered = byBid
      .get(b)!
      .sort((x, y) => isRemainder(x) - isRemainder(y) || book.pairs[x]!.offer - book.pairs[y]!.offer);
    for (const p of ordered) {
      const { offer } = book.offers[book.pairs[p]!.offer]!;
      const gpus = amounts.get(p)!;
      fills.push({ bidId: sb.bid.id, offerId: offer.id, siteId: offer.siteId, gpus, price: offer.price });
      bidsFilled.set(sb.bid.id, (bidsFilled.get(sb.bid.id) ?? 0) + gpus);
      offersTaken.set(offer.id, (offersTaken.get(offer.id) ?? 0) + gpus);
    }
  }
  return { fills, bidsFilled, offersTaken };
}
