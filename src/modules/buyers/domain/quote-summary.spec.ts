import type { Quote } from '@/modules/matching/domain/quote';
import { summariseQuote } from './quote-summary';

/** A supply line of offers without idle windows. */
const ALWAYS = { nextOpensAt: null, closesAt: null };

const quote = (overrides: Partial<Quote>): Quote => ({
  fillableGpus: 0,
  availableGpus: 0,
  vwap: null,
  sites: [],
  excluded: [],
  cheapestExcluded: null,
  ...overrides,
});

describe('summariseQuote', () => {
  it('says when everything fills, at what price and where', () => {
    const text = summariseQuote(
      quote({
        fillableGpus: 8,
        vwap: 1820n,
        sites: [{ siteId: 's', province: '520000', gpus: 8, window: ALWAYS }],
      }),
      8,
      'CNY',
      2,
    );
    expect(text).toBe('All 8 GPUs fillable now at 18.20 CNY/GPU-h across 1 site.');
  });

  it('names the constraints and the cheapest excluded offer for a partial or empty quote', () => {
    const partial = summariseQuote(
      quote({
        fillableGpus: 4,
        vwap: 1800n,
        sites: [{ siteId: 'a', province: '520000', gpus: 4, window: ALWAYS }],
        excluded: [{ constraint: 'PROVINCE', gpus: 8, offers: 1 }],
        cheapestExcluded: { price: 1750n, province: '110000' },
      }),
      6,
      'CNY',
      2,
    );
    expect(partial).toBe(
      '4 of 6 GPUs fillable now at 18.00 CNY/GPU-h across 1 site; more offers exist but not in your provinces; cheapest excluded 17.50 CNY/GPU-h in 110000.',
    );
    const none = summariseQuote(
      quote({
        excluded: [
          { constraint: 'PRICE', gpus: 2, offers: 1 },
          { constraint: 'PROVINCE', gpus: 8, offers: 1 },
        ],
        cheapestExcluded: { price: 1820n, province: '520000' },
      }),
      6,
      'CNY',
      2,
    );
    expect(none).toBe(
      'Nothing fillable now: no offer at or below your price and in your provinces; cheapest excluded 18.20 CNY/GPU-h in 520000.',
    );
    expect(summariseQuote(quote({}), 6, 'CNY', 2)).toBe(
      'Nothing fillable now: no matching offers in this market.',
    );
  });
});
