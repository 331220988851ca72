import { prng } from '../../../shared/prng';
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

describe('price suggestion', () => {
  it('is the highest ask whose share of leased offers at or below it meets the target', () => {
    // Cumulative: <=10.00: 9/10; <=12.00: 17/20 = 0.85; <=14.00: 21/30 = 0.7.
    const rule = { target: 0.8, minSample: 20 };
    expect(
      suggestAsk(
        [
          { price: 1400n, offers: 10, leased: 4 },
          { price: 1000n, offers: 10, leased: 9 },
          { price: 1200n, offers: 10, leased: 8 },
        ],
        rule,
      ),
    ).toEqual({
      insufficientData: false,
      suggestedAsk: 1200n,
      chance: 0.85,
      sampleSize: 20,
      meetsTarget: true,
    });
  });

  it('needs minSample offers in all and behind the chance', () => {
    expect(suggestAsk([{ price: 1000n, offers: 19, leased: 19 }], DEFAULT_SUGGESTION_RULE)).toEqual({
      insufficientData: true,
      sampleSize: 19,
    });
    // 10 cheap offers all leased cannot carry a chance alone: the first level with 20 behind it is 12.00.
    expect(
      suggestAsk(
        [
          { price: 1000n, offers: 10, leased: 10 },
          { price: 1200n, offers: 10, leased: 7 },
        ],
        DEFAULT_SUGGESTION_RULE,
      ),
    ).toMatchObject({ suggestedAsk: 1200n, chance: 0.85, sampleSize: 20 });
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

  it('backtest: the stated chance matches the realised share on held-out offers within 0.04', () => {
    const random = prng(20_261_201);
    const training = history(2_000, random);
    const heldOut = history(2_000, random);
    const suggestion = suggestAsk(levels(training), DEFAULT_SUGGESTION_RULE);
    if (suggestion.insufficientData) throw new Error('expected a suggestion');
    // Cumulative chance up to P is 1 - 0.4 x (P - 10) / 20, which is 0.8 at P = 20.00.
    expect(suggestion.meetsTarget).toBe(true);
    expect(Number(suggestion.suggestedAsk)).toBeGreaterThanOrEqual(1850);
    expect(Number(suggestion.suggestedAsk)).toBeLessThanOrEqual(2150);
    const atOrBelow = heldOut.filter((o) => o.price <= suggestion.suggestedAsk);
    const realised = atOrBelow.filter((o) => o.leased).length / atOrBelow.length;
    // ~1,000 held-out offers: one standard deviation of the share is ~0.013; 0.04 is three.
    expect(atOrBelow.length).toBeGreaterThan(800);
    expect(Math.abs(realised - suggestion.chance)).toBeLessThanOrEqual(0.04);
    expect(suggestion.chance).toBeGreaterThanOrEqual(0.8);
  });
});
