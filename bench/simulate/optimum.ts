/**
 * The offline optimum (docs/SIMULATION.md): one allocation over every bid of the scenario at
 * once, maximising matched GPU-hours under the eligibility rules of docs/MATCHING.md, solved
 * exactly as a mixed-integer programme with HiGHS. It takes and returns what the matching core
 * does (`BookBid`, `BookOffer`, `MarketRun`), so the engine's call-mode clearing can stand in
 * for it on the same input.
 */
import highsLoader from 'highs';
import type { BookBid, BookOffer, Fill } from '@/modules/matching/domain/book';
import { pairIneligibility } from '@/modules/matching/domain/eligibility';
import type { MarketRun } from '@/modules/matching/domain/match-market';

type Highs = Awaited<ReturnType<typeof highsLoader>>;

let loaded: Promise<Highs> | undefined;
const highs = (): Promise<Highs> => (loaded ??= highsLoader());

export interface OptimumRun extends MarketRun {
  /** Matched GPU-hours of the allocation. */
  readonly gpuHours: number;
  /** Upper bound HiGHS proved (equals `gpuHours` when the solve finished optimal). */
  readonly bound: number;
  /** Whether every market's solve ended `Optimal`. */
  readonly optimal: boolean;
}

/** Branch-and-bound work bound per market: the same book always gives the same answer. */
const MIP_MAX_NODES = 20_000;

/**
 * The allocation of `bids` to `offers` (all of one or several markets) at `now` with the most
 * GPU-hours: x[b,o] GPUs of bid b from offer o for eligible pairs, within each offer's free GPUs
 * and each bid's remaining ones; all-or-nothing bids take all or none; a bid with a site minimum
 * m takes 0 or at least min(m, remaining) GPUs from each site. Trade price is the offer's ask.
 */
export async function offlineOptimum(
  bids: readonly BookBid[],
  offers: readonly BookOffer[],
  now: number,
  market: (order: BookBid | BookOffer) => string,
): Promise<OptimumRun> {
  const solver = await highs();
  const fills: Fill[] = [];
  const bidsFilled = new Map<string, number>();
  const offersTaken = new Map<string, number>();
  let gpuHours = 0;
  let bound = 0;
  let optimal = true;
  const markets = [...new Set([...bids.map(market), ...offers.map(market)])].sort();
  for (const slug of markets) {
    const run = solveMarket(
      solver,
      bids.filter((b) => market(b) === slug),
      offers.filter((o) => market(o) === slug),
      now,
    );
    fills.push(...run.fills);
    for (const fill of run.fills) {
      bidsFilled.set(fill.bidId, (bidsFilled.get(fill.bidId) ?? 0) + fill.gpus);
      offersTaken.set(fill.offerId, (offersTaken.get(fill.offerId) ?? 0) + fill.gpus);
    }
    gpuHours += run.gpuHours;
    bound += run.bound;
    optimal &&= run.optimal;
  }
  return { fills, bidsFilled, offersTaken, gpuHours, bound, optimal };
}

interface Pair {
  bid: number;
  offer: number;
  name: string;
}

function solveMarket(
  solver: Highs,
  bids: readonly BookBid[],
  offers: readonly BookOffer[],
  now: number,
): { fills: Fill[]; gpuHours: number; bound: number; optimal: boolean } {
  const pairs: Pair[] = [];
  for (const [i, bid] of bids.entries())
    for (const [j, offer] of offers.entries())
      if (pairIneligibility(bid, offer, now) === null) pairs.push({ bid: i, offer: j, name: `x${i}_${j}` });
  if (pairs.length === 0) return { fills: [], gpuHours: 0, bound: 0, optimal: true };

  const byBid = new Map<number, Pair[]>();
  const byOffer = new Map<number, Pair[]>();
  for (const pair of pairs) {
    byBid.set(pair.bid, [...(byBid.get(pair.bid) ?? []), pair]);
    byOffer.set(pair.offer, [...(byOffer.get(pair.offer) ?? []), pair]);
  }
  const sum = (items: readonly Pair[]): string => items.map((p) => p.name).join(' + ');

  const objective = pairs.map((p) => `${bids[p.bid]!.durationHours} ${p.name}`).join(' + ');
  const rows: string[] = [];
  const bounds: string[] = [];
  const binaries: string[] = [];
  for (const [j, items] of byOffer) rows.push(` o${j}: ${sum(items)} <= ${offers[j]!.free}`);
  for (const [i, items] of byBid) {
    const bid = bids[i]!;
    if (bid.partialAllowed) rows.push(` b${i}: ${sum(items)} <= ${bid.remaining}`);
    else {
      rows.push(` b${i}: ${sum(items)} - ${bid.remaining} y${i} = 0`);
      binaries.push(`y${i}`);
    }
    const m = Math.min(bid.minGpusPerSite, bid.remaining);
    if (m > 1) {
      const bySite = new Map<string, Pair[]>();
      for (const pair of items) {
        const site = offers[pair.offer]!.siteId;
        bySite.set(site, [...(bySite.get(site) ?? []), pair]);
      }
      let s = 0;
      for (const sitePairs of bySite.values()) {
        const z = `z${i}_${s}`;
        s += 1;
        rows.push(` l${z}: ${sum(sitePairs)} - ${m} ${z} >= 0`);
        rows.push(` u${z}: ${sum(sitePairs)} - ${bid.remaining} ${z} <= 0`);
        binaries.push(z);
      }
    }
  }
  for (const pair of pairs)
    bounds.push(` 0 <= ${pair.name} <= ${Math.min(offers[pair.offer]!.free, bids[pair.bid]!.remaining)}`);
  const lp = [
    'Maximize',
    ` obj: ${objective}`,
    'Subject To',
    ...rows,
    'Bounds',
    ...bounds,
    'Generals',
    ...pairs.map((p) => ` ${p.name}`),
    ...(binaries.length > 0 ? ['Binaries', ...binaries.map((b) => ` ${b}`)] : []),
    'End',
  ].join('\n');

  const solution = solver.solve(lp, { output_flag: false, mip_rel_gap: 0, mip_max_nodes: MIP_MAX_NODES });
  if (
    solution.Status !== 'Optimal' &&
    (solution.Status as string) !== 'Time limit reached' &&
    !String(solution.Status).includes('limit')
  )
    throw new Error(`offline optimum: HiGHS ended with ${solution.Status}`);
  const fills: Fill[] = [];
  let gpuHours = 0;
  for (const pair of pairs) {
    const column = solution.Columns[pair.name];
    const gpus = Math.round(column !== undefined && 'Primal' in column ? column.Primal : 0);
    if (gpus <= 0) continue;
    const bid = bids[pair.bid]!;
    const offer = offers[pair.offer]!;
    fills.push({ bidId: bid.id, offerId: offer.id, siteId: offer.siteId, gpus, price: offer.price });
    gpuHours += gpus * bid.durationHours;
  }
  const optimal = solution.Status === 'Optimal';
  const info = solution as unknown as { ObjectiveValue?: number; MipDualBound?: number };
  const upper = optimal
    ? gpuHours
    : Math.max(gpuHours, Math.floor(info.MipDualBound ?? Number.POSITIVE_INFINITY));
  return { fills, gpuHours, bound: upper, optimal };
}
