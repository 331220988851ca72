import type { Ranked } from './eligibility';

/**
 * Orders held in a priority order by binary search, so a change costs O(log n) compares and one
 * move of the array's tail instead of a sort of the whole book (MarketBook.match). The order is
 * `compareOffers` (price ascending, then seq) with `priceSign` 1, `compareBids` (price
 * descending, then seq) with -1; the compares run on numbers, exact while every price and seq is
 * a safe integer (as `sortRanked` assumes). Ranks must be unique, as seqs are: `insert` refuses
 * a second order of the same rank, or one whose price or seq is not a safe integer, and the
 * caller then falls back to sorting.
 *
 * The arrays hold the orders worst first, so the best is last: new orders and fills land near
 * the top of the book, and there an insert or a removal moves only the few orders above it.
 * Rank 0 is the best order.
 */
export class RankedList<T extends Ranked> {
  private readonly held: T[] = [];
  /** -priceSign × price and -seq of each order held, as numbers: ascending, as `held` is. */
  private readonly keys: number[] = [];
  private readonly ties: number[] = [];
  /** -priceSign: a key times it is the price. */
  private readonly keySign: 1 | -1;

  constructor(priceSign: 1 | -1) {
    this.keySign = priceSign === 1 ? -1 : 1;
  }

  get size(): number {
    return this.held.length;
  }

  /** The order of rank `rank`, 0 ≤ rank < size. */
  at(rank: number): T {
    return this.held[this.held.length - 1 - rank]!;
  }

  /** The price of the order of rank `rank` as a number (exact: `insert` takes only safe integers). */
  priceAt(rank: number): number {
    return this.keySign * this.keys[this.keys.length - 1 - rank]!;
  }

  /** Adds `item`; false, adding nothing, when an order of the same rank is held or its keys are not safe integers. */
  insert(item: T): boolean {
    const key = this.keySign * Number(item.price);
    const tie = -Number(item.seq);
    if (!Number.isSafeInteger(key) || !Number.isSafeInteger(tie)) return false;
    const top = this.held.length - 1;
    // A new order that ranks best (a taker, or one priced inside the spread) goes on top without a search.
    const at =
      top < 0 || this.keys[top]! < key || (this.keys[top] === key && this.ties[top]! < tie)
        ? top + 1
        : this.lowerBound(key, tie);
    if (at < this.held.length && this.keys[at] === key && this.ties[at] === tie) return false;
    if (at === this.held.length) {
      this.held.push(item);
      this.keys.push(key);
      this.ties.push(tie);
    } else {
      this.held.splice(at, 0, item);
      this.keys.splice(at, 0, key);
      this.ties.splice(at, 0, tie);
    }
    return true;
  }

  /** Removes `item`, which must be held (the same object). */
  remove(item: T): void {
    const at = this.indexOf(item);
    if (at === this.held.length - 1) {
      this.held.pop();
      this.keys.pop();
      this.ties.pop();
    } else {
      this.held.splice(at, 1);
      this.keys.splice(at, 1);
      this.ties.splice(at, 1);
    }
  }

  /** Puts `item` in the place of `old`, which must be held and have the same price and seq. */
  replace(old: T, item: T): void {
    this.held[this.indexOf(old)] = item;
  }

  /** Holds `items`, given in priority order; false when two rank the same or a key is not a safe integer. */
  reset(items: readonly T[]): boolean {
    this.held.length = 0;
    this.keys.length = 0;
    this.ties.length = 0;
    for (let i = items.length - 1; i >= 0; i -= 1) {
      const item = items[i]!;
      const last = this.held.length - 1;
      const key = this.keySign * Number(item.price);
      const tie = -Number(item.seq);
      if (!Number.isSafeInteger(key) || !Number.isSafeInteger(tie)) return false;
      if (last >= 0 && !(this.keys[last]! < key || (this.keys[last] === key && this.ties[last]! < tie))) {
        return false;
      }
      this.held.push(item);
      this.keys.push(key);
      this.ties.push(tie);
    }
    return true;
  }

  private indexOf(item: T): number {
    // Fills and cancels of the best orders are the common case: look at the top few first.
    const { held } = this;
    for (let at = held.length - 1, stop = Math.max(0, held.length - TOP_LOOK); at >= stop; at -= 1) {
      if (held[at] === item) return at;
    }
    const at = this.lowerBound(this.keySign * Number(item.price), -Number(item.seq));
    if (this.held[at] !== item) throw new Error('RankedList: the order is not held where its rank says');
    return at;
  }

  /** The first position whose keys are not below (key, tie). */
  private lowerBound(key: number, tie: number): number {
    const { keys, ties } = this;
    let low = 0;
    let high = keys.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const k = keys[mid]!;
      if (k < key || (k === key && ties[mid]! < tie)) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

/** Orders at the top of a list that `remove` and `replace` compare by identity before searching by rank. */
const TOP_LOOK = 4;
