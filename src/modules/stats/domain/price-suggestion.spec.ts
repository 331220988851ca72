import { prng } from '../../../../test/support/prng';
import { DEFAULT_SUGGESTION_RULE, suggestAsk, type PriceOutcomeLevel } from './price-suggestion';

interface SimulatedOffer {
  price: bigint;
  leased: boolean;
}

// Asks 10.00..30.00 in steps of 0.50 (41 levels); true 24 h lease chance falls linearly from
// 1.0 at 10.00 to 0.2 at 30.00: p(price) = 1 - 0.8 x (price - 10) / 20.
function history(count: number, random: () => number): SimulatedOffer[] {
  return Array.from({ length: count }, () => {
    const step = Math.floor(random() * 41);
    const chance = 1 - (0.8 * step) / 40;
    return { price: BigInt(1000 + step * 50), leased: random() < chance };
  });
}

function levels(offers: readonly SimulatedOffer[]): PriceOutcomeLevel[] {
  const byPrice = new Map<bigint, PriceOutcomeLevel>();
  for (const o of offers) {
    const level = byPrice.get(o.price) ?? { price: o.price, offers: 0, leased: 0 };
    level.offers += 1;
    level.leased += o.leased ? 1 : 0;
    byPrice.set(o.price, level);
  }
  return [...byPrice.values()];
}

/** Offers in the held-out set priced within `band` of `price`: how many, and the share leased. */
function observedNear(offers: readonly SimulatedOffer[], price: bigint, band: bigint) {
  const near = offers.filter((o) => o.price >= price - band && o.price <= price + band);
  return { n: near.length, share: near.filter((o) => o.leased).length / near.length };
}

describe('price suggestion', () => {
  it('states the chance at the ask, from a fit that falls with price, not the share at or below it', () => {
    // By ask: 10.00: 9/10, 12.00: 8/10, 14.00: 4/10, 16.00: 1/10. Bins of 20: [10.00, 12.00] 17/20
    // = 0.85 and [14.00, 16.00] 5/20 = 0.25; the middle ask of the first is 10.00. (Cumulatively,
    // 12.00 would claim 0.85 while offers there leased 0.8.)
    const rule = { target: 0.8, minSample: 20 };
    expect(
      suggestAsk(
        [
          { price: 1400n, offers: 10, leased: 4 },
          { price: 1000n, offers: 10, leased: 9 },
          { price: 1600n, offers: 10, leased: 1 },
          { price: 1200n, offers: 10, leased: 8 },
        ],
        rule,
      ),
    ).toEqual({
      insufficientData: false,
      suggestedAsk: 1000n,
      chance: 0.85,
      sampleSize: 20,
      meetsTarget: true,
    });
  });

  it('pools bins that lease more often at a higher ask (pool-adjacent-violators)', () => {
    // Bins 10.00: 16/20, 11.00: 18/20, 12.00: 10/20. 11.00 beats 10.00, so both share 34/40 =
    // 0.85, stated at the pooled block's middle ask (10.00: 20 of its 40 offers at or below).
    expect(
      suggestAsk(
        [
          { price: 1000n, offers: 20, leased: 16 },
          { price: 1100n, offers: 20, leased: 18 },
          { price: 1200n, offers: 20, leased: 10 },
        ],
        DEFAULT_SUGGESTION_RULE,
      ),
    ).toEqual({
      insufficientData: false,
      suggestedAsk: 1000n,
      chance: 0.85,
      sampleSize: 40,
      meetsTarget: true,
    });
  });

  it('needs minSample offers in all and behind the chance', () => {
    expect(suggestAsk([{ price: 1000n, offers: 19, leased: 19 }], DEFAULT_SUGGESTION_RULE)).toEqual({
      insufficientData: true,
      sampleSize: 19,
    });
    // A short last bin (10 offers at 12.00, all leased) cannot carry a chance alone; leasing more
    // often than the bin before it, it is pooled with it: 26/30.
    expect(
      suggestAsk(
        [
          { price: 1000n, offers: 20, leased: 16 },
          { price: 1200n, offers: 10, leased: 10 },
        ],
        DEFAULT_SUGGESTION_RULE,
      ),
    ).toMatchObject({ suggestedAsk: 1000n, chance: 0.8667, sampleSize: 30 });
    // ... and a short last bin that stays alone states nothing, however well it leased.
    expect(
      suggestAsk(
        [
          { price: 1000n, offers: 20, leased: 10 },
          { price: 1200n, offers: 10, leased: 1 },
        ],
        DEFAULT_SUGGESTION_RULE,
      ),
    ).toMatchObject({ suggestedAsk: 1000n, chance: 0.5, sampleSize: 20, meetsTarget: false });
  });

  it('falls back to the ask with the best chance when none meets the target', () => {
    expect(
      suggestAsk(
        [
          { price: 1000n, offers: 20, leased: 10 },
          { price: 1100n, offers: 20, leased: 4 },
        ],
        DEFAULT_SUGGESTION_RULE,
      ),
    ).toEqual({
      insufficientData: false,
      suggestedAsk: 1000n,
      chance: 0.5,
      sampleSize: 20,
      meetsTarget: false,
    });
  });

  it('backtest: the stated chance is what held-out offers priced at the suggestion realise', () => {
    // The true chance is 0.8 at 15.00. A held-out set ten times the training set measures what
    // offers priced within 0.50 of the suggestion realise (3 asks, ~1,460 offers): with a linear
    // truth that band's share is the chance at its centre.
    const band = 50n;
    const gaps: number[] = [];
    const misses: Array<{ seed: number; stated: number; observed: number }> = [];
    for (let seed = 20_261_201; seed < 20_261_201 + 40; seed += 1) {
      const random = prng(seed);
      const training = history(2_000, random);
      const heldOut = history(20_000, random);
      const suggestion = suggestAsk(levels(training), DEFAULT_SUGGESTION_RULE);
      if (suggestion.insufficientData) throw new Error('expected a suggestion');
      expect(suggestion.meetsTarget).toBe(true);
      const observed = observedNear(heldOut, suggestion.suggestedAsk, band);
      expect(observed.n).toBeGreaterThan(1_000);
      // Three standard errors of the difference: the stated chance rests on `sampleSize` training
      // offers, the observed share on `n` held-out ones.
      const c = suggestion.chance;
      const tolerance =
        3 *
        Math.sqrt(
          (c * (1 - c)) / suggestion.sampleSize + (observed.share * (1 - observed.share)) / observed.n,
        );
      if (Math.abs(c - observed.share) > tolerance)
        misses.push({ seed, stated: c, observed: observed.share });
      gaps.push(c - observed.share);
    }
    // Over 40 runs the mean gap is an overstatement, if any: its standard error is ~0.006
    // (per-run ~0.04 / sqrt(40)), and choosing the dearest block that reaches the target adds a
    // little (~0.015 measured over 200 seeds). A cumulative share overstates by ~0.2.
    expect(misses).toEqual([]);
    const meanGap = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(Math.abs(meanGap)).toBeLessThanOrEqual(0.035);
  });
});
