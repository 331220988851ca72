import { join } from 'node:path';
import { clearingBook } from '../../bench/call-clearing';
import { ClearingSolver } from '@/modules/matching/clearing-solver';
import { clearCall, clearGreedy } from '@/modules/matching/domain/call-clearing';
import { loadCallSolver } from '@/modules/matching/domain/highs-runtime';
import { IdleSchedule } from '@/modules/markets/domain/idle-schedule';
import { WEEKDAYS } from '@/modules/markets/domain/order-terms';

// The thread run from the TypeScript sources (no build needed).
const SCRIPT = join(__dirname, '..', 'support', 'clearing-thread-ts.cjs');

describe('ClearingSolver: clearings solved in threads (docs/MATCHING.md "How it is solved")', () => {
  const solvers: ClearingSolver[] = [];
  const solver = async (threads: number, timeoutMs: number): Promise<ClearingSolver> => {
    const made = new ClearingSolver({ threads, timeoutMs, script: SCRIPT });
    solvers.push(made);
    await made.onModuleInit();
    return made;
  };

  beforeAll(async () => {
    await loadCallSolver();
  });

  afterEach(async () => {
    await Promise.all(solvers.splice(0).map((made) => made.onApplicationShutdown()));
  });

  it('answers what clearCall answers on the calling thread, for several books at once', async () => {
    const threads = await solver(2, 120_000);
    const books = [1, 2, 3, 4].map((seed) => clearingBook(seed, 30, 40));
    const cleared = await Promise.all(books.map((book) => threads.clear(book.bids, book.offers, book.now)));
    books.forEach((book, i) => {
      expect(cleared[i]!.by).toBe('solver');
      expect(cleared[i]!.run).toEqual(clearCall(book.bids, book.offers, book.now));
    });
    expect(cleared.some((clearing) => clearing.run.fills.length > 0)).toBe(true);
  });

  it('stops a solve past its time bound, answers the greedy allocation, and solves the next one', async () => {
    // A thread's first solve also compiles the solver: far beyond 1 ms on any machine.
    const threads = await solver(1, 1);
    const book = clearingBook(7, 60, 60);
    const timedOut = await threads.clear(book.bids, book.offers, book.now);
    expect(timedOut.by).toBe('greedy-after-timeout');
    expect(timedOut.run).toEqual(clearGreedy(book.bids, book.offers, book.now));
    expect(timedOut.run.fills.length).toBeGreaterThan(0);
    // Every fill of the fallback is priced at the offer's ask, as a clearing's are.
    const asks = new Map(book.offers.map((offer) => [offer.id, offer.price]));
    for (const fill of timedOut.run.fills) expect(fill.price).toBe(asks.get(fill.offerId));

    const patient = await solver(1, 120_000);
    const solved = await patient.clear(book.bids, book.offers, book.now);
    expect(solved).toEqual({ run: clearCall(book.bids, book.offers, book.now), by: 'solver' });
  });

  it('clears offers on idle windows in a thread as on the calling thread (the schedules survive the copy)', async () => {
    const threads = await solver(1, 120_000);
    const book = clearingBook(5, 30, 30);
    // Every other offer sells nights only: some pairs start later, some bids fit no window.
    const offers = book.offers.map((offer, i) =>
      i % 2 === 0
        ? offer
        : {
            ...offer,
            idle: new IdleSchedule({
              timeZone: 'Asia/Shanghai',
              windows: [{ days: [...WEEKDAYS], start: '22:00', end: '06:00' }],
              reclaimNoticeMinutes: 30,
            }),
          },
    );
    const cleared = await threads.clear(book.bids, offers, book.now);
    expect(cleared).toEqual({ run: clearCall(book.bids, offers, book.now), by: 'solver' });
    expect(cleared.run.fills.length).toBeGreaterThan(0);
  });

  it('with no threads, solves on the calling thread', async () => {
    const inline = await solver(0, 1);
    const book = clearingBook(9, 20, 30);
    expect(await inline.clear(book.bids, book.offers, book.now)).toEqual({
      run: clearCall(book.bids, book.offers, book.now),
      by: 'solver',
    });
  });
});
