import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { Propagation, Transactional } from '@nestjs-cls/transactional';
import { Clock } from '@/infra/clock/clock';
import { AppConfig } from '@/infra/config/app-config';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { formatMoney } from '@/shared/money';
import type { EventPayloads, NewEvent } from '@/infra/events/event-catalogue';
import { takeOrPayTokensPerHour, tokensPerHour } from '@/modules/inference/domain/inference-pricing';
import { OutboxService } from '@/modules/events/outbox.service';
import { LEASE_DEADLINE_JOB_PREFIX } from '@/infra/queues/lease-timer-jobs';
import { uuidV7 } from '@/shared/uuid-v7';
import type { MarketRun } from './domain/match-market';
import { leasesOf, pairKey, WindowClosedError, type LeaseTerms, type RunOrders } from './domain/run-book';
import { FundsPort } from '@/modules/markets/domain/funds.port';
import type { BookHeader, MarketBook } from './domain/market-book';
import { MarketBooks } from './market-books';
import { MarketRunLock, type ReleaseOutcome } from './market-run-lock';
import { MatchingRunProbe } from './matching-run-probe';
import { ClearingSolver } from './clearing-solver';
import { CLEARING_REASON, MatchingScheduler, runDeduplicationId } from './matching-scheduler';
import { MatchingRepository } from './matching.repository';
import { LeaseStateService } from '@/modules/leases/lease-state.service';
import {
  OrderStateService,
  type FilledOrder,
  type OrderIncrement,
} from '@/modules/markets/order-state.service';
import { RunRejectedError } from './run-rejected.error';
import { isLockConflict } from '@/infra/prisma/prisma-errors';
import type { PrismaPgTransactionalAdapter } from '@/infra/prisma/prisma-pg-transactional-adapter';

/** What one run did, for tests, logs and the caller's loop. */
export type RunOutcome =
  | { kind: 'skipped'; why: 'paused' | 'unknown-market' | 'call-market' }
  | { kind: 'nothing-to-fill' }
  | { kind: 'committed'; epoch: bigint; fills: number; gpus: number }
  | { kind: 'stale' };

// Reads per run when commits keep being refused; past it BullMQ retries the job later.
const READ_ATTEMPTS = 5;
/** The pause before reading again after the attempt-th stale refusal: random, up to 25 ms × attempt. */
function staleBackoffMs(attempt: number): number {
  return Math.floor(Math.random() * 25 * attempt);
}

// A holder that keeps losing its lock gives the market back to the queue.
const LOST_LOCK_RETRIES = 5;

/**
 * Runs matching for one market (docs/MATCHING.md) and persists the fills. Several workers may
 * ask at once: the run lock admits one holder, which runs again while runs are being asked for.
 * Each commit is fenced by the market's epoch and made of conditional updates, so a stalled
 * run cannot commit over a newer one and nothing can oversell.
 */
