import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { BookBid, BookOffer } from './domain/book';
import { clearCall, clearGreedy } from './domain/call-clearing';
import { loadCallSolver } from './domain/highs-runtime';
import type { MarketRun } from './domain/match-market';
import type { ClearingAnswer, ClearingRequest } from './clearing-thread';

/** A clearing and what decided it: the solver, or the greedy fallback after the time bound. */
export interface Clearing {
  readonly run: MarketRun;
  readonly by: 'solver' | 'greedy-after-timeout';
}

export interface ClearingSolverOptions {
  /** Solving threads; 0 solves on the calling thread, with no time bound. */
  readonly threads: number;
  /** A solve that has not answered after this long is stopped; the clearing is the greedy one. */
  readonly timeoutMs: number;
  /** The thread's script; by default the compiled `clearing-thread.js` beside this file. */
  readonly script?: string;
}

interface Job {
  readonly request: ClearingRequest;
  readonly resolve: (clearing: Clearing) => void;
  readonly reject: (error: Error) => void;
}

interface Slot {
  /** Set by `start` as soon as the slot exists. */
  worker: Worker | null;
  job: Job | null;
  timer: NodeJS.Timeout | null;
}

/**
 * Solves CALL clearings in worker threads so the event loop (run-lock renewal, other markets) stays
 * free, with the greedy allocation past `timeoutMs` (docs/MATCHING.md "How it is solved").
 */
export class ClearingSolver implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ClearingSolver.name);
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly script: string;
  private nextId = 1;
  private stopped = false;

  constructor(private readonly options: ClearingSolverOptions) {
    this.script = options.script ?? join(__dirname, 'clearing-thread.js');
  }

  /** Starts the threads (each compiles the solver once), or loads the solver here when there are none. */
  async onModuleInit(): Promise<void> {
    if (this.options.threads === 0) {
      await loadCallSolver();
      return;
    }
    for (let i = 0; i < this.options.threads; i += 1) {
      const slot: Slot = { worker: null, job: null, timer: null };
      this.start(slot);
      this.slots.push(slot);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('the clearing solver stopped'));
    await Promise.all(
      this.slots.map(async (slot) => {
        this.settle(slot)?.reject(new Error('the clearing solver stopped'));
        await slot.worker?.terminate();
      }),
    );
  }

  /** The clearing of this book at `now` (docs/MATCHING.md "Call markets"). */
  async clear(bids: readonly BookBid[], offers: readonly BookOffer[], now: number): Promise<Clearing> {
    if (this.options.threads === 0) {
      await loadCallSolver();
      return { run: clearCall(bids, offers, now), by: 'solver' };
    }
    if (this.stopped) throw new Error('the clearing solver stopped');
    return new Promise<Clearing>((resolve, reject) => {
      this.queue.push({ request: { id: this.nextId++, bids, offers, now }, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.job !== null) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.timer = setTimeout(() => this.timeOut(slot), this.options.timeoutMs);
      slot.worker!.postMessage(job.request);
    }
  }

  /** Gives the slot a new thread. */
  private start(slot: Slot): void {
    const worker = new Worker(this.script);
    // An idle thread does not keep the process alive; a pending solve's timer does.
    worker.unref();
    slot.worker = worker;
    worker.on('message', (answer: ClearingAnswer) => {
      const job = slot.job;
      if (job === null || job.request.id !== answer.id) return;
      this.settle(slot);
      if ('run' in answer) job.resolve({ run: answer.run, by: 'solver' });
      else job.reject(new Error(`clearing solve failed: ${answer.error}`));
      this.pump();
    });
    worker.on('error', (error) => {
      if (slot.worker === worker) this.replace(slot, error);
    });
    worker.on('exit', (code) => {
      if (slot.worker === worker && !this.stopped) this.replace(slot, new Error(`exited with code ${code}`));
    });
  }

  /** A thread that died: its solve fails (the run is retried) and a new thread takes its place. */
  private replace(slot: Slot, error: Error): void {
    if (this.stopped) return;
    const old = slot.worker;
    this.settle(slot)?.reject(new Error(`clearing thread failed: ${error.message}`));
    this.start(slot);
    void old?.terminate().catch(() => undefined);
    this.pump();
  }

  /** The time bound: the thread is stopped mid-solve and the greedy allocation answers instead. */
  private timeOut(slot: Slot): void {
    const job = this.settle(slot);
    if (job === null) return;
    const old = slot.worker;
    this.start(slot);
    void old?.terminate().catch(() => undefined);
    this.logger.warn(
      `clearing solve of ${job.request.bids.length} bids and ${job.request.offers.length} offers ran past ` +
        `${this.options.timeoutMs} ms; the greedy allocation clears instead`,
    );
    try {
      const { bids, offers, now } = job.request;
      job.resolve({ run: clearGreedy(bids, offers, now), by: 'greedy-after-timeout' });
    } catch (error) {
      job.reject(error as Error);
    }
    this.pump();
  }

  /** Frees the slot and returns the job it held, if any. */
  private settle(slot: Slot): Job | null {
    const job = slot.job;
    if (slot.timer !== null) clearTimeout(slot.timer);
    slot.job = null;
    slot.timer = null;
    return job;
  }
}
