import { Injectable } from '@nestjs/common';
import { Propagation } from '@nestjs-cls/transactional';
import { Tx } from '@/infra/prisma/tx';
import { MarketBook, type BookDelta } from './domain/market-book';
import { MatchingRepository } from './matching.repository';

/** How a worker's books were brought up to date, for tests and the benchmark. */
export interface BookReads {
  /** Reads of the deltas since this worker's last read. */
  deltas: number;
  /** Whole-book loads: the first run of a market here, after another worker ran it, after a refused commit. */
  loads: number;
}

/**
 * The books this worker keeps in memory, one per market (docs/MATCHING.md "Runs in the
 * exchange"). A run checks its market's book out, so two runs of one market in one process
 * (which the run lock prevents, but tests do) never share one; it gives it back only after a
 * commit that succeeded, or a run with nothing to commit. Anything else drops it, and the next
 * run loads the market again.
 */
@Injectable()
export class MarketBooks {
  private readonly books = new Map<string, MarketBook>();
  readonly reads: BookReads = { deltas: 0, loads: 0 };

  constructor(
    private readonly repository: MatchingRepository,
    private readonly txHost: Tx,
  ) {}

  /**
   * The market's book as of a read that moved its epoch on: this worker's book with the changes
   * since its last read, or a whole load when it has none or another worker read since. Null for
   * an unknown market. The deltas applied are returned too (the writer schedules their timers).
   */
  async checkOut(marketId: string): Promise<{ book: MarketBook; deltas: readonly BookDelta[] } | null> {
    const cached = this.books.get(marketId);
    this.books.delete(marketId);
    if (cached !== undefined) {
      // One statement on raw pg (docs/ARCHITECTURE.md "Raw pg transactions"): a run's every read.
      const read = await this.txHost.withTransaction(
        Propagation.RequiresNew,
        { driver: 'pg', autocommit: true },
        () => this.repository.systemReadChanges(marketId, cached.epoch),
      );
      if (read !== null) {
        this.reads.deltas += 1;
        cached.refresh(read.header, read.epoch, read.deltas);
        return { book: cached, deltas: read.deltas };
      }
    }
    const loaded = await this.txHost.withTransaction(Propagation.RequiresNew, () =>
      this.repository.systemLoadBook(marketId),
    );
    if (loaded === null) return null;
    this.reads.loads += 1;
    const book = new MarketBook(loaded.header, loaded.epoch);
    book.refresh(loaded.header, loaded.epoch, loaded.deltas);
    return { book, deltas: loaded.deltas };
  }

  /** Keeps a book that is up to date with the database as of its epoch (the newest, if two). */
  checkIn(book: MarketBook): void {
    const held = this.books.get(book.marketId);
    if (held === undefined || held.epoch < book.epoch) this.books.set(book.marketId, book);
  }

  /** Live orders in this worker's book of the market, null when it holds none. */
  depth(marketId: string): { bids: number; offers: number } | null {
    return this.books.get(marketId)?.size ?? null;
  }
}