@Injectable()
export class MatchingService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(MatchingService.name);
  private readonly provisioningMs: number;
  private readonly runIntervalMs: number;
  /** When each market's last run that read its book started in this process (`performance.now()`). */
  private readonly lastRunStart = new Map<string, number>();
  private stopping = false;

  constructor(
    private readonly repository: MatchingRepository,
    private readonly orderState: OrderStateService,
    private readonly leaseState: LeaseStateService,
    private readonly books: MarketBooks,
    private readonly lock: MarketRunLock,
    private readonly outbox: OutboxService,
    private readonly funds: FundsPort,
    private readonly probe: MatchingRunProbe,
    private readonly producer: JobProducer,
    private readonly scheduler: MatchingScheduler,
    private readonly clock: Clock,
    private readonly clearings: ClearingSolver,
    config: AppConfig,
  ) {
    this.provisioningMs = config.env.LEASE_PROVISIONING_MINUTES * 60_000;
    this.runIntervalMs = config.env.MATCHING_RUN_INTERVAL_MS;
  }

  beforeApplicationShutdown(): void {
    this.stopping = true;
  }

  /**
   * Runs the market until no run is asked for, or returns at once when another worker holds it
   * (that worker will run again for this request). Errors leave the request flagged and
   * propagate, so BullMQ retries the job. `clearing`: the run is a CALL market's clearing, which
   * a stopping worker hands over as a clearing (due now), not as a request for the next one.
   * `callDefers`: a CALL market found by the run's read is not matched but gets its next clearing
   * (a request that is not its clearing, docs/MATCHING.md "When a clearing runs"); the run reads
   * the mode with the book, so a job costs no read of its own for it.
   */
  async matchMarket(marketId: string, clearing = false, callDefers = false): Promise<void> {
    for (let attempt = 0; attempt < LOST_LOCK_RETRIES; attempt += 1) {
      const token = await this.lock.acquire(marketId);
      if (token === null) return;
      const outcome = await this.runWhileAsked(marketId, token, clearing, callDefers);
      if (outcome === 'released') return;
      if (outcome === 'run-again') {
        // Stopping: hand the market to another worker rather than risk dropping a request.
        await this.lock.abandon(marketId, token);
        await this.producer.enqueue(
          'matching.run',
          { marketId, reason: clearing ? CLEARING_REASON : 'handover' },
          { deduplicationId: runDeduplicationId(marketId) },
        );
        return;
      }
      this.logger.warn(`matching lock of market ${marketId} expired during a run; taking it again`);
    }
    throw new Error(`market ${marketId}: lost the matching lock ${LOST_LOCK_RETRIES} times`);
  }

  private async runWhileAsked(
    marketId: string,
    token: string,
    clearing: boolean,
    callDefers: boolean,
  ): Promise<ReleaseOutcome> {
    // A lost lock does not stop the run: its commit is fenced, and its release reports the loss.
    const renewal = setInterval(() => {
      this.lock.renew(marketId, token).then(
        (held) => {
          if (!held) this.logger.warn(`matching lock of market ${marketId} lapsed during a run`);
        },
        (error: unknown) => this.logger.warn(`renewing the matching lock: ${(error as Error).message}`),
      );
    }, this.lock.renewEveryMs);
    try {
      // A CALL market's request made during its clearing is the next clearing's: the run again
      // defers to it, as a job that is not its clearing does (docs/MATCHING.md).
      for (let again = false; ; again = true) {
        // A CALL market's clearing keeps its instant; the interval spaces the other runs.
        if (!clearing) await this.awaitRunInterval(marketId);
        if (this.stopping) return 'run-again';
        const started = performance.now();
        const run = await this.runOnce(marketId, callDefers || again);
        // Only a run that read the book spaces the next: a CALL market's deferral reads none.
        if (run.kind !== 'skipped') this.lastRunStart.set(marketId, started);
        if (this.stopping) return 'run-again';
        const outcome = await this.lock.release(marketId, token);
        if (outcome !== 'run-again') return outcome;
      }
    } catch (error) {
      await this.lock.abandon(marketId, token).catch(() => undefined);
      throw error;
    } finally {
      clearInterval(renewal);
    }
  }

  /**
   * Waits until `MATCHING_RUN_INTERVAL_MS` has passed since the market's last run started here
   * (docs/MATCHING.md "Runs in the exchange"): orders that arrive meanwhile join one run. The
   * lock is held, so other workers' asks only leave the request flag. A market idle that long
   * does not wait.
   */
  private async awaitRunInterval(marketId: string): Promise<void> {
    const last = this.lastRunStart.get(marketId);
    if (last === undefined || this.runIntervalMs === 0) return;
    // A timer may fire early as performance.now() reads it (Node truncates its delay to whole
    // milliseconds, and counts it from the event loop's cached time): wait again until it is time.
    for (;;) {
      const wait = Math.ceil(last + this.runIntervalMs - performance.now());
      if (wait <= 0) return;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /**
   * One run: bring the book up to date, match, commit, apply the fills to the book. A refused
   * commit (stale: another worker read the book since; moved: an order or the market changed
   * since the read; or a lock conflict) is rolled back whole, the book is dropped and the run
   * loads it again, so when the run returns, everything it saw is filled or cannot fill.
   * `callDefers`: a CALL market is not matched; its next clearing is scheduled (`matchMarket`).
   */
  async runOnce(marketId: string, callDefers = false): Promise<RunOutcome> {
    let stale = false;
    for (let attempt = 1; attempt <= READ_ATTEMPTS; attempt += 1) {
      const now = this.clock.now();
      const read = await this.books.checkOut(marketId);
      if (read === null) return { kind: 'skipped', why: 'unknown-market' };
      const { book } = read;
      if (book.header.paused) {
        this.books.checkIn(book);
        return { kind: 'skipped', why: 'paused' };
      }
      if (callDefers && book.header.mode === 'CALL') {
        this.books.checkIn(book);
        await this.scheduler.scheduleClearing(book.header);
        return { kind: 'skipped', why: 'call-market' };
      }
      if (this.probe.active) await this.probe.at('after-book-read', marketId);
      const run = await this.allocate(book, now.getTime());
      if (run.fills.length === 0) {
        this.books.checkIn(book);
        return stale ? { kind: 'stale' } : { kind: 'nothing-to-fill' };
      }
      // The epoch the run read at, which its commit must still find.
      const { epoch } = book;
      const { market } = book.header;
      if (this.probe.active) await this.probe.at('before-commit', marketId);
      try {
        const { provisioningDeadlines } = await this.commit(book, run);
        book.applyRun(run);
        this.books.checkIn(book);
        for (const deadline of provisioningDeadlines) await this.scheduleProvisioningSweep(deadline);
        // Clearings go on while they fill, as a run's passes do: the leftover book can still
        // hold a fill (a remainder below a site minimum), and no event would ask for it.
        if (book.header.mode === 'CALL') await this.scheduler.scheduleClearing(book.header);
        const gpus = run.fills.reduce((sum, fill) => sum + fill.gpus, 0);
        return { kind: 'committed', epoch, fills: run.fills.length, gpus };
      } catch (error) {
        // A deadlock or lock timeout against a placement, cancel or ledger posting rolled the
        // commit back whole: read again now rather than wait for a BullMQ retry's backoff.
        if (isLockConflict(error)) {
          this.logger.warn(`market ${market}: commit met another transaction's locks; reading again`);
          continue;
        }
        if (!(error instanceof RunRejectedError)) throw error;
        if (error.reason === 'stale') {
          stale = true;
          await this.repository.systemCountStaleCommit(marketId);
          this.logger.warn(`market ${market}: stale run (read at epoch ${epoch}) rejected`);
          // Every read moves the epoch, so two runners of one market (a lapsed run lock, or a
          // direct call beside a worker's run) can refuse each other's commits in turn. A random
          // pause that grows with each attempt lets one of them commit first.
          await new Promise((resolve) => setTimeout(resolve, staleBackoffMs(attempt)));
        }
      }
    }
    throw new Error(`market ${marketId}: ${READ_ATTEMPTS} commits in a row were refused`);
  }

  /**
   * The allocation of the market's mode: a continuous run here (`MarketBook.match`, which reads
   * only the part of the book that crosses), or a CALL market's clearing solved off the event
   * loop (`ClearingSolver`), during which the run lock keeps being renewed.
   */
  private async allocate(book: MarketBook, now: number): Promise<MarketRun> {
    if (book.header.mode === 'CONTINUOUS') return book.match(now);
    const { bids, offers, market } = book.snapshot();
    const clearing = await this.clearings.clear(bids, offers, now);
    if (clearing.by !== 'solver') {
      this.logger.warn(`market ${market}: clearing took the greedy allocation (${clearing.by})`);
    }
    return clearing.run;
  }

  /**
   * Brings the lease sweep forward to the provisioning deadline of the leases just committed (one
   * instant per commit; one delayed job per second of them, `JobProducer.enqueueDue`). After the
   * commit, so a crash in between only leaves those leases to the scheduled lease sweep
   * (`LEASE_SWEEP_INTERVAL_MS`); a failed add is logged for the same reason, not retried.
   */
  private async scheduleProvisioningSweep(deadline: number): Promise<void> {
    await this.producer
      .enqueueDue('leases.sweep', { trigger: 'provisioning-deadline' }, LEASE_DEADLINE_JOB_PREFIX, deadline)
      .catch((error: Error) =>
        this.logger.warn(
          `provisioning-deadline sweep not scheduled (the lease sweep is the backstop): ${error.message}`,
        ),
      );
  }

  /**
   * The run's fills in one transaction, or nothing (RunRejectedError). Time is read again here:
   * a commit that waited on a lock or a paused process re-checks expiry and windows as of now.
   * A raw pg transaction (docs/ARCHITECTURE.md "Raw pg transactions"): the same statements, as
   * named prepared statements without Prisma's per-statement work, the worker's main cost per run.
   */
  @Transactional<PrismaPgTransactionalAdapter>(Propagation.RequiresNew, { driver: 'pg' })
  private async commit(
    book: MarketBook,
    run: MarketRun,
  ): Promise<{ epoch: bigint; provisioningDeadlines: number[] }> {
    const now = this.clock.now();
    const { header } = book;
    const fence = await this.repository.systemFenceCommit(header.marketId, book.epoch, now);
    if (fence === 'paused') throw new RunRejectedError('moved', 'the market was paused since the read');
    if (fence === 'stale')
      throw new RunRejectedError('stale', 'another worker read the book since this run did');
    const { epoch, feeBps } = fence;
    // An offer must still hold the longest lease the run gives from it.
    // And its owner must still have the score its takers ask (a refresh may have moved it).
    const hours = new Map<string, number>();
    const minScores = new Map<string, number>();
    for (const fill of run.fills) {
      const bid = book.bid(fill.bidId);
      hours.set(fill.offerId, Math.max(hours.get(fill.offerId) ?? 0, bid?.durationHours ?? 0));
      if (bid?.minProviderScore !== undefined) {
        minScores.set(fill.offerId, Math.max(minScores.get(fill.offerId) ?? 0, bid.minProviderScore));
      }
    }
    const filled = await this.orderState.systemFillRun(
      increments(run.bidsFilled, (id) => book.bid(id), hours),
      increments(run.offersTaken, (id) => book.offer(id), hours, minScores),
      now,
    );
    if (filled.bids.length !== run.bidsFilled.size)
      throw new RunRejectedError('moved', 'a bid changed since the read');
    if (filled.offers.length !== run.offersTaken.size) {
      throw new RunRejectedError('moved', 'an offer changed since the read');
    }

    // The fee as of the commit, not the read: a fee change that committed first applies to these leases.
    const terms = termsOrRejected(() =>
      leasesOf(book, feeBps, run.fills, now.getTime(), this.provisioningMs),
    );
    // Ids chosen here, so that the leases and their events are one statement.
    const ids = terms.map(() => uuidV7(now));
    // Each order's leases in lease order, for its order.filled: one pass, not one per order.
    const leasesOfBid = new Map<string, string[]>();
    const leasesOfOffer = new Map<string, string[]>();
    for (let i = 0; i < terms.length; i += 1) {
      const term = terms[i]!;
      leaseIdsOf(leasesOfBid, term.bidId).push(ids[i]!);
      leaseIdsOf(leasesOfOffer, term.offerId).push(ids[i]!);
    }
    const events: NewEvent[] = [];
    for (let i = 0; i < terms.length; i += 1) events.push(leaseCreated(header, ids[i]!, terms[i]!, book));
    for (const bid of filled.bids) events.push(orderFilled(header, 'bid', bid, run.bidsFilled, leasesOfBid));
    for (const offer of filled.offers) {
      events.push(orderFilled(header, 'offer', offer, run.offersTaken, leasesOfOffer));
    }
    const created = await this.leaseState.systemCreateLeases(
      header.marketId,
      epoch,
      ids,
      terms,
      now,
      this.outbox.insertion(events),
    );
    if (created.length !== terms.length)
      throw new Error(`${terms.length - created.length} leases were not created`);
    await this.funds.convertBidHolds(
      terms.map((term, i) => ({
        leaseId: ids[i]!,
        bidId: term.bidId,
        buyerOrganisationId: term.buyerOrganisationId,
        currency: header.currency,
        gpus: term.gpus,
        pricePerGpuHour: term.pricePerGpuHour,
        bidMaxPricePerGpuHour: bidCap(book, term.bidId),
        durationHours: term.durationHours,
      })),
    );
    if (this.probe.active) await this.probe.at('inside-commit', header.marketId);
    // The commit's instant plus the provisioning time, or a later idle window's start plus it.
    return { epoch, provisioningDeadlines: [...new Set(terms.map((term) => term.provisioningDeadline))] };
  }
}

/** A pair whose idle window closed between the read and the commit has moved: the run reads again. */
function termsOrRejected(make: () => LeaseTerms[]): LeaseTerms[] {
  try {
    return make();
  } catch (error) {
    if (error instanceof WindowClosedError) throw new RunRejectedError('moved', error.message);
    throw error;
  }
}

function bidCap(orders: RunOrders, bidId: string): bigint {
  const bid = orders.bid(bidId);
  if (bid === undefined) throw new Error(`lease for bid ${bidId} that the run did not read`);
  return bid.price;
}

// Sorted by id, so that concurrent multi-row updates lock rows in one order.
function increments(
  taken: ReadonlyMap<string, number>,
  orderOf: (id: string) => { readonly seq: bigint } | undefined,
  hours: ReadonlyMap<string, number>,
  minScores: ReadonlyMap<string, number> = new Map(),
): OrderIncrement[] {
  return [...taken]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, gpus]) => {
      const order = orderOf(id);
      if (order === undefined) throw new Error(`order ${id} is not in the run's book`);
      return {
        id,
        seq: order.seq,
        gpus,
        hours: hours.get(id) ?? 0,
        minProviderScore: minScores.get(id) ?? null,
      };
    });
}

