import type { BookBid, BookOffer, Fill } from './book';
import {
  BEIJING,
  bid,
  demandInReplicas,
  GUIZHOU,
  HOUR,
  NOW,
  offer,
  servesInReplicas,
} from '../../../../test/matching/book-fixtures';
import { clearCall } from './call-clearing';
import { loadCallSolver } from './highs-runtime';
import { matchMarket } from './match-market';

// The worked examples of docs/MATCHING.md "Call markets", fills computed by hand. Prices in fen.

function fill(bidId: string, offerId: string, siteId: string, gpus: number, price: bigint): Fill {
  return { bidId, offerId, siteId, gpus, price };
}

function clear(bids: readonly BookBid[], offers: readonly BookOffer[]) {
  return clearCall(bids, offers, NOW);
}

function continuous(bids: readonly BookBid[], offers: readonly BookOffer[]): readonly Fill[] {
  return matchMarket(bids, offers, NOW).fills;
}

const EITHER = [true, false];

beforeAll(async () => {
  await loadCallSolver();
});

describe('docs/MATCHING.md call market worked examples', () => {
  it.each(EITHER)(
    'C1. every bid served where continuous matching strands one (partial: %s)',
    (partialAllowed) => {
      const offers = [
        offer({ id: 'O1', siteId: 'S1', province: BEIJING, price: 1700n, free: 4, seq: 1n }),
        offer({ id: 'O2', siteId: 'S2', province: GUIZHOU, price: 1800n, free: 4, seq: 2n }),
      ];
      const bids = [
        bid({ id: 'B1', price: 2000n, remaining: 4, seq: 3n, partialAllowed }),
        bid({ id: 'B2', price: 2000n, remaining: 4, provinces: [BEIJING], seq: 4n, partialAllowed }),
      ];
      expect(continuous(bids, offers)).toEqual([fill('B1', 'O1', 'S1', 4, 1700n)]);
      const run = clear(bids, offers);
      expect(run.fills).toEqual([fill('B1', 'O2', 'S2', 4, 1800n), fill('B2', 'O1', 'S1', 4, 1700n)]);
      expect(run.bidsFilled).toEqual(
        new Map([
          ['B1', 4],
          ['B2', 4],
        ]),
      );
      expect(run.offersTaken).toEqual(
        new Map([
          ['O2', 4],
          ['O1', 4],
        ]),
      );
    },
  );

  it('C2. a higher bid rests so that more GPUs fill', () => {
    const offers = [offer({ id: 'O1', siteId: 'S1', price: 1800n, free: 6, seq: 1n })];
    const bids = [
      bid({ id: 'B1', price: 2000n, remaining: 4, partialAllowed: false, seq: 2n }),
      bid({ id: 'B2', price: 1900n, remaining: 6, partialAllowed: false, seq: 3n }),
    ];
    expect(continuous(bids, offers)).toEqual([fill('B1', 'O1', 'S1', 4, 1800n)]);
    expect(clear(bids, offers).fills).toEqual([fill('B2', 'O1', 'S1', 6, 1800n)]);
  });

  it.each(EITHER)('C3. longer leases count more (partial: %s)', (partialAllowed) => {
    const offers = [offer({ id: 'O1', siteId: 'S1', price: 1800n, free: 4, seq: 1n })];
    const bids = [
      bid({ id: 'B1', price: 2000n, remaining: 4, durationHours: 1, seq: 2n, partialAllowed }),
      bid({ id: 'B2', price: 1900n, remaining: 4, durationHours: 24, seq: 3n, partialAllowed }),
    ];
    expect(continuous(bids, offers)).toEqual([fill('B1', 'O1', 'S1', 4, 1800n)]);
    expect(clear(bids, offers).fills).toEqual([fill('B2', 'O1', 'S1', 4, 1800n)]);
  });

  it.each(EITHER)('C4. the better bid gets the cheaper offer (partial: %s)', (partialAllowed) => {
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 4, seq: 1n }),
      offer({ id: 'O2', siteId: 'S2', price: 1900n, free: 4, seq: 2n }),
    ];
    const bids = [
      bid({ id: 'B1', price: 1900n, remaining: 4, seq: 3n, partialAllowed }),
      bid({ id: 'B2', price: 2000n, remaining: 4, seq: 4n, partialAllowed }),
    ];
    const expected = [fill('B2', 'O1', 'S1', 4, 1700n), fill('B1', 'O2', 'S2', 4, 1900n)];
    expect(continuous(bids, offers)).toEqual(expected);
    expect(clear(bids, offers).fills).toEqual(expected);
  });

  it('C5. co-location the greedy walk misses', () => {
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 8, seq: 1n }),
      offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 8, seq: 2n }),
    ];
    const bids = [
      bid({ id: 'B1', price: 2000n, remaining: 10, minGpusPerSite: 4, partialAllowed: false, seq: 3n }),
    ];
    expect(continuous(bids, offers)).toEqual([]);
    // 6 from the dearer site (best fit: the cheaper supply stays for bids capped lower).
    expect(clear(bids, offers).fills).toEqual([
      fill('B1', 'O1', 'S1', 4, 1700n),
      fill('B1', 'O2', 'S2', 6, 1800n),
    ]);
  });

  it.each(EITHER)(
    'C10. best fit: the cheaper offer stays for a later bid capped lower (partial: %s)',
    (partialAllowed) => {
      const offers = [
        offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 4, seq: 1n }),
        offer({ id: 'O2', siteId: 'S2', price: 1900n, free: 4, seq: 2n }),
      ];
      const b1 = bid({ id: 'B1', price: 2000n, remaining: 4, seq: 3n, partialAllowed });
      const b2 = bid({ id: 'B2', price: 1800n, remaining: 4, seq: 4n, partialAllowed });
      // B1 arrives alone, B2 in a later window (or run).
      const first = clear([b1], offers);
      expect(first.fills).toEqual([fill('B1', 'O2', 'S2', 4, 1900n)]);
      const left = offers.map((o) => ({ ...o, free: o.free - (first.offersTaken.get(o.id) ?? 0) }));
      expect(
        clear(
          [b2],
          left.filter((o) => o.free > 0),
        ).fills,
      ).toEqual([fill('B2', 'O1', 'S1', 4, 1700n)]);
      // Continuous matching gives B1 the cheapest offer: nothing at or under 18.00 is left for B2.
      const run = continuous([b1], offers);
      expect(run).toEqual([fill('B1', 'O1', 'S1', 4, 1700n)]);
      const after = offers.filter((o) => o.id !== 'O1');
      expect(continuous([b2], after)).toEqual([]);
    },
  );

  it('C6. a remainder below the site minimum completes a partial bid', () => {
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 8, seq: 1n }),
      offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 2, seq: 2n }),
    ];
    const partial = bid({
      id: 'B1',
      price: 2000n,
      remaining: 10,
      minGpusPerSite: 4,
      partialAllowed: true,
      seq: 3n,
    });
    expect(clear([partial], offers).fills).toEqual([
      fill('B1', 'O1', 'S1', 8, 1700n),
      fill('B1', 'O2', 'S2', 2, 1800n),
    ]);
    // All-or-nothing: every site must give 4, so S2 cannot be used and 8 is not 10.
    expect(clear([{ ...partial, partialAllowed: false }], offers).fills).toEqual([]);
  });

  it.each(EITHER)('C7. pay-as-ask, also for a resting bid (partial: %s)', (partialAllowed) => {
    const bids = [bid({ id: 'B1', price: 2000n, remaining: 4, seq: 1n, partialAllowed })];
    const offers = [offer({ id: 'O1', siteId: 'S1', price: 1800n, free: 8, seq: 2n })];
    expect(continuous(bids, offers)).toEqual([fill('B1', 'O1', 'S1', 4, 2000n)]);
    expect(clear(bids, offers).fills).toEqual([fill('B1', 'O1', 'S1', 4, 1800n)]);
  });

  it('C8. the eligibility rules of a run hold', () => {
    // Worked example 14 and 15 of continuous matching, cleared: the same single fill.
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 8, availableUntil: NOW + 10 * HOUR, seq: 1n }),
      offer({ id: 'O2', siteId: 'S2', price: 1750n, free: 8, availableFrom: NOW + HOUR, seq: 2n }),
      offer({ id: 'O3', siteId: 'S3', price: 1800n, free: 8, minLeaseHours: 48, seq: 3n }),
      offer({ id: 'O4', siteId: 'S4', price: 1700n, free: 8, verified: false, seq: 4n }),
      offer({ id: 'O5', siteId: 'S5', price: 1800n, free: 8, organisationId: 'org-B1', seq: 5n }),
      offer({ id: 'O6', siteId: 'S1', price: 1900n, free: 8, seq: 6n }),
    ];
    const b1 = bid({ id: 'B1', price: 2000n, remaining: 4, durationHours: 24, seq: 7n });
    const expired = bid({ id: 'B2', price: 2100n, remaining: 4, expiresAt: NOW, seq: 8n });
    expect(clear([b1, expired], offers).fills).toEqual([fill('B1', 'O6', 'S1', 4, 1900n)]);
  });

  it.each(EITHER)('C9. whole replicas (lots) (partial: %s)', (partialAllowed) => {
    const serving = servesInReplicas(4);
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 6, seq: 1n, serving }),
      offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 6, seq: 2n, serving }),
    ];
    const b1 = bid({
      id: 'B1',
      price: 2000n,
      remaining: 8,
      minGpusPerSite: 4,
      partialAllowed,
      seq: 3n,
      inference: demandInReplicas(8, 4),
    });
    const lots = [fill('B1', 'O1', 'S1', 4, 1700n), fill('B1', 'O2', 'S2', 4, 1800n)];
    expect(clear([b1], offers).fills).toEqual(lots);
    expect(continuous([b1], offers)).toEqual([
      fill('B1', 'O1', 'S1', 4, 1700n),
      fill('B1', 'O2', 'S2', 4, 1800n),
    ]);
    // In whole GPUs the dearer site would give 6 (best fit) and the other 2, less than a replica
    // (partial bids: the remainder rule, its fill listed last), or 4 and 4 (all-or-nothing).
    const { inference: _, ...gpuBid } = b1;
    expect(clear([gpuBid], offers).fills).toEqual(
      partialAllowed ? [fill('B1', 'O2', 'S2', 6, 1800n), fill('B1', 'O1', 'S1', 2, 1700n)] : lots,
    );
  });

  it('C9b. lots that no site can complete rest, and a lot may span offers at one site', () => {
    const serving = servesInReplicas(2);
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 1, seq: 1n, serving }),
      offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 3, seq: 2n, serving }),
      offer({ id: 'O3', siteId: 'S2', price: 1900n, free: 1, seq: 3n, serving }),
    ];
    const bids = [
      bid({
        id: 'B1',
        price: 2000n,
        remaining: 4,
        partialAllowed: true,
        seq: 4n,
        inference: demandInReplicas(4, 2),
      }),
      bid({
        id: 'B2',
        price: 2000n,
        remaining: 2,
        partialAllowed: false,
        seq: 5n,
        inference: demandInReplicas(2, 2),
      }),
    ];
    // S1's single GPU is less than a lot; S2's four make two lots, whichever bids take them.
    const run = clear(bids, offers);
    expect(run.fills).toEqual([fill('B1', 'O2', 'S2', 3, 1800n), fill('B1', 'O3', 'S2', 1, 1900n)]);
    expect(continuous(bids, offers)).toEqual(run.fills);
  });
});
