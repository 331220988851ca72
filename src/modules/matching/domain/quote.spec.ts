import type { BookOffer } from './book';
import { BEIJING, bid, GUANGDONG, GUIZHOU, HOUR, NOW, offer } from '../../../../test/matching/book-fixtures';
import { matchMarket } from './match-market';
import { quoteBid } from './quote';

/** The window times of a supply line whose offers have no idle windows: always available. */
const ALWAYS = { nextOpensAt: null, closesAt: null };

const offers: BookOffer[] = [
  offer({ id: 'O1', siteId: 'S1', province: GUIZHOU, price: 1700n, free: 2, seq: 1n }),
  offer({ id: 'O2', siteId: 'S2', province: GUIZHOU, price: 1800n, free: 4, seq: 2n }),
  offer({ id: 'O3', siteId: 'S2', province: GUIZHOU, price: 1850n, free: 4, seq: 3n }),
  offer({ id: 'O4', siteId: 'S3', province: BEIJING, price: 1820n, free: 8, seq: 4n }),
  offer({ id: 'O5', siteId: 'S4', province: GUANGDONG, price: 1900n, free: 3, minLeaseHours: 48, seq: 5n }),
  offer({
    id: 'O6',
    siteId: 'S4',
    province: GUANGDONG,
    price: 1950n,
    free: 5,
    availableUntil: NOW + HOUR,
    seq: 6n,
  }),
  offer({ id: 'O7', siteId: 'S5', province: GUIZHOU, price: 2500n, free: 6, seq: 7n }),
];

const base = bid({ id: 'quote', price: 2000n, remaining: 8, partialAllowed: true, seq: 0n });

describe('quoteBid', () => {
  it('reports the fill, its sites, its VWAP and every constraint that bit', () => {
    const quote = quoteBid({ ...base, provinces: [GUIZHOU, GUANGDONG], minGpusPerSite: 4 }, offers, NOW);
    // S1 (2 GPUs) cannot open; S2 opens with O2's 4 then O3's 4.
    expect(quote).toEqual({
      fillableGpus: 8,
      availableGpus: 8,
      // (4 × 18.00 + 4 × 18.50) / 8 = 18.25
      vwap: 1825n,
      sites: [{ siteId: 'S2', province: GUIZHOU, gpus: 8, window: ALWAYS }],
      excluded: [
        { constraint: 'PRICE', gpus: 6, offers: 1 },
        { constraint: 'PROVINCE', gpus: 8, offers: 1 },
        { constraint: 'WINDOW', gpus: 5, offers: 1 },
        { constraint: 'MIN_LEASE', gpus: 3, offers: 1 },
        { constraint: 'CO_LOCATION', gpus: 2, offers: 1 },
      ],
      cheapestExcluded: { price: 1700n, province: GUIZHOU },
    });
  });

  it('rounds the VWAP down to a minor unit and lists sites by their best offer', () => {
    const quote = quoteBid({ ...base, remaining: 9 }, offers, NOW);
    // 2 × 17.00 + 4 × 18.00 + 3 × 18.20 = 160.60 over 9 GPUs = 17.8444…
    expect(quote.fillableGpus).toBe(9);
    expect(quote.vwap).toBe(1784n);
    expect(quote.sites).toEqual([
      { siteId: 'S1', province: GUIZHOU, gpus: 2, window: ALWAYS },
      { siteId: 'S2', province: GUIZHOU, gpus: 4, window: ALWAYS },
      { siteId: 'S3', province: BEIJING, gpus: 3, window: ALWAYS },
    ]);
    expect(quote.excluded).toEqual([
      { constraint: 'PRICE', gpus: 6, offers: 1 },
      { constraint: 'WINDOW', gpus: 5, offers: 1 },
      { constraint: 'MIN_LEASE', gpus: 3, offers: 1 },
    ]);
  });

  it('makes each constraint the binding one', () => {
    const only = (o: Partial<BookOffer>) => [
      offer({ id: 'O', siteId: 'S', price: 1800n, free: 4, seq: 1n, ...o }),
    ];
    const cases = [
      { book: only({ price: 2100n }), terms: {}, constraint: 'PRICE' },
      { book: only({ province: BEIJING }), terms: { provinces: [GUIZHOU] }, constraint: 'PROVINCE' },
      { book: only({ availableFrom: NOW + HOUR }), terms: {}, constraint: 'WINDOW' },
      { book: only({ minLeaseHours: 48 }), terms: {}, constraint: 'MIN_LEASE' },
      { book: only({}), terms: { remaining: 8, minGpusPerSite: 8 }, constraint: 'CO_LOCATION' },
    ] as const;
    for (const { book, terms, constraint } of cases) {
      const quote = quoteBid({ ...base, ...terms }, book, NOW);
      expect(quote.fillableGpus).toBe(0);
      expect(quote.vwap).toBeNull();
      expect(quote.sites).toEqual([]);
      expect(quote.excluded).toEqual([{ constraint, gpus: 4, offers: 1 }]);
      expect(quote.cheapestExcluded).toEqual({ price: book[0]!.price, province: book[0]!.province });
    }
  });

  it('quotes nothing fillable for an all-or-nothing bid the book cannot fill whole', () => {
    const quote = quoteBid({ ...base, remaining: 30, partialAllowed: false }, offers, NOW);
    expect(quote.fillableGpus).toBe(0);
    expect(quote.vwap).toBeNull();
    expect(quote.sites).toEqual([]);
    // The exclusions still explain why.
    expect(quote.excluded.map((e) => e.constraint)).toEqual(['PRICE', 'WINDOW', 'MIN_LEASE']);
  });

  it('is what placing the bid in a quiet market fills', () => {
    const terms = { ...base, remaining: 7, provinces: [GUIZHOU], minGpusPerSite: 3, partialAllowed: false };
    const quote = quoteBid(terms, offers, NOW);
    const run = matchMarket([{ ...terms, id: 'B', seq: 100n }], offers, NOW);
    const filled = run.fills.reduce((sum, f) => sum + f.gpus, 0);
    const cost = run.fills.reduce((sum, f) => sum + f.price * BigInt(f.gpus), 0n);
    expect(quote.fillableGpus).toBe(7);
    expect(filled).toBe(quote.fillableGpus);
    expect(cost / BigInt(filled)).toBe(quote.vwap);
    expect(run.fills.map((f) => f.siteId)).toEqual(['S2', 'S2']);
    expect(quote.sites).toEqual([{ siteId: 'S2', province: GUIZHOU, gpus: 7, window: ALWAYS }]);
  });

  it('does not modify the book', () => {
    const before = structuredClone(offers);
    quoteBid({ ...base, minGpusPerSite: 4 }, offers, NOW);
    expect(offers).toEqual(before);
  });
});