/** The lease ids of one order, created empty. */
function leaseIdsOf(byOrder: Map<string, string[]>, orderId: string): string[] {
  let ids = byOrder.get(orderId);
  if (ids === undefined) {
    ids = [];
    byOrder.set(orderId, ids);
  }
  return ids;
}

function leaseCreated(book: BookHeader, leaseId: string, terms: LeaseTerms, orders: RunOrders): NewEvent {
  const inference = terms.inference === null ? undefined : leaseInference(book, terms, orders);
  return {
    type: 'lease.created',
    aggregateType: 'lease',
    aggregateId: leaseId,
    payload: {
      leaseId,
      market: book.market,
      bidId: terms.bidId,
      offerId: terms.offerId,
      buyerOrganisationId: terms.buyerOrganisationId,
      providerOrganisationId: terms.providerOrganisationId,
      siteId: terms.siteId,
      gpus: terms.gpus,
      pricePerGpuHour: formatMoney(terms.pricePerGpuHour, book.currencyScale),
      durationHours: terms.durationHours,
      billingMode: terms.billingMode,
      provisioningDeadline: new Date(terms.provisioningDeadline).toISOString(),
      startsAt: terms.startsAt === null ? null : new Date(terms.startsAt).toISOString(),
      reclaimable: terms.reclaimable,
      ...(inference === undefined ? {} : { inference }),
    },
  };
}

