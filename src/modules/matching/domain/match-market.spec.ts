import type { BookBid, BookOffer, Fill } from './book';
import {
  afterRun,
  bid,
  DAY,
  GUANGDONG,
  GUIZHOU,
  HOUR,
  NOW,
  offer,
} from '../../../../test/matching/book-fixtures';
import { compareBids, compareOffers, pairIneligibility, tradePrice } from './eligibility';
import { matchMarket } from './match-market';
import { prng } from '../../../../test/support/prng';

function fill(bidId: string, offerId: string, siteId: string, gpus: number, price: bigint): Fill {
  return { bidId, offerId, siteId, gpus, price };
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/**
 * docs/MATCHING.md "One run" transcribed literally, quadratic and slow on purpose: checks the
 * engine's shortcuts (pre-filtering, the price cut-off, skipping exhausted offers, the
 * one-per-site fast path) against the plain reading.
 */
function literalPass(bids: readonly BookBid[], offers: readonly BookOffer[], now: number): Fill[] {
  const free = new Map(offers.map((o) => [o.id, o.free]));
  const fills: Fill[] = [];
  for (const b of [...bids].sort(compareBids)) {
    const eligible = offers
      .filter((o) => pairIneligibility(b, { ...o, free: free.get(o.id)! }, now) === null)
      .sort(compareOffers);
    const m = Math.min(b.minGpusPerSite, b.remaining);
    const takenFrom = new Map<string, number>();
    const opened = new Set<string>();
    let need = b.remaining;
    const take = (o: BookOffer, want: number) => {
      const gpus = Math.min(free.get(o.id)! - (takenFrom.get(o.id) ?? 0), want);
      takenFrom.set(o.id, (takenFrom.get(o.id) ?? 0) + gpus);
      need -= gpus;
      return gpus;
    };
    for (const o of eligible) {
      if (need <= 0) break;
      if (!opened.has(o.siteId)) {
        const site = eligible.filter((s) => s.siteId === o.siteId);
        const supply = site.reduce((sum, s) => sum + free.get(s.id)!, 0);
        if (supply < m || need < m) continue;
        opened.add(o.siteId);
        let left = m;
        for (const s of site) left -= take(s, left);
      }
      take(o, need);
    }
    const total = b.remaining - need;
    if (total === 0 || (!b.partialAllowed && total < b.remaining)) continue;
    for (const o of eligible) {
      const gpus = takenFrom.get(o.id) ?? 0;
      if (gpus === 0) continue;
      free.set(o.id, free.get(o.id)! - gpus);
      fills.push(fill(b.id, o.id, o.siteId, gpus, tradePrice(b, o)));
    }
  }
  return fills;
}

/** Passes of literalPass until one fills nothing, each on the book the previous one left. */
function literalRun(bids: readonly BookBid[], offers: readonly BookOffer[], now: number): Fill[] {
  let state = { bids: [...bids], offers: [...offers] };
  const fills: Fill[] = [];
  for (;;) {
    const pass = literalPass(state.bids, state.offers, now);
    if (pass.length === 0) return fills;
    fills.push(...pass);
    const gpus = (pick: (f: Fill) => boolean) => pass.filter(pick).reduce((sum, f) => sum + f.gpus, 0);
    state = {
      bids: state.bids.map((b) => ({ ...b, remaining: b.remaining - gpus((f) => f.bidId === b.id) })),
      offers: state.offers.map((o) => ({ ...o, free: o.free - gpus((f) => f.offerId === o.id) })),
    };
  }
}

function randomBook(random: () => number, size: number): { bids: BookBid[]; offers: BookOffer[] } {
  const int = (below: number) => Math.floor(random() * below);
  const pick = <T>(items: readonly T[]) => items[int(items.length)]!;
  const sites = Array.from({ length: 1 + int(6) }, (_, i) => ({
    id: `S${i}`,
    province: pick([GUANGDONG, GUIZHOU]),
  }));
  const orgs = ['org-a', 'org-b', 'org-c', 'org-d'];
  const seqs = shuffled(
    Array.from({ length: 2 * size }, (_, i) => BigInt(i + 1)),
    random,
  );
  const offers: BookOffer[] = [];
  const bids: BookBid[] = [];
  for (let i = 0; i < size; i += 1) {
    const site = pick(sites);
    offers.push(
      offer({
        id: `O${i}`,
        siteId: site.id,
        province: site.province,
        organisationId: pick(orgs),
        verified: random() < 0.95,
        price: BigInt(1700 + 50 * int(6)),
        free: int(10),
        seq: seqs[2 * i]!,
        availableFrom: random() < 0.1 ? NOW + HOUR : NOW - DAY,
        availableUntil: NOW + (random() < 0.1 ? 12 : 24 * 30) * HOUR,
        minLeaseHours: random() < 0.1 ? 48 : 1,
      }),
    );
    const remaining = 1 + int(16);
    bids.push(
      bid({
        id: `B${i}`,
        organisationId: pick(orgs),
        verified: random() < 0.95,
        price: BigInt(1700 + 50 * int(6)),
        remaining,
        seq: seqs[2 * i + 1]!,
        durationHours: pick([1, 24, 72]),
        provinces: pick([[], [GUANGDONG], [GUIZHOU]]),
        minGpusPerSite: random() < 0.5 ? 1 : 1 + int(remaining),
        partialAllowed: random() < 0.5,
        expiresAt: random() < 0.1 ? NOW : NOW + DAY,
      }),
    );
  }
  return { bids, offers };
}

describe('matchMarket', () => {
  it('fills an all-or-nothing bid whose sites open, and skips one the walk cannot complete', () => {
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 8, seq: 1n }),
      offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 6, seq: 2n }),
      offer({ id: 'O3', siteId: 'S2', price: 1900n, free: 1, seq: 3n }),
    ];
    // 10 at 4 per site: S1 gives 8 whole, then 2 < 4 so S2 cannot open; the bid rests.
    const b1 = bid({
      id: 'B1',
      price: 2000n,
      remaining: 10,
      minGpusPerSite: 4,
      partialAllowed: false,
      seq: 10n,
    });
    // 11 at 3 per site: S1 gives 8, then S2 opens (supply 7) and gives 3 from O2.
    const b2 = bid({
      id: 'B2',
      price: 2000n,
      remaining: 11,
      minGpusPerSite: 3,
      partialAllowed: false,
      seq: 11n,
    });
    const result = matchMarket([b1, b2], offers, NOW);
    expect(result.fills).toEqual([fill('B2', 'O1', 'S1', 8, 1700n), fill('B2', 'O2', 'S2', 3, 1800n)]);
    expect(result.bidsFilled).toEqual(new Map([['B2', 11]]));
  });

  it('fills an all-or-nothing bid across two sites of several offers each', () => {
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 2, seq: 1n }),
      offer({ id: 'O2', siteId: 'S2', price: 1750n, free: 3, seq: 2n }),
      offer({ id: 'O3', siteId: 'S1', price: 1800n, free: 2, seq: 3n }),
      offer({ id: 'O4', siteId: 'S2', price: 1850n, free: 3, seq: 4n }),
    ];
    const b1 = bid({
      id: 'B1',
      price: 2000n,
      remaining: 8,
      minGpusPerSite: 4,
      partialAllowed: false,
      seq: 10n,
    });
    expect(matchMarket([b1], offers, NOW).fills).toEqual([
      fill('B1', 'O1', 'S1', 2, 1700n),
      fill('B1', 'O2', 'S2', 3, 1750n),
      fill('B1', 'O3', 'S1', 2, 1800n),
      fill('B1', 'O4', 'S2', 1, 1850n),
    ]);
  });

  it('lets later bids share what earlier bids left of an offer', () => {
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 5, seq: 1n }),
      offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 5, seq: 2n }),
    ];
    const bids = [
      bid({ id: 'B1', price: 2000n, remaining: 3, seq: 3n }),
      bid({ id: 'B2', price: 2000n, remaining: 4, seq: 4n }),
      bid({ id: 'B3', price: 1900n, remaining: 5, partialAllowed: true, seq: 5n }),
    ];
    const result = matchMarket(bids, offers, NOW);
    expect(result.fills).toEqual([
      fill('B1', 'O1', 'S1', 3, 1700n),
      fill('B2', 'O1', 'S1', 2, 1700n),
      fill('B2', 'O2', 'S2', 2, 1800n),
      fill('B3', 'O2', 'S2', 3, 1800n),
    ]);
    expect(result.offersTaken).toEqual(
      new Map([
        ['O1', 5],
        ['O2', 5],
      ]),
    );
    expect(result.bidsFilled).toEqual(
      new Map([
        ['B1', 3],
        ['B2', 4],
        ['B3', 3],
      ]),
    );
  });

  it('skips offers exhausted earlier in the run, at a site or anywhere', () => {
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 4, seq: 1n }),
      offer({ id: 'O2', siteId: 'S1', price: 1750n, free: 1, seq: 2n }),
      offer({ id: 'O3', siteId: 'S2', price: 1800n, free: 4, seq: 3n }),
      offer({ id: 'O4', siteId: 'S1', price: 1850n, free: 4, seq: 4n }),
    ];
    const bids = [
      bid({ id: 'B1', price: 2000n, remaining: 5, seq: 5n }),
      // S1 now holds only O4's 4: it opens, O3's site S2 opens too.
      bid({ id: 'B2', price: 2000n, remaining: 8, minGpusPerSite: 4, seq: 6n }),
      bid({ id: 'B3', price: 2000n, remaining: 1, seq: 7n }),
    ];
    const result = matchMarket(bids, offers, NOW);
    expect(result.fills).toEqual([
      fill('B1', 'O1', 'S1', 4, 1700n),
      fill('B1', 'O2', 'S1', 1, 1750n),
      fill('B2', 'O3', 'S2', 4, 1800n),
      fill('B2', 'O4', 'S1', 4, 1850n),
    ]);
  });

  it('prices each pair by its own resting order', () => {
    const offers = [
      offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 2, seq: 1n }),
      offer({ id: 'O2', siteId: 'S2', price: 1800n, free: 2, seq: 3n }),
    ];
    const b1 = bid({ id: 'B1', price: 2000n, remaining: 4, seq: 2n });
    expect(matchMarket([b1], offers, NOW).fills).toEqual([
      fill('B1', 'O1', 'S1', 2, 1700n),
      fill('B1', 'O2', 'S2', 2, 2000n),
    ]);
  });

  it('lets no bid fill that breaks a bid-only rule, and lets the next one through', () => {
    const offers = [offer({ id: 'O1', siteId: 'S1', price: 1700n, free: 4, seq: 1n })];
    const bids = [
      bid({ id: 'B1', price: 2100n, remaining: 4, verified: false, seq: 2n }),
      bid({ id: 'B2', price: 2100n, remaining: 4, expiresAt: NOW, seq: 3n }),
      bid({ id: 'B3', price: 2100n, remaining: 0, seq: 4n }),
      bid({ id: 'B4', price: 2000n, remaining: 4, seq: 5n }),
    ];
    expect(matchMarket(bids, offers, NOW).fills).toEqual([fill('B4', 'O1', 'S1', 4, 1700n)]);
  });

  it('returns nothing for an empty book', () => {
    expect(matchMarket([], [], NOW)).toEqual({ fills: [], bidsFilled: new Map(), offersTaken: new Map() });
    expect(matchMarket([bid({ id: 'B1', price: 2000n, remaining: 4, seq: 1n })], [], NOW).fills).toEqual([]);
    expect(
      matchMarket([], [offer({ id: 'O1', siteId: 'S1', price: 1n, free: 1, seq: 1n })], NOW).fills,
    ).toEqual([]);
  });

  it('does not modify its inputs', () => {
    const { bids, offers } = randomBook(prng(1), 60);
    const before = structuredClone({ bids, offers });
    const result = matchMarket(bids, offers, NOW);
    expect(result.fills.length).toBeGreaterThan(0);
    expect({ bids, offers }).toEqual(before);
  });

  it('depends on the book, not on the order of the input', () => {
    const random = prng(2);
    const { bids, offers } = randomBook(random, 80);
    const expected = matchMarket(bids, offers, NOW);
    for (let i = 0; i < 5; i += 1) {
      expect(matchMarket(shuffled(bids, random), shuffled(offers, random), NOW)).toEqual(expected);
    }
  });

  it('agrees with a literal transcription of the rules on random books, run after run', () => {
    const random = prng(3);
    let filled = 0;
    for (let book = 0; book < 300; book += 1) {
      let { bids, offers } = randomBook(random, 1 + Math.floor(random() * 40));
      for (let run = 0; run < 3; run += 1) {
        const result = matchMarket(bids, offers, NOW);
        expect(result.fills).toEqual(literalRun(bids, offers, NOW));
        filled += result.fills.length;
        ({ bids, offers } = afterRun(bids, offers, result));
        // New capacity between runs, as when leases end.
        offers = offers.map((o) => (random() < 0.2 ? { ...o, free: o.free + 4 } : o));
      }
    }
    expect(filled).toBeGreaterThan(1000);
  });
});
