import type { Ranked } from './eligibility';

/**
 * Orders held in a priority order by binary search, so a change costs O(log n) compares and one
 * move of the array's tail instead of a sort of the whole book (MarketBook.match). The order is
 * `compareOffers` (price ascending, then seq) with `priceSign` 1, `compareBids` (price
 * descending, then seq) with -1; the compares run on numbers, exact while every price and seq is
 * a safe integer (as `sortRanked` assumes). Ranks must be unique, as seqs are: `insert` refuses
 * a second order of the same rank, or one whose price or seq is not a safe integer, and the
 * caller then falls back to sorting.
 */
export class RankedList<T extends Ranked> {
  private readonly held: T[] = [];
  /** priceSign × price and seq of each order held, as numbers. */
  private readonly prices: number[] = [];
  private readonly seqs: number[] = [];

  constructor(private readonly priceSign: 1 | -1) {}

  /** The orders in priority order; read-only for the caller. */
  get items(): readonly T[] {
    return this.held;
  }

  /** Adds `item`; false, adding nothing, when an order of the same rank is held or its keys are not safe integers. */
  insert(item: T): boolean {
    const price = this.priceSign * Number(item.price);
    const seq = Number(item.seq);
    if (!Number.isSafeInteger(price) || !Number.isSafeInteger(seq)) return false;
    const at = this.lowerBound(price, seq);
    if (at < this.held.length && this.prices[at] === price && this.seqs[at] === seq) return false;
    if (at === this.held.length) {
      this.held.push(item);
      this.prices.push(price);
      this.seqs.push(seq);
    } else {
      this.held.splice(at, 0, item);
      this.prices.splice(at, 0, price);
      this.seqs.splice(at, 0, seq);
    }
    return true;
  }

  /** Removes `item`, which must be held (the same object). */
  remove(item: T): void {
    const at = this.indexOf(item);
    this.held.splice(at, 1);
    this.prices.splice(at, 1);
    this.seqs.splice(at, 1);
  }

  /** Puts `item` in the place of `old`, which must be held and have the same price and seq. */
  replace(old: T, item: T): void {
    this.held[this.indexOf(old)] = item;
  }

  /** Holds `items`, given in priority order; false when two rank the same or a key is not a safe integer. */
  reset(items: readonly T[]): boolean {
    this.held.length = 0;
    this.prices.length = 0;
    this.seqs.length = 0;
    for (const item of items) {
      const last = this.held.length - 1;
      const price = this.priceSign * Number(item.price);
      const seq = Number(item.seq);
      if (!Number.isSafeInteger(price) || !Number.isSafeInteger(seq)) return false;
      if (
        last >= 0 &&
        !(this.prices[last]! < price || (this.prices[last] === price && this.seqs[last]! < seq))
      ) {
        return false;
      }
      this.held.push(item);
      this.prices.push(price);
      this.seqs.push(seq);
    }
    return true;
  }

  private indexOf(item: T): number {
    const at = this.lowerBound(this.priceSign * Number(item.price), Number(item.seq));
    if (this.held[at] !== item) throw new Error('RankedList: the order is not held where its rank says');
    return at;
  }

  /** The first position whose order does not come before (price, seq). */
  private lowerBound(price: number, seq: number): number {
    const { prices, seqs } = this;
    let low = 0;
    let high = prices.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const p = prices[mid]!;
      if (p < price || (p === price && seqs[mid]! < seq)) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
