import { BEIJING, bid, bookHeader, GUIZHOU, NOW, offer } from '../../../../test/matching/book-fixtures';
import { IdleSchedule } from '@/modules/markets/domain/idle-schedule';
import { clearCall } from './call-clearing';
import { loadCallSolver } from './highs-runtime';
import { allocationFor, MarketBook } from './market-book';
import { matchMarket } from './match-market';
import type { RunBid, RunOffer } from './run-book';

const header = bookHeader();
const runBid = (fields: Parameters<typeof bid>[0]): RunBid => ({ ...bid(fields), billingMode: 'RESERVED' });
const runOffer = (fields: Parameters<typeof offer>[0]): RunOffer => ({
  ...offer(fields),
  payPerUseMinPercent: 25,
});

describe('MarketBook', () => {
  it('replaces an order whole with each delta and drops it when it left the book', () => {
    const book = new MarketBook(header, 1n);
    const o1 = runOffer({ id: 'O1', siteId: 'S1', price: 1800n, free: 4, seq: 1n });
    const b1 = runBid({ id: 'B1', price: 1500n, remaining: 2, seq: 2n, partialAllowed: true });
    book.refresh(header, 2n, [
      { kind: 'offer', id: 'O1', offer: o1 },
      { kind: 'bid', id: 'B1', bid: b1 },
    ]);
    expect(book.size).toEqual({ bids: 1, offers: 1 });
    expect(book.epoch).toBe(2n);

    // The same delta again is harmless; a newer state replaces the older one.
    book.refresh(header, 3n, [
      { kind: 'bid', id: 'B1', bid: b1 },
      { kind: 'offer', id: 'O1', offer: { ...o1, price: 1400n, seq: 3n } },
    ]);
    expect(book.snapshot().offers).toEqual([{ ...o1, price: 1400n, seq: 3n }]);
    expect(book.snapshot().epoch).toBe(3n);

    book.refresh({ ...header, feeBps: 400 }, 4n, [{ kind: 'bid', id: 'B1', bid: null }]);
    expect(book.size).toEqual({ bids: 0, offers: 1 });
    expect(book.snapshot().feeBps).toBe(400);
  });

  it('applies a committed run: fills leave the book once they are whole', () => {
    const book = new MarketBook(header, 1n);
    book.refresh(header, 1n, [
      {
        kind: 'offer',
        id: 'O1',
        offer: runOffer({ id: 'O1', siteId: 'S1', price: 1800n, free: 4, seq: 1n }),
      },
      {
        kind: 'offer',
        id: 'O2',
        offer: runOffer({ id: 'O2', siteId: 'S2', price: 1900n, free: 4, seq: 2n }),
      },
      {
        kind: 'bid',
        id: 'B1',
        bid: runBid({ id: 'B1', price: 2000n, remaining: 6, seq: 3n, partialAllowed: true }),
      },
      {
        kind: 'bid',
        id: 'B2',
        bid: runBid({ id: 'B2', price: 2000n, remaining: 9, seq: 4n, partialAllowed: true }),
      },
    ]);
    const run = book.match(NOW);
    expect(run).toEqual(matchMarket(book.snapshot().bids, book.snapshot().offers, NOW));
    book.applyRun(run);

    // B1 filled 4 + 2, B2 took the 2 GPUs of O2 that were left.
    expect(book.size).toEqual({ bids: 1, offers: 0 });
    expect(book.snapshot().bids).toMatchObject([{ id: 'B2', remaining: 7 }]);
    expect(book.match(NOW).fills).toEqual([]);
  });

  it('allocates by the mode the last read found: a CALL market clears (example C1)', async () => {
    await loadCallSolver();
    expect(allocationFor('CONTINUOUS')).toBe(matchMarket);
    const book = new MarketBook(header, 1n);
    const o1 = runOffer({ id: 'O1', siteId: 'S1', province: BEIJING, price: 1700n, free: 4, seq: 1n });
    const o2 = runOffer({ id: 'O2', siteId: 'S2', province: GUIZHOU, price: 1800n, free: 4, seq: 2n });
    const b1 = runBid({ id: 'B1', price: 2000n, remaining: 4, seq: 3n });
    const b2 = runBid({ id: 'B2', price: 2000n, remaining: 4, seq: 4n, provinces: [BEIJING] });
    const deltas = [
      { kind: 'offer', id: 'O1', offer: o1 },
      { kind: 'offer', id: 'O2', offer: o2 },
      { kind: 'bid', id: 'B1', bid: b1 },
      { kind: 'bid', id: 'B2', bid: b2 },
    ] as const;
    book.refresh(header, 2n, deltas);
    expect(book.match(NOW).fills.map((fill) => fill.bidId)).toEqual(['B1']);

    // A mode switch takes effect at the next read.
    book.refresh({ ...header, mode: 'CALL' }, 3n, []);
    const cleared = book.match(NOW);
    expect(cleared).toEqual(clearCall(book.snapshot().bids, book.snapshot().offers, NOW));
    expect([...cleared.bidsFilled]).toEqual(
      expect.arrayContaining([
        ['B1', 4],
        ['B2', 4],
      ]),
    );
  });

  it('keeps every field of an order filled in part, optional ones too, and adds none', () => {
    // Typed Required: a field added to the order types must be added here, and to the book's copies.
    const full: Required<RunBid> = {
      ...runBid({ id: 'B1', price: 2000n, remaining: 8, seq: 2n, partialAllowed: true }),
      inference: {
        modelId: 'qwen',
        outputTokensPerSecond: 100,
        promptTokensPerSecond: 400,
        ttftP95Ms: 800,
        sizedGpus: 8,
        takeOrPayPercent: 50,
        gpusPerReplica: 1,
      },
      inferenceModel: 'qwen',
      minProviderScore: 10,
      interruptible: true,
    };
    const serving = {
      qwen: {
        promptTokensPerSecondPerGpu: 1_000,
        outputTokensPerSecondPerGpu: 100,
        ttftP50Ms: 100,
        ttftP95Ms: 200,
        gpusPerReplica: 1,
      },
    };
    const idle = new IdleSchedule({
      timeZone: 'UTC',
      reclaimNoticeMinutes: 30,
      windows: [{ days: ['MON'], start: '00:00', end: '02:00' }],
    });
    const fullOffer: Required<RunOffer> = {
      ...runOffer({ id: 'O1', siteId: 'S1', price: 1800n, free: 16, seq: 1n }),
      serving,
      providerScore: 90,
      idle,
    };
    const book = new MarketBook(header, 1n);
    book.refresh(header, 2n, [
      { kind: 'offer', id: 'O1', offer: fullOffer },
      { kind: 'bid', id: 'B1', bid: full },
    ]);
    // Twice: a copy of a copy.
    for (const left of [5, 2]) {
      book.applyRun({
        fills: [],
        bidsFilled: new Map([['B1', 3]]),
        offersTaken: new Map([['O1', 3]]),
      });
      expect(book.snapshot().bids).toStrictEqual([{ ...full, remaining: left }]);
      expect(book.snapshot().offers).toStrictEqual([{ ...fullOffer, free: left + 8 }]);
    }
    // A plain order stays plain: no optional field appears, not even as undefined.
    const plain = runBid({ id: 'B2', price: 2000n, remaining: 8, seq: 3n, partialAllowed: true });
    book.refresh(header, 3n, [{ kind: 'bid', id: 'B2', bid: plain }]);
    book.applyRun({ fills: [], bidsFilled: new Map([['B2', 1]]), offersTaken: new Map() });
    expect(book.snapshot().bids[1]).toStrictEqual({ ...plain, remaining: 7 });
    expect(Object.keys(book.snapshot().bids[1]!).sort()).toEqual(Object.keys(plain).sort());
  });

  it('refuses a run that names an order it does not hold', () => {
    const book = new MarketBook(header, 1n);
    expect(() =>
      book.applyRun({ fills: [], bidsFilled: new Map([['B9', 1]]), offersTaken: new Map() }),
    ).toThrow(/B9/);
  });
});
