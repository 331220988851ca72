/**
 * The ask suggested to a provider (docs/STATS.md). Pure. Input: comparable recent
 * offers grouped by ask, each level with how many offers there were and how many were leased
 * within 24 h of being placed.
 *
 * Chance at a price P = share of the comparable offers priced at or below P that were leased
 * within 24 h. The suggestion is the highest observed ask whose chance is at least the target,
 * counted over at least `minSample` offers. Fewer than `minSample` comparable offers in all:
 * insufficient data, no suggestion.
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
      /** Empirical chance of a lease within 24 h at the suggested ask. */
      chance: number;
      /** Offers at or below the suggested ask the chance is computed from. */
      sampleSize: number;
      /** False when no ask reached the target: the suggestion is then the ask with the best chance. */
      meetsTarget: boolean;
    };

export function suggestAsk(levels: readonly PriceOutcomeLevel[], rule: SuggestionRule): PriceSuggestion {
  const sorted = [...levels].filter((l) => l.offers > 0).sort((a, b) => (a.price < b.price ? -1 : 1));
  const total = sorted.reduce((n, l) => n + l.offers, 0);
  if (total < rule.minSample) return { insufficientData: true, sampleSize: total };
  let offers = 0;
  let leased = 0;
  let meeting: { price: bigint; chance: number; sample: number } | undefined;
  let best: { price: bigint; chance: number; sample: number } | undefined;
  for (const level of sorted) {
    offers += level.offers;
    leased += level.leased;
    if (offers < rule.minSample) continue;
    const chance = leased / offers;
    const here = { price: level.price, chance, sample: offers };
    if (chance >= rule.target) meeting = here;
    // Ties go to the higher ask: same chance, more money.
    if (best === undefined || chance >= best.chance) best = here;
  }
  // total >= minSample, so the loop reached minSample and `best` is set.
  const pick = meeting ?? best;
  if (pick === undefined) return { insufficientData: true, sampleSize: total };
  return {
    insufficientData: false,
    suggestedAsk: pick.price,
    chance: Math.round(pick.chance * 10_000) / 10_000,
    sampleSize: pick.sample,
    meetsTarget: meeting !== undefined,
  };
}