/** A lease of an inference bid, as `lease.created` states it (docs/INFERENCE.md "Inference bids"). */
function leaseInference(
  book: BookHeader,
  terms: LeaseTerms,
  orders: RunOrders,
): NonNullable<EventPayloads['lease.created']['inference']> {
  const lease = terms.inference;
  const bid = orders.bid(terms.bidId);
  const demand = bid?.inference;
  const serving = demand === undefined ? undefined : orders.offer(terms.offerId)?.serving?.[demand.modelId];
  // The run matched the pair on these (eligibility rule 4), so the book holds them.
  if (lease === null || bid?.inferenceModel === undefined || demand === undefined || serving === undefined) {
    throw new Error(
      `inference lease ${pairKey(terms.bidId, terms.offerId)} without its bid's or offer's terms`,
    );
  }
  return {
    model: bid.inferenceModel,
    pricePerMillionTokens: formatMoney(lease.pricePerMillionTokens, book.currencyScale),
    outputTokensPerSecond: lease.outputTokensPerSecond,
    promptTokensPerSecond: lease.promptTokensPerSecond,
    ttftP95Ms: demand.ttftP95Ms,
    gpusPerReplica: serving.gpusPerReplica,
    takeOrPayPercent: lease.takeOrPayPercent,
    minimumTokensPerHour: takeOrPayTokensPerHour(
      tokensPerHour(lease.outputTokensPerSecond, lease.promptTokensPerSecond),
      lease.takeOrPayPercent,
    ).toString(),
  };
}

function orderFilled(
  book: BookHeader,
  orderType: 'bid' | 'offer',
  order: FilledOrder,
  taken: ReadonlyMap<string, number>,
  leasesOfOrder: ReadonlyMap<string, string[]>,
): NewEvent {
  const leaseIds = leasesOfOrder.get(order.id) ?? [];
  return {
    type: 'order.filled',
    aggregateType: orderType,
    aggregateId: order.id,
    payload: {
      orderType,
      orderId: order.id,
      organisationId: order.organisationId,
      market: book.market,
      gpus: order.gpus,
      filledGpus: taken.get(order.id) ?? 0,
      ...(orderType === 'bid' ? { totalFilledGpus: order.taken } : { leasedGpus: order.taken }),
      status: order.status,
      leaseIds,
    },
  };
}
