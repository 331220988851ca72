import { bid, HOUR, NOW, offer } from '../../../../test/matching/book-fixtures';
import { matchMarket } from './match-market';
import { leasesOf, type RunBid, type RunBook, type RunOffer } from './run-book';

const runBid = (
  fields: Parameters<typeof bid>[0],
  billingMode: RunBid['billingMode'] = 'RESERVED',
): RunBid => ({
  ...bid(fields),
  billingMode,
});
const runOffer = (fields: Parameters<typeof offer>[0], payPerUseMinPercent = 25): RunOffer => ({
  ...offer(fields),
  payPerUseMinPercent,
});

function book(bids: RunBid[], offers: RunOffer[]): RunBook {
  return {
    marketId: 'm',
    market: 'nvidia-h100-80gb',
    currency: 'CNY',
    currencyScale: 2,
    paused: false,
    feeBps: 300,
    epoch: 7n,
    bids,
    offers,
  };
}

describe('leasesOf', () => {
  it('turns each fill into a lease with the bid, offer and market terms it copies', () => {
    // docs/MATCHING.md example 10: offers at one site add up.
    const b1 = runBid(
      {
        id: 'B1',
        price: 2000n,
        remaining: 4,
        seq: 4n,
        minGpusPerSite: 4,
        partialAllowed: true,
        durationHours: 48,
      },
      'PAY_PER_USE',
    );
    const o1 = runOffer({ id: 'O1', siteId: 'S1', price: 1700n, free: 2, seq: 1n }, 30);
    const o2 = runOffer({ id: 'O2', siteId: 'S1', price: 1900n, free: 3, seq: 2n }, 10);
    const o3 = runOffer({ id: 'O3', siteId: 'S2', price: 1800n, free: 8, seq: 3n });
    const market = book([b1], [o1, o2, o3]);
    const run = matchMarket(market.bids, market.offers, NOW);

    const leases = leasesOf(market, run.fills, NOW, HOUR / 4);

    const common = {
      bidId: 'B1',
      buyerOrganisationId: 'org-B1',
      siteId: 'S1',
      durationHours: 48,
      billingMode: 'PAY_PER_USE',
      feeBps: 300,
      provisioningDeadline: NOW + HOUR / 4,
    };
    expect(leases).toEqual([
      {
        ...common,
        offerId: 'O1',
        providerOrganisationId: 'org-O1',
        gpus: 2,
        pricePerGpuHour: 1700n,
        payPerUseMinPercent: 30,
      },
      {
        ...common,
        offerId: 'O2',
        providerOrganisationId: 'org-O2',
        gpus: 2,
        pricePerGpuHour: 1900n,
        payPerUseMinPercent: 10,
      },
    ]);
  });

  it('adds fills of one pair into one lease, and refuses a fill outside the book', () => {
    const b1 = runBid({ id: 'B1', price: 2000n, remaining: 6, seq: 2n });
    const o1 = runOffer({ id: 'O1', siteId: 'S1', price: 1800n, free: 8, seq: 1n });
    const market = book([b1], [o1]);
    const fill = { bidId: 'B1', offerId: 'O1', siteId: 'S1', price: 1800n };
    const leases = leasesOf(
      market,
      [
        { ...fill, gpus: 4 },
        { ...fill, gpus: 2 },
      ],
      NOW,
      HOUR,
    );
    expect(leases).toHaveLength(1);
    expect(leases[0]).toMatchObject({ gpus: 6, pricePerGpuHour: 1800n });
    expect(() => leasesOf(market, [{ ...fill, offerId: 'O9', gpus: 1 }], NOW, HOUR)).toThrow(
      /outside the book/,
    );
  });
});
