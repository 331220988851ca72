import type { BookOffer } from './book';
import { allocate } from './allocate';
import {
  BEIJING,
  bid,
  demandInReplicas,
  GUANGDONG,
  GUIZHOU,
  HOUR,
  NOW,
  offer,
  servesInReplicas,
} from '../../../../test/matching/book-fixtures';

function taken(offers: readonly BookOffer[], terms: Parameters<typeof allocate>[0]) {
  return allocate(terms, offers, NOW).allocations.map(({ offerId, gpus }) => [offerId, gpus]);
}

// MODEL, TTFT_SLO, THROUGHPUT and TAKE_OR_PAY concern inference bids only: none below is one.
const NONE = {
  MODEL: 0,
  TTFT_SLO: 0,
  THROUGHPUT: 0,
  TAKE_OR_PAY: 0,
  PRICE: 0,
  PROVINCE: 0,
  RELIABILITY: 0,
  WINDOW: 0,
  MIN_LEASE: 0,
  CO_LOCATION: 0,
};

describe('allocate', () => {
  it('walks offers cheapest first, then by seq, whatever the input order', () => {
    const offers = [
      offer({ id: 'O3', siteId: 'S3', price: 1900n, free: 4, seq: 1n }),
      offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 4, seq: 3n }),
      offer({ id: 'O1', siteId: 'S1', price: 1800n, free: 4, seq: 2n }),
    ];
    const result = allocate(bid({ id: 'B', price: 2000n, remaining: 10, seq: 9n }), offers, NOW);
    expect(result.allocations).toEqual([
      { offerId: 'O1', siteId: 'S1', province: GUANGDONG, ask: 1800n, gpus: 4 },
      { offerId: 'O2', siteId: 'S2', province: GUANGDONG, ask: 1800n, gpus: 4 },
      { offerId: 'O3', siteId: 'S3', province: GUANGDONG, ask: 1900n, gpus: 2 },
    ]);
    expect(result.gpus).toBe(10);
  });

  it('allocates what there is and leaves all-or-nothing to the run', () => {
    const offers = [offer({ id: 'O1', siteId: 'S1', price: 1800n, free: 3, seq: 1n })];
    const result = allocate(
      bid({ id: 'B', price: 2000n, remaining: 8, partialAllowed: false, seq: 9n }),
      offers,
      NOW,
    );
    expect(result.gpus).toBe(3);
  });

  it('allocates nothing to a bid that cannot trade at all', () => {
    const offers = [offer({ id: 'O1', siteId: 'S1', price: 1800n, free: 8, seq: 1n })];
    const base = bid({ id: 'B', price: 2000n, remaining: 4, seq: 9n });
    for (const terms of [
      { ...base, verified: false },
      { ...base, expiresAt: NOW },
      { ...base, remaining: 0 },
      { ...base, remaining: -1 },
    ]) {
      const result = allocate(terms, offers, NOW);
      expect(result).toEqual({
        allocations: [],
        gpus: 0,
        excluded: NONE,
        excludedOffers: NONE,
        cheapestExcluded: null,
      });
    }
  });

  it('skips offers with no free GPUs', () => {
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 0, seq: 1n }),
      offer({ id: 'O2', siteId: 'S1', price: 1800n, free: 4, seq: 2n }),
    ];
    expect(taken(offers, bid({ id: 'B', price: 2000n, remaining: 4, minGpusPerSite: 4, seq: 9n }))).toEqual([
      ['O2', 4],
    ]);
  });

  describe('co-location', () => {
    it('takes more from the opening offer once the site minimum is met', () => {
      const offers = [
        offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 10, seq: 1n }),
        offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 10, seq: 2n }),
      ];
      expect(taken(offers, bid({ id: 'B', price: 2000n, remaining: 8, minGpusPerSite: 4, seq: 9n }))).toEqual(
        [['O1', 8]],
      );
    });

    it('opens a site with a worse-priced offer there before a better one elsewhere', () => {
      const offers = [
        offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 2, seq: 1n }),
        offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 8, seq: 2n }),
        offer({ id: 'O3', siteId: 'S1', price: 1900n, free: 5, seq: 3n }),
      ];
      const result = allocate(
        bid({ id: 'B', price: 2000n, remaining: 6, minGpusPerSite: 4, seq: 9n }),
        offers,
        NOW,
      );
      // S1 opens with 2 from O1 and 2 from O3; need 2 < 4 shuts S2; O3 then gives 2 more.
      expect(result.allocations.map((a) => [a.offerId, a.gpus])).toEqual([
        ['O1', 2],
        ['O3', 4],
      ]);
      expect(result.excluded).toEqual({ ...NONE, CO_LOCATION: 8 });
      expect(result.cheapestExcluded).toEqual({ price: 1800n, province: GUANGDONG });
    });

    it('opens every site it can reach while need allows', () => {
      const offers = [
        offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 5, seq: 1n }),
        offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 5, seq: 2n }),
        offer({ id: 'O3', siteId: 'S3', price: 1900n, free: 5, seq: 3n }),
      ];
      expect(
        taken(offers, bid({ id: 'B', price: 2000n, remaining: 12, minGpusPerSite: 3, seq: 9n })),
      ).toEqual([
        ['O1', 5],
        ['O2', 5],
      ]);
      expect(
        taken(offers, bid({ id: 'B', price: 2000n, remaining: 13, minGpusPerSite: 3, seq: 9n })),
      ).toEqual([
        ['O1', 5],
        ['O2', 5],
        ['O3', 3],
      ]);
    });

    it("counts only the bid's eligible offers towards a site's supply", () => {
      const offers = [
        offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 2, seq: 1n }),
        offer({ id: 'O2', siteId: 'S1', price: 2100n, free: 8, seq: 2n }),
        offer({ id: 'O3', siteId: 'S1', price: 1750n, free: 8, minLeaseHours: 48, seq: 3n }),
        offer({ id: 'O4', siteId: 'S1', price: 1760n, free: 8, verified: false, seq: 4n }),
        offer({ id: 'O5', siteId: 'S1', price: 1770n, free: 8, organisationId: 'org-B', seq: 5n }),
        offer({ id: 'O6', siteId: 'S1', price: 1780n, free: 8, availableFrom: NOW + HOUR, seq: 6n }),
        offer({ id: 'O7', siteId: 'S2', price: 1900n, free: 4, seq: 7n }),
      ];
      const result = allocate(
        bid({ id: 'B', price: 2000n, remaining: 4, minGpusPerSite: 4, seq: 9n }),
        offers,
        NOW,
      );
      expect(result.allocations.map((a) => [a.offerId, a.gpus])).toEqual([['O7', 4]]);
      expect(result.excluded).toEqual({ ...NONE, PRICE: 8, WINDOW: 8, MIN_LEASE: 8, CO_LOCATION: 2 });
      expect(result.cheapestExcluded).toEqual({ price: 1700n, province: GUANGDONG });
    });

    it('lowers the site minimum to what the bid still wants', () => {
      const offers = [offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 2, seq: 1n })];
      expect(taken(offers, bid({ id: 'B', price: 2000n, remaining: 2, minGpusPerSite: 4, seq: 9n }))).toEqual(
        [['O1', 2]],
      );
    });

    it('is a greedy walk, not an optimiser', () => {
      // A bid of 10 at 4 per site: S1 gives its 8 whole, then no site can open for the last 2.
      const offers = [
        offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 8, seq: 1n }),
        offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 6, seq: 2n }),
      ];
      const result = allocate(
        bid({ id: 'B', price: 2000n, remaining: 10, minGpusPerSite: 4, seq: 9n }),
        offers,
        NOW,
      );
      expect(result.allocations.map((a) => [a.offerId, a.gpus])).toEqual([['O1', 8]]);
      expect(result.excluded).toEqual({ ...NONE, CO_LOCATION: 6 });
    });
  });

  describe('diagnostics', () => {
    it('counts each offer once, under its first broken rule', () => {
      const offers = [
        // Too expensive and elsewhere: PRICE comes first.
        offer({ id: 'O1', siteId: 'S1', province: BEIJING, price: 2100n, free: 1, seq: 1n }),
        offer({
          id: 'O2',
          siteId: 'S2',
          province: BEIJING,
          price: 1500n,
          free: 2,
          minLeaseHours: 48,
          seq: 2n,
        }),
        offer({
          id: 'O3',
          siteId: 'S3',
          price: 1600n,
          free: 4,
          availableUntil: NOW + HOUR,
          minLeaseHours: 48,
          seq: 3n,
        }),
        offer({ id: 'O4', siteId: 'S4', price: 1650n, free: 8, minLeaseHours: 48, seq: 4n }),
        offer({ id: 'O5', siteId: 'S5', price: 1900n, free: 16, seq: 5n }),
      ];
      const result = allocate(
        bid({ id: 'B', price: 2000n, remaining: 4, provinces: [GUANGDONG, GUIZHOU], seq: 9n }),
        offers,
        NOW,
      );
      expect(result.allocations.map((a) => a.offerId)).toEqual(['O5']);
      expect(result.excluded).toEqual({ ...NONE, PRICE: 1, PROVINCE: 2, WINDOW: 4, MIN_LEASE: 8 });
      expect(result.cheapestExcluded).toEqual({ price: 1500n, province: BEIJING });
    });

    it('leaves out offers the bid cannot see, and offers it did not need', () => {
      const offers = [
        offer({ id: 'O1', siteId: 'S1', price: 1500n, free: 8, verified: false, seq: 1n }),
        offer({ id: 'O2', siteId: 'S2', price: 1500n, free: 8, organisationId: 'org-B', seq: 2n }),
        offer({ id: 'O3', siteId: 'S3', price: 2100n, free: 0, seq: 3n }),
        offer({ id: 'O4', siteId: 'S4', price: 1800n, free: 8, seq: 4n }),
        offer({ id: 'O5', siteId: 'S5', price: 1900n, free: 8, seq: 5n }),
      ];
      const result = allocate(
        bid({ id: 'B', price: 2000n, remaining: 4, minGpusPerSite: 4, seq: 9n }),
        offers,
        NOW,
      );
      expect(result.allocations.map((a) => [a.offerId, a.gpus])).toEqual([['O4', 4]]);
      expect(result.excluded).toEqual(NONE);
      expect(result.cheapestExcluded).toBeNull();
    });

    it('breaks a price tie between excluded offers by seq', () => {
      const offers = [
        offer({ id: 'O1', siteId: 'S1', province: GUIZHOU, price: 2100n, free: 1, seq: 5n }),
        offer({ id: 'O2', siteId: 'S2', province: BEIJING, price: 2100n, free: 1, seq: 4n }),
      ];
      const result = allocate(bid({ id: 'B', price: 2000n, remaining: 4, seq: 9n }), offers, NOW);
      expect(result.cheapestExcluded).toEqual({ price: 2100n, province: BEIJING });
    });
  });

  it('does not modify its inputs', () => {
    const offers = [
      offer({ id: 'O2', siteId: 'S1', price: 1900n, free: 3, seq: 2n }),
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 2, seq: 1n }),
    ];
    const terms = bid({ id: 'B', price: 2000n, remaining: 4, minGpusPerSite: 4, seq: 9n });
    const before = structuredClone({ offers, terms });
    allocate(terms, offers, NOW);
    expect({ offers, terms }).toEqual(before);
  });

  describe('lots (docs/MATCHING.md "Lots")', () => {
    const serving = servesInReplicas(4);
    const lotBid = (remaining: number, minGpusPerSite = 4) =>
      bid({
        id: 'B',
        price: 2000n,
        remaining,
        minGpusPerSite,
        partialAllowed: true,
        seq: 9n,
        inference: demandInReplicas(remaining, 4),
      });

    it('completes a lot an offer leaves part-taken from the next-best offer at its site', () => {
      const offers = [
        offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 6, seq: 1n, serving }),
        offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 8, seq: 2n, serving }),
        offer({ id: 'O3', siteId: 'S1', price: 1900n, free: 2, seq: 3n, serving }),
      ];
      expect(taken(offers, lotBid(8))).toEqual([
        ['O1', 6],
        ['O3', 2],
      ]);
    });

    it('gives back a part lot no offer at its site can complete, and takes the lot elsewhere', () => {
      const offers = [
        offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 6, seq: 1n, serving }),
        offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 8, seq: 2n, serving }),
      ];
      expect(taken(offers, lotBid(8))).toEqual([
        ['O1', 4],
        ['O2', 4],
      ]);
    });

    it('excludes a site holding less than a lot, whatever the site minimum', () => {
      const offers = [
        offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 3, seq: 1n, serving }),
        offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 5, seq: 2n, serving }),
      ];
      const result = allocate(lotBid(8, 1), offers, NOW);
      expect(result.allocations.map((a) => [a.offerId, a.gpus])).toEqual([['O2', 4]]);
      expect(result.excluded).toEqual({ ...NONE, CO_LOCATION: 3 });
    });

    it('takes only whole lots of a remaining that is not whole lots', () => {
      const offers = [offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 16, seq: 1n, serving })];
      expect(taken(offers, { ...lotBid(8), remaining: 7 })).toEqual([['O1', 4]]);
    });
  });
});
