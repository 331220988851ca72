/**
 * A naive reference of docs/MATCHING.md "Call markets", written from that page: which
 * allocations a clearing may choose, how they score, and the best one by exhaustive search. For
 * small books only (a handful of bids and offers with few GPUs each). Nothing comes from
 * `src/modules/matching/domain/` but types.
 */
import {
  brokenRules,
  sortBidsByPriority,
  sortOffersByPriority,
  type BookBid,
  type BookOffer,
  type Fill,
} from './reference-model';

/** GPUs per (bid id, offer id). */
export type CallAllocation = ReadonlyMap<string, ReadonlyMap<string, number>>;

export interface CallScore {
  readonly gpuHours: number;
  readonly askValue: number;
  readonly priority: number;
}

/** Negative when `a` is the better clearing: more GPU-hours, then more ask value (best fit), then lower priority cost. */
export function compareScores(a: CallScore, b: CallScore): number {
  if (a.gpuHours !== b.gpuHours) return b.gpuHours - a.gpuHours;
  if (a.askValue !== b.askValue) return b.askValue - a.askValue;
  return a.priority - b.priority;
}

function add(a: CallScore, b: CallScore): CallScore {
  return {
    gpuHours: a.gpuHours + b.gpuHours,
    askValue: a.askValue + b.askValue,
    priority: a.priority + b.priority,
  };
}

/** docs/MATCHING.md "Call markets": the cost of one GPU-hour from the offer ranked `o` to the bid ranked `b`. */
function priorityCost(b: number, o: number, bidCount: number, offerCount: number): number {
  return b * bidCount * offerCount + o * (bidCount - b);
}

const ZERO: CallScore = { gpuHours: 0, askValue: 0, priority: 0 };

/**
 * Why one bid's GPUs per offer (`gpus`, offer id -> GPUs) break the rules of a clearing, or [].
 * Pair rules 1-9 of "Eligibility of a pair"; at most `remaining` in all; all-or-nothing; and
 * co-location: every site used gives at least m = min(minGpusPerSite, remaining), except that a
 * partial bid may take less than minGpusPerSite from one site when that completes the bid.
 */
export function bidAllocationViolations(
  bid: BookBid,
  offers: readonly BookOffer[],
  gpus: ReadonlyMap<string, number>,
  now: number,
): string[] {
  const violations: string[] = [];
  const byId = new Map(offers.map((o) => [o.id, o]));
  let total = 0;
  const perSite = new Map<string, number>();
  for (const [offerId, n] of gpus) {
    if (n === 0) continue;
    const offer = byId.get(offerId);
    if (offer === undefined) {
      violations.push(`${bid.id}: unknown offer ${offerId}`);
      continue;
    }
    if (!Number.isInteger(n) || n < 0) violations.push(`${bid.id}x${offerId}: ${n} GPUs`);
    for (const rule of brokenRules(bid, offer, now)) violations.push(`${bid.id}x${offerId}: breaks ${rule}`);
    total += n;
    perSite.set(offer.siteId, (perSite.get(offer.siteId) ?? 0) + n);
  }
  if (total > bid.remaining) violations.push(`${bid.id}: ${total} GPUs, wants ${bid.remaining}`);
  if (!bid.partialAllowed && total > 0 && total !== bid.remaining) {
    violations.push(`${bid.id}: all-or-nothing got ${total} of ${bid.remaining}`);
  }
  // Lots: every site gives whole lots (an inference bid's gpusPerReplica, else 1); the bid wants
  // its remaining in whole lots, and the site minimum is rounded up to whole lots.
  const lot = Math.max(1, bid.inference?.gpusPerReplica ?? 1);
  const wanted = bid.remaining - (bid.remaining % lot);
  for (const [siteId, n] of perSite) {
    if (n % lot !== 0) violations.push(`${bid.id}: ${n} GPUs at ${siteId}, not whole lots of ${lot}`);
  }
  const minimum = Math.ceil(Math.max(1, bid.minGpusPerSite) / lot) * lot;
  const m = Math.min(minimum, wanted);
  const below = [...perSite.values()].filter((n) => n < m).length;
  const remainderAllowed = bid.partialAllowed && wanted > m && total === wanted ? 1 : 0;
  if (below > remainderAllowed) violations.push(`${bid.id}: ${below} sites below m = ${m}`);
  return violations;
}

