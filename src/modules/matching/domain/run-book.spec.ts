import { bid, bookHeader, HOUR, NOW, offer } from '../../../../test/matching/book-fixtures';
import { matchMarket } from './match-market';
import type { Fill } from './book';
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
  return { ...bookHeader(), epoch: 7n, bids, offers };
}

/** `leasesOf` over a book of arrays, at the book's fee (the worker's MarketBook answers by id). */
function leasesFrom(market: RunBook, fills: readonly Fill[], now: number, provisioningMs: number) {
  const bids = new Map(market.bids.map((b) => [b.id, b]));
  const offers = new Map(market.offers.map((o) => [o.id, o]));
  const orders = { bid: (id: string) => bids.get(id), offer: (id: string) => offers.get(id) };
  return leasesOf(orders, market.feeBps, fills, now, provisioningMs);
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

    const leases = leasesFrom(market, run.fills, NOW, HOUR / 4);

    const common = {
      bidId: 'B1',
      buyerOrganisationId: 'org-B1',
      siteId: 'S1',
      durationHours: 48,
      billingMode: 'PAY_PER_USE',
      feeBps: 300,
      provisioningDeadline: NOW + HOUR / 4,
      inference: null,
      // No idle windows: the leases start at the match and cannot be reclaimed.
      startsAt: null,
      reclaimable: false,
    };
    expect(leases).toEqual([
      {
        ...common,
        offerId: 'O1',
        providerOrganisationId: 'org-O1',
        gpus: 2,
        pricePerGpuHour: 1700n,
        providerAskPerGpuHour: 1700n,
        payPerUseMinPercent: 30,
      },
      {
        ...common,
        offerId: 'O2',
        providerOrganisationId: 'org-O2',
        gpus: 2,
        pricePerGpuHour: 1900n,
        providerAskPerGpuHour: 1900n,
        payPerUseMinPercent: 10,
      },
    ]);
  });

  it('adds fills of one pair into one lease, and refuses a fill outside the book', () => {
    const b1 = runBid({ id: 'B1', price: 2000n, remaining: 6, seq: 2n });
    const o1 = runOffer({ id: 'O1', siteId: 'S1', price: 1800n, free: 8, seq: 1n });
    const market = book([b1], [o1]);
    const fill = { bidId: 'B1', offerId: 'O1', siteId: 'S1', price: 1800n };
    const leases = leasesFrom(
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
    expect(() => leasesFrom(market, [{ ...fill, offerId: 'O9', gpus: 1 }], NOW, HOUR)).toThrow(
      /outside the book/,
    );
  });

  it("keeps the offer's own ask beside the trade price when the bid rested first (docs/MATCHING.md)", () => {
    const b1 = runBid({ id: 'B1', price: 3000n, remaining: 2, seq: 1n });
    const o1 = runOffer({ id: 'O1', siteId: 'S1', price: 2400n, free: 2, seq: 2n });
    const market = book([b1], [o1]);
    const leases = leasesFrom(market, matchMarket(market.bids, market.offers, NOW).fills, NOW, HOUR);
    expect(leases).toEqual([
      expect.objectContaining({ gpus: 2, pricePerGpuHour: 3000n, providerAskPerGpuHour: 2400n }),
    ]);
  });

  it("carries an inference bid's terms to each lease: its price per million tokens and throughput share", () => {
    // 2,000 + 2,000 tokens/s (14.4 M an hour) sized into 6 GPUs; the fast offer sizes it into 3,
    // the slow one into 6, and one offer serves nothing (docs/INFERENCE.md "Inference bids").
    const fast = {
      promptTokensPerSecondPerGpu: 3000,
      outputTokensPerSecondPerGpu: 1000,
      ttftP50Ms: 60,
      ttftP95Ms: 100,
      gpusPerReplica: 1,
    };
    const slow = { ...fast, promptTokensPerSecondPerGpu: 1500, outputTokensPerSecondPerGpu: 500 };
    const inference = {
      modelId: 'q',
      outputTokensPerSecond: 2000,
      promptTokensPerSecond: 2000,
      ttftP95Ms: 300,
      sizedGpus: 6,
      takeOrPayPercent: 50,
    };
    const b1 = runBid({ id: 'B1', price: 3360n, remaining: 6, seq: 9n, inference });
    const none = runOffer({ id: 'O0', siteId: 'S0', price: 1000n, free: 8, seq: 1n });
    const o1 = runOffer({ id: 'O1', siteId: 'S1', price: 3000n, free: 2, seq: 2n, serving: { q: fast } });
    const o2 = runOffer({ id: 'O2', siteId: 'S2', price: 3200n, free: 4, seq: 3n, serving: { q: slow } });
    const market = book([b1], [none, o1, o2]);
    const run = matchMarket(market.bids, market.offers, NOW);
    const leases = leasesFrom(market, run.fills, NOW, HOUR);
    expect(
      leases.map((lease) => [lease.offerId, lease.gpus, lease.pricePerGpuHour, lease.inference]),
    ).toEqual([
      // 30.00 x 6 x 1 M / 14.4 M = 12.50 per million; 2/6 of 2,000 tokens/s = 666.
      [
        'O1',
        2,
        3000n,
        {
          modelId: 'q',
          pricePerMillionTokens: 1250n,
          outputTokensPerSecond: 666,
          promptTokensPerSecond: 666,
          takeOrPayPercent: 50,
        },
      ],
      // 32.00 x 6 x 1 M / 14.4 M = 13.33; 4/6 of 2,000 = 1,333.
      [
        'O2',
        4,
        3200n,
        {
          modelId: 'q',
          pricePerMillionTokens: 1333n,
          outputTokensPerSecond: 1333,
          promptTokensPerSecond: 1333,
          takeOrPayPercent: 50,
        },
      ],
    ]);
    // A bid's own take-or-pay share goes onto each of its leases; at least the offers' 25% floor.
    const picky = { ...b1, inference: { ...inference, takeOrPayPercent: 25 } };
    const own = book([picky], [none, o1, o2]);
    expect(
      leasesFrom(own, matchMarket(own.bids, own.offers, NOW).fills, NOW, HOUR).map(
        (lease) => lease.inference?.takeOrPayPercent,
      ),
    ).toEqual([25, 25]);
    // Below the floor, neither offer is eligible (rule 4, TAKE_OR_PAY).
    const below = { ...b1, inference: { ...inference, takeOrPayPercent: 24 } };
    expect(matchMarket([below], market.offers, NOW).fills).toEqual([]);
    // The same book in GPU terms would have taken the cheap offer that serves nothing.
    const gpuBid = runBid({ id: 'B2', price: 3360n, remaining: 6, seq: 9n });
    expect(matchMarket([gpuBid], market.offers, NOW).fills.map((fill) => fill.offerId)).toEqual(['O0']);
  });
});
