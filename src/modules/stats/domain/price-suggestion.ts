/**
 * The ask suggested to a provider, pure: isotonic fit of the chance of leasing per ask
 * (docs/STATS.md "Price suggestion").
 */

export interface PriceOutcomeLevel {
  price: bigint;
  offers: number;
  leased: number;
}

export interface SuggestionRule {
  /** Lease chance the suggestion must reach, 0..1. */
  target: number;
  /** Fewest comparable offers a chance may be computed from. */
  minSample: number;
}

export const DEFAULT_SUGGESTION_RULE: SuggestionRule = { target: 0.8, minSample: 20 };

export type PriceSuggestion =
  | { insufficientData: true; sampleSize: number }
  | {
      insufficientData: false;
      suggestedAsk: bigint;
      /** Fitted chance of a lease within 24 h for an offer at the suggested ask. */
      chance: number;
      /** Offers the chance is pooled from: the suggestion's bin and any the fit merged with it. */
      sampleSize: number;
      /** False when no ask reached the target: the suggestion is then the ask with the best chance. */
      meetsTarget: boolean;
    };

interface Bin {
  levels: PriceOutcomeLevel[];
  offers: number;
  leased: number;
}

interface Block {
  offers: number;
  leased: number;
  levels: PriceOutcomeLevel[];
}

/** Adjacent asks pooled until each bin holds `minSample` offers; a short last bin stays alone. */
function binsOf(sorted: readonly PriceOutcomeLevel[], minSample: number): Bin[] {
  const bins: Bin[] = [];
  let current: Bin = { levels: [], offers: 0, leased: 0 };
  for (const level of sorted) {
    current.levels.push(level);
    current.offers += level.offers;
    current.leased += level.leased;
    if (current.offers >= minSample) {
      bins.push(current);
      current = { levels: [], offers: 0, leased: 0 };
    }
  }
  if (current.offers > 0) bins.push(current);
  return bins;
}

/** Pool-adjacent-violators, non-increasing in price: blocks of bins sharing one fitted chance. */
function decreasingFit(bins: readonly Bin[]): Block[] {
  const blocks: Block[] = [];
  for (const bin of bins) {
    let block: Block = { offers: bin.offers, leased: bin.leased, levels: bin.levels };
    // A cheaper block leasing less often than a dearer one violates the order: pool them.
    for (
      let prev = blocks.at(-1);
      prev !== undefined && prev.leased * block.offers < block.leased * prev.offers;
      prev = blocks.at(-1)
    ) {
      blocks.pop();
      block = {
        offers: prev.offers + block.offers,
        leased: prev.leased + block.leased,
        levels: [...prev.levels, ...block.levels],
      };
    }
    blocks.push(block);
  }
  return blocks;
}

/**
 * The ask at which half of a block's offers are priced at or below. The block's pooled share is
 * its chance there, not at its dearest ask, where the true chance is lower.
 */
function middleAsk(block: Block): bigint {
  let seen = 0;
  for (const level of block.levels) {
    seen += level.offers;
    if (2 * seen >= block.offers) return level.price;
  }
  throw new Error('a block holds offers');
}

export function suggestAsk(levels: readonly PriceOutcomeLevel[], rule: SuggestionRule): PriceSuggestion {
  const sorted = [...levels].filter((l) => l.offers > 0).sort((a, b) => (a.price < b.price ? -1 : 1));
  const total = sorted.reduce((n, l) => n + l.offers, 0);
  if (total < rule.minSample) return { insufficientData: true, sampleSize: total };
  let meeting: Block | undefined;
  let best: Block | undefined;
  for (const block of decreasingFit(binsOf(sorted, rule.minSample))) {
    // A short last bin the fit left alone holds too few offers to state a chance from.
    if (block.offers < rule.minSample) continue;
    const chance = block.leased / block.offers;
    if (chance >= rule.target) meeting = block;
    // Ties go to the higher ask: same chance, more money.
    if (best === undefined || chance >= best.leased / best.offers) best = block;
  }
  const pick = meeting ?? best;
  // total >= minSample, so the first bin holds minSample offers and `best` is set.
  if (pick === undefined) return { insufficientData: true, sampleSize: total };
  return {
    insufficientData: false,
    suggestedAsk: middleAsk(pick),
    chance: Math.round((pick.leased / pick.offers) * 10_000) / 10_000,
    sampleSize: pick.offers,
    meetsTarget: meeting !== undefined,
  };
}