/** Violations of a whole clearing: each bid's, and no offer over its free GPUs. */
export function allocationViolations(
  bids: readonly BookBid[],
  offers: readonly BookOffer[],
  allocation: CallAllocation,
  now: number,
): string[] {
  const violations: string[] = [];
  const taken = new Map<string, number>();
  for (const bid of bids) {
    const gpus = allocation.get(bid.id);
    if (gpus === undefined) continue;
    violations.push(...bidAllocationViolations(bid, offers, gpus, now));
    for (const [offerId, n] of gpus) taken.set(offerId, (taken.get(offerId) ?? 0) + n);
  }
  for (const bidId of allocation.keys()) {
    if (!bids.some((b) => b.id === bidId)) violations.push(`unknown bid ${bidId}`);
  }
  for (const offer of offers) {
    const n = taken.get(offer.id) ?? 0;
    if (n > offer.free) violations.push(`offer ${offer.id}: ${n} GPUs taken, ${offer.free} free`);
  }
  return violations;
}

/** The allocation a clearing's fills describe. */
export function allocationOf(fills: readonly Fill[]): Map<string, Map<string, number>> {
  const allocation = new Map<string, Map<string, number>>();
  for (const f of fills) {
    const gpus = allocation.get(f.bidId) ?? new Map<string, number>();
    gpus.set(f.offerId, (gpus.get(f.offerId) ?? 0) + f.gpus);
    allocation.set(f.bidId, gpus);
  }
  return allocation;
}

/** The score of an allocation; priority ranks are positions in the priority orders of all orders given. */
export function scoreOf(
  bids: readonly BookBid[],
  offers: readonly BookOffer[],
  allocation: CallAllocation,
): CallScore {
  const bidRank = new Map(sortBidsByPriority(bids).map((b, i) => [b.id, i]));
  const offerRank = new Map(sortOffersByPriority(offers).map((o, i) => [o.id, i]));
  const bidById = new Map(bids.map((b) => [b.id, b]));
  const offerById = new Map(offers.map((o) => [o.id, o]));
  let score = ZERO;
  for (const [bidId, gpus] of allocation) {
    const bid = bidById.get(bidId)!;
    for (const [offerId, n] of gpus) {
      const offer = offerById.get(offerId)!;
      const hours = n * bid.durationHours;
      score = add(score, {
        gpuHours: hours,
        askValue: Number(offer.price) * hours,
        priority:
          priorityCost(bidRank.get(bidId)!, offerRank.get(offerId)!, bids.length, offers.length) * hours,
      });
    }
  }
  return score;
}

/**
 * The best score any allocation reaches, by exhaustive search: bid by bid, every vector of GPUs
 * over its eligible offers that the rules allow and the offers' remaining free GPUs permit,
 * memoised on (bid, free GPUs left per offer).
 */
export function bruteForceBest(
  bids: readonly BookBid[],
  offers: readonly BookOffer[],
  now: number,
): CallScore {
  const bidRank = new Map(sortBidsByPriority(bids).map((b, i) => [b.id, i]));
  const offerRank = new Map(sortOffersByPriority(offers).map((o, i) => [o.id, i]));
  const memo = new Map<string, CallScore>();

  const best = (i: number, free: readonly number[]): CallScore => {
    if (i === bids.length) return ZERO;
    const key = `${i}:${free.join(',')}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const bid = bids[i]!;
    const eligible = offers.map((_, j) => j).filter((j) => brokenRules(bid, offers[j]!, now).length === 0);
    let result = best(i + 1, free); // the bid gets nothing
    const vector = new Array<number>(eligible.length).fill(0);
    const visit = (k: number, total: number): void => {
      if (k === eligible.length) {
        if (total === 0) return;
        const gpus = new Map(eligible.map((j, e) => [offers[j]!.id, vector[e]!]));
        if (bidAllocationViolations(bid, offers, gpus, now).length > 0) return;
        let own = ZERO;
        const left = [...free];
        eligible.forEach((j, e) => {
          const n = vector[e]!;
          left[j] = left[j]! - n;
          const hours = n * bid.durationHours;
          own = add(own, {
            gpuHours: hours,
            askValue: Number(offers[j]!.price) * hours,
            priority:
              priorityCost(bidRank.get(bid.id)!, offerRank.get(offers[j]!.id)!, bids.length, offers.length) *
              hours,
          });
        });
        const candidate = add(own, best(i + 1, left));
        if (compareScores(candidate, result) < 0) result = candidate;
        return;
      }
      const j = eligible[k]!;
      for (let n = 0; n <= Math.min(free[j]!, bid.remaining - total); n += 1) {
        vector[k] = n;
        visit(k + 1, total + n);
      }
      vector[k] = 0;
    };
    visit(0, 0);
    memo.set(key, result);
    return result;
  };
  return best(
    0,
    offers.map((o) => Math.max(0, o.free)),
  );
}
