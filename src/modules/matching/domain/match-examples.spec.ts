import type { BookBid, BookOffer, Fill } from './book';
import {
  afterRun,
  BEIJING,
  bid,
  demandInReplicas,
  GUIZHOU,
  HOUR,
  NOW,
  offer,
  servesInReplicas,
} from '../../../../test/matching/book-fixtures';
import { leaseStartOf } from './eligibility';
import { matchMarket } from './match-market';
import { IdleSchedule } from '@/modules/markets/domain/idle-schedule';
import { quoteBid } from './quote';

// The worked examples of docs/MATCHING.md, fills computed by hand. Prices in minor units (fen).

function run(bids: readonly BookBid[], offers: readonly BookOffer[]) {
  return matchMarket(bids, offers, NOW);
}

function fill(bidId: string, offerId: string, siteId: string, gpus: number, price: bigint): Fill {
  return { bidId, offerId, siteId, gpus, price };
}

// Examples that do not say whether a bid is partial must come out the same either way.
const EITHER = [true, false];

describe('docs/MATCHING.md worked examples', () => {
  it('1. full fill at the resting ask', () => {
    const o1 = offer({ id: 'O1', siteId: 'S1', price: 1800n, free: 8, seq: 1n });
    const b1 = bid({ id: 'B1', price: 2000n, remaining: 4, seq: 2n, partialAllowed: true });
    const result = run([b1], [o1]);
    expect(result.fills).toEqual([fill('B1', 'O1', 'S1', 4, 1800n)]);
    // O1 keeps 4 free (PARTIALLY_FILLED); B1 gets all 4 it wanted (FILLED).
    expect(result.offersTaken).toEqual(new Map([['O1', 4]]));
    expect(result.bidsFilled).toEqual(new Map([['B1', 4]]));
  });

  it.each(EITHER)('2. the resting bid sets the price (partial: %s)', (partialAllowed) => {
    const b1 = bid({ id: 'B1', price: 2000n, remaining: 4, seq: 1n, partialAllowed });
    const o1 = offer({ id: 'O1', siteId: 'S1', price: 1800n, free: 8, seq: 2n });
    expect(run([b1], [o1]).fills).toEqual([fill('B1', 'O1', 'S1', 4, 2000n)]);
  });

  it('3. cheapest offers first', () => {
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1900n, free: 4, seq: 1n }),
      offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 4, seq: 2n }),
    ];
    const b1 = bid({
      id: 'B1',
      price: 2000n,
      remaining: 6,
      minGpusPerSite: 1,
      seq: 3n,
      partialAllowed: true,
    });
    const { fills } = run([b1], offers);
    expect(fills).toEqual([fill('B1', 'O2', 'S2', 4, 1800n), fill('B1', 'O1', 'S1', 2, 1900n)]);
    // VWAP (4 × 18.00 + 2 × 19.00) / 6 = 18.33, rounded down in fen.
    expect(fills.reduce((sum, f) => sum + f.price * BigInt(f.gpus), 0n) / 6n).toBe(1833n);
    expect(quoteBid(b1, offers, NOW).vwap).toBe(1833n);
  });

  it.each(EITHER)('4. time priority at equal price (partial: %s)', (partialAllowed) => {
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1800n, free: 4, seq: 1n }),
      offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 4, seq: 2n }),
    ];
    const b1 = bid({ id: 'B1', price: 1800n, remaining: 4, seq: 3n, partialAllowed });
    const result = run([b1], offers);
    expect(result.fills).toEqual([fill('B1', 'O1', 'S1', 4, 1800n)]);
    expect(result.offersTaken.has('O2')).toBe(false);
  });

  it.each(EITHER)('5. no cross (partial: %s)', (partialAllowed) => {
    const o1 = offer({ id: 'O1', siteId: 'S1', price: 2100n, free: 8, seq: 1n });
    const b1 = bid({ id: 'B1', price: 2000n, remaining: 4, seq: 2n, partialAllowed });
    const result = run([b1], [o1]);
    expect(result.fills).toEqual([]);
    expect(result.bidsFilled.size).toBe(0);
    expect(result.offersTaken.size).toBe(0);
  });

  it.each(EITHER)('6. province filter (partial: %s)', (partialAllowed) => {
    const offers = [
      offer({ id: 'O1', siteId: 'S1', province: BEIJING, price: 1700n, free: 8, seq: 1n }),
      offer({ id: 'O2', siteId: 'S2', province: GUIZHOU, price: 1850n, free: 8, seq: 2n }),
    ];
    const b1 = bid({ id: 'B1', price: 2000n, remaining: 4, provinces: [GUIZHOU], seq: 3n, partialAllowed });
    expect(run([b1], offers).fills).toEqual([fill('B1', 'O2', 'S2', 4, 1850n)]);
  });

  const example7Offers = [
    offer({ id: 'O1', siteId: 'S1', price: 1800n, free: 3, seq: 1n }),
    offer({ id: 'O2', siteId: 'S2', price: 1850n, free: 3, seq: 2n }),
  ];

  it('7. all-or-nothing across offers', () => {
    const b1 = bid({ id: 'B1', price: 1900n, remaining: 6, partialAllowed: false, seq: 3n });
    const result = run([b1], example7Offers);
    expect(result.fills).toEqual([fill('B1', 'O1', 'S1', 3, 1800n), fill('B1', 'O2', 'S2', 3, 1850n)]);
    expect(result.bidsFilled).toEqual(new Map([['B1', 6]]));
  });

  it('8. all-or-nothing that cannot fill, and the next bid', () => {
    const b1 = bid({ id: 'B1', price: 1900n, remaining: 8, partialAllowed: false, seq: 3n });
    const b2 = bid({ id: 'B2', price: 1900n, remaining: 2, partialAllowed: true, seq: 4n });
    const result = run([b2, b1], example7Offers);
    // B1 would get only 6 of 8: it rests and leaves O1 and O2 whole for B2.
    expect(result.fills).toEqual([fill('B2', 'O1', 'S1', 2, 1800n)]);
    expect(result.bidsFilled.has('B1')).toBe(false);
  });

  it('9. co-location excludes a small site', () => {
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 2, seq: 1n }),
      offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 6, seq: 2n }),
    ];
    const b1 = bid({
      id: 'B1',
      price: 2000n,
      remaining: 4,
      minGpusPerSite: 4,
      partialAllowed: true,
      seq: 3n,
    });
    expect(run([b1], offers).fills).toEqual([fill('B1', 'O2', 'S2', 4, 1800n)]);
  });

  it('10. offers at one site add up', () => {
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 2, seq: 1n }),
      offer({ id: 'O2', siteId: 'S1', price: 1900n, free: 3, seq: 2n }),
      offer({ id: 'O3', siteId: 'S2', price: 1800n, free: 8, seq: 3n }),
    ];
    const b1 = bid({
      id: 'B1',
      price: 2000n,
      remaining: 4,
      minGpusPerSite: 4,
      partialAllowed: true,
      seq: 4n,
    });
    const result = run([b1], offers);
    expect(result.fills).toEqual([fill('B1', 'O1', 'S1', 2, 1700n), fill('B1', 'O2', 'S1', 2, 1900n)]);
    expect(result.offersTaken.has('O3')).toBe(false);
  });

  it('11. remainder below the site minimum fills in a second pass of the same run', () => {
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 8, seq: 1n }),
      offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 8, seq: 2n }),
    ];
    const b1 = bid({
      id: 'B1',
      price: 2000n,
      remaining: 10,
      minGpusPerSite: 4,
      partialAllowed: true,
      seq: 3n,
    });
    const result = run([b1], offers);
    // First pass: S1 opens and gives 8; need 2 < 4, so S2 cannot open. Second pass: m = 2.
    expect(result.fills).toEqual([fill('B1', 'O1', 'S1', 8, 1700n), fill('B1', 'O2', 'S2', 2, 1800n)]);
    expect(result.bidsFilled).toEqual(new Map([['B1', 10]]));
    const book = afterRun([b1], offers, result);
    expect(book.bids[0]?.remaining).toBe(0);
    expect(run(book.bids, book.offers).fills).toEqual([]);
  });

  it('a skipped all-or-nothing bid fills in a later pass once co-location allows it', () => {
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 8, seq: 1n }),
      offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 10, seq: 2n }),
    ];
    const b1 = bid({
      id: 'B1',
      price: 2000n,
      remaining: 10,
      minGpusPerSite: 4,
      partialAllowed: false,
      seq: 3n,
    });
    const b2 = bid({ id: 'B2', price: 1900n, remaining: 5, seq: 4n, partialAllowed: true });
    const result = run([b1, b2], offers);
    expect(result.fills).toEqual([fill('B2', 'O1', 'S1', 5, 1700n), fill('B1', 'O2', 'S2', 10, 1800n)]);
  });

  it.each(EITHER)('12. bid priority by price (partial: %s)', (partialAllowed) => {
    const b1 = bid({ id: 'B1', price: 1900n, remaining: 4, seq: 1n, partialAllowed });
    const b2 = bid({ id: 'B2', price: 2000n, remaining: 4, seq: 2n, partialAllowed });
    const o1 = offer({ id: 'O1', siteId: 'S1', price: 1800n, free: 4, seq: 3n });
    const result = run([b1, b2], [o1]);
    expect(result.fills).toEqual([fill('B2', 'O1', 'S1', 4, 2000n)]);
    expect(result.bidsFilled.has('B1')).toBe(false);
  });

  it.each(EITHER)('13. expired bid (partial: %s)', (partialAllowed) => {
    const o1 = offer({ id: 'O1', siteId: 'S1', price: 1800n, free: 8, seq: 1n });
    const b1 = bid({ id: 'B1', price: 2000n, remaining: 4, expiresAt: NOW, seq: 2n, partialAllowed });
    expect(run([b1], [o1]).fills).toEqual([]);
  });

  it.each(EITHER)('14. window and minimum lease (partial: %s)', (partialAllowed) => {
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 8, availableUntil: NOW + 10 * HOUR, seq: 1n }),
      offer({ id: 'O2', siteId: 'S2', price: 1750n, free: 8, availableFrom: NOW + HOUR, seq: 2n }),
      offer({ id: 'O3', siteId: 'S3', price: 1800n, free: 8, minLeaseHours: 48, seq: 3n }),
      offer({ id: 'O4', siteId: 'S1', price: 1900n, free: 8, seq: 4n }),
    ];
    const b1 = bid({ id: 'B1', price: 2000n, remaining: 4, durationHours: 24, seq: 5n, partialAllowed });
    expect(run([b1], offers).fills).toEqual([fill('B1', 'O4', 'S1', 4, 1900n)]);
  });

  it.each(EITHER)('16. idle windows (partial: %s)', (partialAllowed) => {
    const nights = new IdleSchedule({
      timeZone: 'Asia/Shanghai',
      reclaimNoticeMinutes: 60,
      windows: [{ days: ['MON', 'TUE', 'WED', 'THU', 'FRI'], start: '20:00', end: '08:00' }],
    });
    const o1 = offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 8, seq: 1n, idle: nights });
    const o2 = offer({ id: 'O2', siteId: 'S2', price: 1900n, free: 8, seq: 2n });
    const b1 = bid({ id: 'B1', price: 2000n, remaining: 4, durationHours: 10, seq: 3n, partialAllowed });
    const b2 = bid({ id: 'B2', price: 2000n, remaining: 4, durationHours: 14, seq: 4n, partialAllowed });
    const b3 = bid({
      id: 'B3',
      price: 2000n,
      remaining: 4,
      durationHours: 14,
      seq: 5n,
      partialAllowed,
      interruptible: true,
    });
    expect(run([b1, b2, b3], [o1, o2]).fills).toEqual([
      fill('B1', 'O1', 'S1', 4, 1700n),
      fill('B2', 'O2', 'S2', 4, 1900n),
      fill('B3', 'O1', 'S1', 4, 1700n),
    ]);
    // Tonight's window opens at 20:00 local: the leases on O1 are SCHEDULED until then.
    const tonight = Date.parse('2026-12-01T12:00:00Z');
    expect(leaseStartOf(b1, o1, NOW)).toBe(tonight);
    expect(leaseStartOf(b2, o1, NOW)).toBeNull();
    expect(leaseStartOf(b3, o1, NOW)).toBe(tonight);
    expect(leaseStartOf(b2, o2, NOW)).toBe(NOW);
  });

  it.each(EITHER)('15. unverified and own orders rest (partial: %s)', (partialAllowed) => {
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 8, verified: false, seq: 1n }),
      offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 8, organisationId: 'org-B1', seq: 2n }),
      offer({ id: 'O3', siteId: 'S3', price: 1900n, free: 8, seq: 3n }),
    ];
    const b1 = bid({
      id: 'B1',
      organisationId: 'org-B1',
      price: 2000n,
      remaining: 4,
      seq: 4n,
      partialAllowed,
    });
    expect(run([b1], offers).fills).toEqual([fill('B1', 'O3', 'S3', 4, 1900n)]);
  });

  it('17. whole replicas (lots)', () => {
    const serving = servesInReplicas(4);
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 5, seq: 1n, serving }),
      offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 3, seq: 2n, serving }),
      offer({ id: 'O3', siteId: 'S3', price: 1850n, free: 2, seq: 3n, serving }),
      offer({ id: 'O4', siteId: 'S3', price: 1900n, free: 2, seq: 4n, serving }),
    ];
    const b1 = bid({
      id: 'B1',
      price: 2000n,
      remaining: 8,
      minGpusPerSite: 4,
      partialAllowed: true,
      seq: 5n,
      inference: demandInReplicas(8, 4),
    });
    const result = run([b1], offers);
    // S1 gives one lot (O1's fifth GPU cannot start a second), S2 holds less than a lot, S3's two
    // offers make one lot.
    expect(result.fills).toEqual([
      fill('B1', 'O1', 'S1', 4, 1700n),
      fill('B1', 'O3', 'S3', 2, 1850n),
      fill('B1', 'O4', 'S3', 2, 1900n),
    ]);
    expect(quoteBid(b1, offers, NOW)).toMatchObject({
      fillableGpus: 8,
      sites: [
        { siteId: 'S1', gpus: 4 },
        { siteId: 'S3', gpus: 4 },
      ],
      excluded: [{ constraint: 'CO_LOCATION', gpus: 3, offers: 1 }],
    });
    // Whole GPUs (a GPU bid of the same terms) would leave S1 one idle GPU and give S2 three, less
    // than a replica.
    const { inference: _, ...gpuBid } = b1;
    expect(run([gpuBid], offers).fills).toEqual([
      fill('B1', 'O1', 'S1', 5, 1700n),
      fill('B1', 'O2', 'S2', 3, 1800n),
    ]);
  });
});
