/**
 * The body of a clearing thread (`ClearingSolver`, docs/MATCHING.md "How it is solved"): loads
 * the solver once, then answers each request with `clearCall` of its book. Runs in a
 * `node:worker_threads` thread of the worker process, so a long solve never holds the event loop
 * that renews the market's run lock.
 */
import { parentPort } from 'node:worker_threads';
import { IdleSchedule } from '@/modules/markets/domain/idle-schedule';
import type { BookBid, BookOffer } from './domain/book';
import { clearCall } from './domain/call-clearing';
import { loadCallSolver } from './domain/highs-runtime';
import type { MarketRun } from './domain/match-market';

/** One clearing asked of the thread. */
export interface ClearingRequest {
  readonly id: number;
  readonly bids: readonly BookBid[];
  readonly offers: readonly BookOffer[];
  readonly now: number;
}

/** The thread's answer: the clearing, or the message of what it threw. */
export type ClearingAnswer =
  { readonly id: number; readonly run: MarketRun } | { readonly id: number; readonly error: string };

const port = parentPort;
if (port !== null) {
  const ready = loadCallSolver();
  port.on('message', (request: ClearingRequest) => {
    ready.then(
      () => {
        let answer: ClearingAnswer;
        try {
          answer = { id: request.id, run: clearCall(request.bids, offersOf(request), request.now) };
        } catch (error) {
          answer = { id: request.id, error: error instanceof Error ? error.message : String(error) };
        }
        port.postMessage(answer);
      },
      (error: unknown) => port.postMessage({ id: request.id, error: `solver not loaded: ${String(error)}` }),
    );
  });
}

/**
 * The request's offers as the solver needs them: a structured clone keeps an idle schedule's
 * fields but not its class, so each schedule is rebuilt from its spec (docs/MATCHING.md rule 8).
 */
export function offersOf(request: ClearingRequest): BookOffer[] {
  return request.offers.map((offer) =>
    offer.idle == null ? offer : { ...offer, idle: new IdleSchedule(offer.idle.spec) },
  );
}
