/**
 * Invariants of one run's output, from docs/MATCHING.md, checked on whatever fills an engine
 * returns for a book (the real core's in the property test). Each returns readable violations
 * rather than throwing, so a failing sequence names every broken rule at once.
 */
import { brokenRules, sortBidsByPriority, type BookBid, type BookOffer, type Fill } from './reference-model';

export function showFill(f: Fill): string {
  return `${f.bidId}x${f.offerId}@${f.siteId} ${f.gpus} @ ${f.price}`;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** Violations of the run invariants by `fills`, for the book (`bids`, `offers`) at `now`. */
export function runViolations(
  bids: readonly BookBid[],
  offers: readonly BookOffer[],
  now: number,
  fills: readonly Fill[],
): string[] {
  const violations: string[] = [];
  const bidById = new Map(bids.map((b) => [b.id, b]));
  const offerById = new Map(offers.map((o) => [o.id, o]));

  for (const f of fills) {
    const bid = bidById.get(f.bidId);
    const offer = offerById.get(f.offerId);
    if (bid === undefined || offer === undefined) {
      violations.push(`${showFill(f)}: unknown bid or offer`);
      continue;
    }
    if (!Number.isInteger(f.gpus) || f.gpus <= 0)
      violations.push(`${showFill(f)}: gpus not a positive integer`);
    if (f.siteId !== offer.siteId)
      violations.push(`${showFill(f)}: siteId is not the offer's (${offer.siteId})`);
    // rules 1-9, at the run's start (capacity included: a fill needs free > 0 and remaining > 0)
    for (const rule of brokenRules(bid, offer, now)) violations.push(`${showFill(f)}: breaks rule ${rule}`);
    // price cap both ways, and the trade price rule
    if (f.price > bid.price) violations.push(`${showFill(f)}: above the bid's maximum ${bid.price}`);
    if (f.price < offer.price) violations.push(`${showFill(f)}: below the offer's ask ${offer.price}`);
    const resting = bid.seq < offer.seq ? bid.price : offer.price;
    if (f.price !== resting)
      violations.push(`${showFill(f)}: trade price is not the lower seq's (${resting})`);
  }

  // no offer over-allocated
  for (const o of offers) {
    const used = sum(fills.filter((f) => f.offerId === o.id).map((f) => f.gpus));
    if (used > o.free) violations.push(`offer ${o.id}: ${used} GPUs filled, only ${o.free} free`);
  }

  // per bid: not over-filled, one fill per offer, co-location, all-or-nothing
  for (const b of bids) {
    const own = fills.filter((f) => f.bidId === b.id);
    if (own.length === 0) continue;
    const total = sum(own.map((f) => f.gpus));
    if (total > b.remaining) violations.push(`bid ${b.id}: ${total} GPUs filled, only ${b.remaining} wanted`);
    const offerIds = own.map((f) => f.offerId);
    if (new Set(offerIds).size !== offerIds.length)
      violations.push(`bid ${b.id}: several fills from one offer`);
    if (!b.partialAllowed && total !== b.remaining) {
      violations.push(`bid ${b.id}: all-or-nothing filled ${total} of ${b.remaining}`);
    }
    // A later pass may open a site with a smaller minimum (the remainder shrank), so the bound
    // for a site is min(minGpusPerSite, what the bid still wanted when the site first filled).
    let wanted = b.remaining;
    const firstWanted = new Map<string, number>();
    for (const f of own) {
      if (!firstWanted.has(f.siteId)) firstWanted.set(f.siteId, wanted);
      wanted -= f.gpus;
    }
    const lot = b.inference?.gpusPerReplica ?? 1;
    for (const [siteId, wantedThen] of firstWanted) {
      const m = Math.min(b.minGpusPerSite, wantedThen);
      const atSite = sum(own.filter((f) => f.siteId === siteId).map((f) => f.gpus));
      if (atSite < m) violations.push(`bid ${b.id}: ${atSite} GPUs at site ${siteId}, below m = ${m}`);
      // Lots (docs/MATCHING.md): every site gives an inference bid whole replicas.
      if (atSite % lot !== 0)
        violations.push(`bid ${b.id}: ${atSite} GPUs at site ${siteId}, not whole lots of ${lot}`);
    }
  }

  // within each pass, bids come in priority order: a pass ends where priority goes back up
  const order = sortBidsByPriority(bids).map((b) => b.id);
  const positions: number[] = [];
  for (const f of fills) {
    const position = order.indexOf(f.bidId);
    if (positions[positions.length - 1] !== position) positions.push(position);
  }
  const passes = 1 + positions.filter((p, i) => i > 0 && p < (positions[i - 1] ?? -1)).length;
  if (passes > 1 + fills.length) violations.push('more passes than fills');

  return violations;
}
