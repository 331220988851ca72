import type { Quote } from '@/modules/matching/domain/quote';
import { explainResting, restingReason, type RestingContext } from './bid-explanation';

const empty: Quote = {
  fillableGpus: 0,
  availableGpus: 0,
  vwap: null,
  sites: [],
  excluded: [
    { constraint: 'PRICE', gpus: 4, offers: 1 },
    { constraint: 'PROVINCE', gpus: 8, offers: 2 },
  ],
  cheapestExcluded: { price: 1800n, province: '110000' },
};
const some: Quote = { ...empty, fillableGpus: 2, availableGpus: 2, vwap: 1900n };
const short: Quote = { ...empty, availableGpus: 2 };

const ctx: RestingContext = {
  remainingGpus: 6,
  partialAllowed: true,
  expired: false,
  marketPaused: false,
  verified: true,
  matchingMode: 'CALL',
  nextClearingAt: new Date('2026-12-01T00:00:01.000Z'),
};

describe('restingReason', () => {
  it('puts the bid and market state before the supply', () => {
    expect(restingReason(some, { ...ctx, expired: true, marketPaused: true })).toBe('EXPIRY_REACHED');
    expect(restingReason(some, { ...ctx, marketPaused: true, verified: false })).toBe('MARKET_PAUSED');
    expect(restingReason(some, { ...ctx, verified: false })).toBe('ORGANISATION_NOT_VERIFIED');
  });

  it('reads the supply from the quote', () => {
    expect(restingReason(empty, ctx)).toBe('NO_ELIGIBLE_SUPPLY');
    expect(restingReason(short, { ...ctx, partialAllowed: false })).toBe('ALL_OR_NOTHING_SHORT');
    expect(restingReason(some, ctx)).toBe('AWAITING_CLEARING');
    expect(restingReason(some, { ...ctx, matchingMode: 'CONTINUOUS', nextClearingAt: null })).toBe(
      'AWAITING_RUN',
    );
  });
});

describe('explainResting', () => {
  it('names each rule with the GPUs and offers it removed', () => {
    expect(explainResting('NO_ELIGIBLE_SUPPLY', empty, ctx, 'CNY', 2)).toBe(
      'No free supply passes every rule for this bid now. Removed: 4 GPUs in 1 offer ask above your price cap; ' +
        '8 GPUs in 2 offers are outside your provinces; cheapest excluded 18.00 CNY/GPU-h in 110000.',
    );
  });

  it('says when the next clearing considers the eligible supply', () => {
    expect(explainResting('AWAITING_CLEARING', some, ctx, 'CNY', 2)).toMatch(
      /^Eligible supply covers 2 of your 6 remaining GPUs; the next clearing at 2026-12-01T00:00:01\.000Z considers/,
    );
  });
});
