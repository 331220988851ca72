import fc from 'fast-check';
import { type IProcessOrder, OrderBook, Side } from 'nodejs-order-book';
import { type BookDelta, MarketBook } from '@/modules/matching/domain/market-book';
import { NOW, offer, bid, bookHeader } from '../test/matching/book-fixtures';

// The production engine driven as bench:matching drives it (one delta per run, then the run's
// fills applied) against nodejs-order-book, on random plain limit orders and cancels: both are
// price-time books, so every event must trade the same makers, GPUs and prices. Run longer with
//   MARKET_BOOK_PEER_RUNS=5000 npx jest bench/market-book-vs-peer.spec.ts

const NUM_RUNS = Number(process.env.MARKET_BOOK_PEER_RUNS ?? 300);

const header = bookHeader();

/** One trade: the resting order met, its GPUs and the price. */
type Trade = readonly [maker: string, gpus: number, price: number];

function peerTrades(result: IProcessOrder, takerId: string): Trade[] {
  if (result.err !== null) throw new Error(result.err.message);
  const trades: Trade[] = [];
  for (const order of result.done) {
    if (order.id !== takerId && 'price' in order) trades.push([order.id, order.size, order.price]);
  }
  const partial = result.partial;
  if (
    result.quantityLeft === 0 &&
    partial !== null &&
    partial.id !== takerId &&
    result.partialQuantityProcessed > 0
  ) {
    trades.push([partial.id, result.partialQuantityProcessed, partial.price]);
  }
  return trades;
}

const events = fc.array(
  fc.oneof(
    {
      weight: 9,
      arbitrary: fc.record({
        kind: fc.constant('order' as const),
        isBid: fc.boolean(),
        price: fc.integer({ min: 95, max: 105 }),
        gpus: fc.integer({ min: 1, max: 12 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
  ),
  { maxLength: 120 },
);

describe('MarketBook, one order per run, vs nodejs-order-book (fast-check)', () => {
  it(`trades the same makers, GPUs and prices after every event over ${NUM_RUNS} random streams`, () => {
    let total = 0;
    fc.assert(
      fc.property(events, (stream) => {
        const engine = new MarketBook(header, 0n);
        const peer = new OrderBook();
        const placed: { id: string; isBid: boolean }[] = [];
        let epoch = 0n;
        let fills = 0;
        stream.forEach((event, i) => {
          const now = NOW + i;
          let delta: BookDelta;
          let expected: Trade[];
          if (event.kind === 'cancel') {
            if (placed.length === 0) return;
            const { id, isBid } = placed[event.pick % placed.length]!;
            peer.cancel(id);
            expected = [];
            delta = isBid ? { kind: 'bid', id, bid: null } : { kind: 'offer', id, offer: null };
          } else {
            const id = `${event.isBid ? 'b' : 'o'}${i}`;
            const seq = BigInt(i + 1);
            placed.push({ id, isBid: event.isBid });
            const side = event.isBid ? Side.BUY : Side.SELL;
            expected = peerTrades(peer.limit({ id, side, size: event.gpus, price: event.price }), id);
            delta = event.isBid
              ? {
                  kind: 'bid',
                  id,
                  bid: {
                    ...bid({
                      id,
                      price: BigInt(event.price),
                      remaining: event.gpus,
                      seq,
                      partialAllowed: true,
                    }),
                    billingMode: 'RESERVED',
                  },
                }
              : {
                  kind: 'offer',
                  id,
                  offer: {
                    ...offer({ id, siteId: `S${i % 3}`, price: BigInt(event.price), free: event.gpus, seq }),
                    payPerUseMinPercent: 25,
                  },
                };
          }
          epoch += 1n;
          engine.refresh(header, epoch, [delta]);
          const run = engine.match(now);
          if (run.fills.length > 0) engine.applyRun(run);
          const taker = event.kind === 'order' ? delta.id : null;
          const trades: Trade[] = run.fills.map((fill) => [
            fill.bidId === taker ? fill.offerId : fill.bidId,
            fill.gpus,
            Number(fill.price),
          ]);
          expect(trades).toEqual(expected);
          fills += trades.length;
        });
        total += fills;
      }),
      { numRuns: NUM_RUNS },
    );
    // The streams trade: a property over books that never cross would prove nothing.
    expect(total).toBeGreaterThan(NUM_RUNS);
  });
});
