import { Injectable, Logger } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import { ClsService } from 'nestjs-cls';
import type { OrganisationStatus } from '@/generated/prisma/enums';
import { Clock } from '@/infra/clock/clock';
import { AppConfig } from '@/infra/config/app-config';
import type { NewEvent } from '@/infra/events/event-catalogue';
import {
  type ClaimedIdempotencyRecord,
  DeferredIdempotencyRecord,
  type IdempotencyRecordDraft,
} from '@/infra/idempotency/deferred-idempotency-record';
import { IdempotentReplay } from '@/infra/idempotency/idempotent-replay';
import { PlacementTimings } from '@/infra/metrics/placement-timings';
import { mapPrismaError } from '@/infra/prisma/prisma-errors';
import type { PrismaPgTransactionalAdapter } from '@/infra/prisma/prisma-pg-transactional-adapter';
import { DomainError } from '@/shared/domain-error';
import { OutboxService } from '@/modules/events/outbox.service';
import { assertAcceptsOrders, assertMayTrade } from './domain/trading-rules';
import { MarketsRepository, recordKey, type StoredIdempotentResponse } from './markets.repository';
import { MarketsService } from './markets.service';
import { OrderPlacementProbe } from './order-placement-probe';
import { NOTHING_WANTED, type BatchReads, type BatchReadsWanted } from './domain/placement-batch';
import { OrderStateService, type HoldPosting, type PlacementWrites } from './order-state.service';

/** A change to an existing order (a cancellation) as its lane sees it: the placement lock held. */
export interface LaneChange<I> {
  organisationId: string;
  input: I;
}

/** One order of a batch as its lane sees it: the placement lock held, market ACTIVE, `seq` taken. */
export interface LanePlacement<I> extends LaneChange<I> {
  seq: bigint;
}

/** A lane's verdict on one order: its response and events, or the refusal its caller gets. */
export type LaneOutcome<O> = { placed: O; events: readonly NewEvent[] } | { refused: Error };

/**
 * Rows a lane leaves for the batch's last statement (the bid lane's plans, bids and holds), with
 * events that are no order's own (`balance.low`).
 */
export interface LaneWrites {
  rows: PlacementWrites;
  holds: HoldPosting;
  events: readonly NewEvent[];
}

/** The batch as a placement lane sees it: what its read statement read, and its last statement. */
export interface PlacementBatch {
  /** What the lanes asked for (`PlacementLane.wants`), read under the batch's locks. */
  readonly reads: BatchReads;
  /** Leaves `writes` for the batch's last statement, which writes them with the events and records. */
  write(writes: LaneWrites): void;
}

/**
 * One kind of order in a group commit (bids, offers). `place` runs inside the batch's
 * transaction and answers every order: a refusal (funds, the live-order cap, a site) is an
 * outcome, never a thrown error, since a failed statement would abort every neighbour. A throw
 * means the batch as a whole failed; the orders are then committed one by one.
 */
export interface PlacementLane<I, O> {
  /** Lanes run in this order within a batch, the same in every process. */
  readonly rank: number;
  /** What the lane needs read under the batch's locks, in the batch's one read statement. */
  wants?(orders: ReadonlyArray<LaneChange<I>>): Omit<BatchReadsWanted, 'spendSince'> & { spendSince?: Date };
  place(orders: ReadonlyArray<LanePlacement<I>>, batch: PlacementBatch): Promise<Array<LaneOutcome<O>>>;
}

/**
 * One kind of change to existing orders in a group commit (bid and offer cancellations): like a
 * `PlacementLane`, but its orders take no `seq` and meet no market or trading check before it (a
 * paused market still allows cancelling, and a cancel is idempotent by state).
 */
export interface ChangeLane<I, O> {
  readonly rank: number;
  change(orders: ReadonlyArray<LaneChange<I>>): Promise<Array<LaneOutcome<O>>>;
}

/** The market an order names, as the caller resolved it from the catalogue. */
export interface PlacementMarket {
  id: string;
  slug: string;
}

/** A lane as a batch runs it: placements carry their `seq`, changes ignore it and the batch. */
interface Lane {
  readonly rank: number;
  readonly changes: boolean;
  wants(orders: ReadonlyArray<LaneChange<unknown>>): Partial<BatchReadsWanted>;
  run(
    orders: ReadonlyArray<LanePlacement<unknown>>,
    batch: PlacementBatch,
  ): Promise<Array<LaneOutcome<unknown>>>;
}

interface Waiting {
  lane: Lane;
  organisationId: string;
  /** The market of a new order; null for a change, which needs no seq and no market check. */
  market: PlacementMarket | null;
  input: unknown;
  record: ClaimedIdempotencyRecord | null;
  /** performance.now() when it joined the waiting orders. */
  enqueuedAt: number;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Some orders' idempotency keys already hold live records (the Redis lock was lost). */
class IdempotencyClash extends Error {
  override readonly name = 'IdempotencyClash';
}

const clashed = (): DomainError =>
  new DomainError(
    'CONFLICT',
    'A request with this Idempotency-Key completed concurrently; retry to get its response.',
  );

/**
 * Group commit of placements and cancellations: one transaction for the orders that arrive
 * together, each answered only after the COMMIT (docs/ARCHITECTURE.md "Group commit of placements").
 */
@Injectable()
export class OrderPlacementService {
  private readonly logger = new Logger(OrderPlacementService.name);
  private waiting: Waiting[] = [];
  /** Commit loops running, each with one batch in flight. */
  private loops = 0;
  /** Organisations with an order in a batch in flight, each with the number of such batches. */
  private readonly inFlight = new Map<string, number>();
  /** Waiting orders of organisations that no batch in flight holds. */
  private free = 0;
  private readonly maxBatch: number;
  private readonly maxLoops: number;
  /**
   * Free orders that start a commit beside one in flight: a full batch, so a second commit runs
   * only when one cannot keep up (its batches full), never to split what one would carry.
   */
  private readonly overflow: number;
  // One batch-side view per lane object, so every order of a lane meets in one call.
  private readonly lanes = new WeakMap<object, Lane>();

  constructor(
    private readonly markets: MarketsRepository,
    private readonly catalogue: MarketsService,
    private readonly outbox: OutboxService,
    private readonly orderState: OrderStateService,
    private readonly txHost: TransactionHost<PrismaPgTransactionalAdapter>,
    private readonly cls: ClsService,
    private readonly clock: Clock,
    private readonly probe: OrderPlacementProbe,
    private readonly timings: PlacementTimings,
    config: AppConfig,
  ) {
    this.maxBatch = config.env.PLACEMENT_BATCH_MAX;
    this.maxLoops = config.env.PLACEMENT_COMMITS_IN_FLIGHT;
    this.overflow = this.maxBatch;
  }

  /**
   * Places one order through `lane` in the next group commit; resolves with its response after
   * the commit, or rejects with its own refusal. Claims the request's deferred idempotency
   * record, which the batch inserts with the order.
   */
  place<I, O>(
    lane: PlacementLane<I, O>,
    organisationId: string,
    market: PlacementMarket,
    input: I,
  ): Promise<O> {
    return this.enqueue(
      this.laneOf(lane, () => ({
        rank: lane.rank,
        changes: false,
        wants: (orders) => lane.wants?.(orders as ReadonlyArray<LaneChange<I>>) ?? {},
        run: (orders, batch) => lane.place(orders as ReadonlyArray<LanePlacement<I>>, batch),
      })),
      organisationId,
      market,
      input,
    );
  }

  /**
   * Applies one change to an existing order (a cancellation) through `lane` in the next group
   * commit, with the same answers-after-commit guarantee as `place`.
   */
  change<I, O>(lane: ChangeLane<I, O>, organisationId: string, input: I): Promise<O> {
    return this.enqueue(
      this.laneOf(lane, () => ({
        rank: lane.rank,
        changes: true,
        wants: () => ({}),
        run: (orders) => lane.change(orders as ReadonlyArray<LaneChange<I>>),
      })),
      organisationId,
      null,
      input,
    );
  }

  private laneOf(key: object, make: () => Lane): Lane {
    let lane = this.lanes.get(key);
    if (lane === undefined) this.lanes.set(key, (lane = make()));
    return lane;
  }

  private enqueue<O>(
    lane: Lane,
    organisationId: string,
    market: PlacementMarket | null,
    input: unknown,
  ): Promise<O> {
    const record = DeferredIdempotencyRecord.claimFrom(this.cls);
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({
        lane,
        organisationId,
        market,
        input,
        record,
        enqueuedAt: performance.now(),
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      if (!this.inFlight.has(organisationId)) this.free += 1;
      if (this.loops === 0 || (this.loops < this.maxLoops && this.free >= this.overflow))
        void this.commitWaiting();
      else if (this.probe.active) this.probe.queued(this.waiting.length);
    });
  }

  /**
   * Commits batches until none is left for it. Alone, a loop takes the oldest waiting orders;
   * beside another, it takes only a batch's worth of orders whose organisations no batch in
   * flight holds (two batches of one organisation would only wait on each other's placement
   * lock), and stops when fewer than `overflow` wait: the last loop running takes the rest.
   */
  private async commitWaiting(): Promise<void> {
    this.loops += 1;
    try {
      for (let batch = this.takeBatch(); batch !== null; batch = this.takeBatch()) {
        const startedAt = performance.now();
        for (const order of batch) this.timings.wait.observe((startedAt - order.enqueuedAt) / 1000);
        this.timings.batchSize.observe(batch.length);
        this.hold(batch, 1);
        try {
          await this.commitBatch(batch);
        } finally {
          this.hold(batch, -1);
        }
        // Per order, so the histogram weighs batches as their orders' latency does.
        const seconds = (performance.now() - startedAt) / 1000;
        for (let i = 0; i < batch.length; i += 1) this.timings.commit.observe(seconds);
      }
    } finally {
      this.loops -= 1;
    }
  }

  /**
   * The loop's next batch, or null when it should stop. `hold` recounts the free orders once the
   * batch is marked; nothing runs in between, as both are synchronous.
   */
  private takeBatch(): Waiting[] | null {
    if (this.waiting.length === 0) return null;
    // Alone (a loop's own batch has left inFlight when it takes the next): the oldest orders.
    if (this.inFlight.size === 0) return this.waiting.splice(0, this.maxBatch);
    if (this.free < this.overflow) return null;
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    for (const order of this.waiting) {
      if (batch.length < this.maxBatch && !this.inFlight.has(order.organisationId)) batch.push(order);
      else rest.push(order);
    }
    this.waiting = rest;
    return batch;
  }

  /** Marks (+1) or unmarks (-1) a batch's organisations as in flight, and recounts the free orders. */
  private hold(batch: readonly Waiting[], delta: 1 | -1): void {
    for (const organisationId of new Set(batch.map((order) => order.organisationId))) {
      const batches = (this.inFlight.get(organisationId) ?? 0) + delta;
      if (batches === 0) this.inFlight.delete(organisationId);
      else this.inFlight.set(organisationId, batches);
    }
    this.free = 0;
    for (const order of this.waiting) if (!this.inFlight.has(order.organisationId)) this.free += 1;
  }

  private async commitBatch(batch: Waiting[]): Promise<void> {
    let outcomes: Array<LaneOutcome<unknown>>;
    try {
      outcomes = await this.runBatch(batch);
    } catch (error) {
      const mapped = mapPrismaError(error);
      if (batch.length > 1 && !(mapped instanceof DomainError && mapped.code === 'SERVICE_UNAVAILABLE')) {
        // One order's row may have failed the whole statement (a deadlock, a trigger): alone,
        // each order meets only its own fate.
        this.logger.warn(
          `group commit of ${batch.length} placements failed (${(error as Error).message}); committing them one by one`,
        );
        for (const order of batch) await this.commitBatch([order]);
        return;
      }
      const answer = error instanceof IdempotencyClash ? clashed() : mapped;
      for (const order of batch) order.reject(answer);
      return;
    }
    // Answered on the event loop's next turn: the loop first sends the next batch's statement
    // (commitWaiting takes it as soon as this returns), so writing this batch's answers (up to
    // PLACEMENT_BATCH_MAX responses at once) overlaps that round trip instead of delaying it
    // (docs/BENCHMARKS.md "Answering after the next batch starts").
    setImmediate(() =>
      batch.forEach((order, i) => {
        const outcome = outcomes[i];
        if (outcome === undefined) order.reject(new Error('group commit lost an outcome'));
        else if ('refused' in outcome) order.reject(outcome.refused);
        else order.resolve(outcome.placed);
      }),
    );
  }

  /**
   * One transaction for the batch; the outcome of each order, in the batch's order. A batch of
   * bids is four round trips: BEGIN, the read statement, the write statement, COMMIT.
   */
  private runBatch(batch: Waiting[]): Promise<Array<LaneOutcome<unknown>>> {
    // A context of its own: the batch is nobody's request, and no request's transaction.
    return this.cls.run({ ifNested: 'override' }, () =>
      // Raw pg (docs/ARCHITECTURE.md "Raw pg transactions"): the lanes' statements are raw SQL.
      this.txHost.withTransaction({ driver: 'pg' }, async () => {
        const outcomes = new Array<LaneOutcome<unknown> | undefined>(batch.length);
        const organisationIds = [...new Set(batch.map((order) => order.organisationId))].sort();
        const placements = batch.filter((order) => order.market !== null);
        const marketIds = [...new Set(placements.map((order) => order.market!.id))];
        const identities = batch.flatMap((order) => (order.record === null ? [] : [order.record.identity]));
        const locked = await this.markets.lockOrderPlacementsAndTakeSeqs(
          organisationIds,
          placements.length,
          marketIds,
          identities,
          this.clock.now(),
          this.wantedBy(batch),
        );
        const lanes = new Map<Lane, Array<{ position: number; seq: bigint }>>();
        let seqs = 0;
        batch.forEach((order, i) => {
          let seq = 0n;
          if (order.market !== null) seq = locked.seqs[seqs++]!;
          // A key that holds a stored response answers it (or 422 for another body), before any check.
          const replay = this.replayOf(order.record, locked.storedResponses);
          if (replay !== null) {
            outcomes[i] = { refused: replay };
            return;
          }
          if (order.market !== null) {
            const refusal = this.refusalBeforeLane(
              order.market,
              locked.organisationStatuses.get(order.organisationId),
              locked.marketStatuses.get(order.market.id),
            );
            if (refusal !== null) {
              outcomes[i] = { refused: refusal };
              return;
            }
          }
          lanes.set(order.lane, [...(lanes.get(order.lane) ?? []), { position: i, seq }]);
        });
        let pending: LaneWrites | null = null;
        const placementBatch: PlacementBatch = {
          reads: locked.reads,
          write: (writes) => {
            if (pending !== null) throw new Error('two lanes of one batch left writes');
            pending = writes;
          },
        };
        for (const [lane, members] of [...lanes].sort(([a], [b]) => a.rank - b.rank)) {
          // Changes (cancellations) release funds: the holds are posted first, as ever.
          if (lane.changes && pending !== null) {
            await this.writeLaneRows(pending, [], []);
            pending = null;
          }
          const done = await lane.run(
            members.map(({ position, seq }) => {
              const order = batch[position]!;
              return { organisationId: order.organisationId, input: order.input, seq };
            }),
            placementBatch,
          );
          members.forEach(({ position }, n) => (outcomes[position] = done[n]));
        }
        const answered = outcomes.map((outcome) => {
          if (outcome === undefined) throw new Error('a placement lane left an order unanswered');
          return outcome;
        });
        const events = answered.flatMap((outcome) => ('placed' in outcome ? outcome.events : []));
        await this.recordEventsAndRecords(events, batch, answered, pending);
        if (this.probe.active) await this.probe.beforeCommit(batch.length);
        return answered;
      }),
    );
  }

  /** What the batch's lanes ask its read statement for, each lane for all of its orders. */
  private wantedBy(batch: Waiting[]): BatchReadsWanted {
    const wanted: BatchReadsWanted = { ...NOTHING_WANTED, liveBidsOf: [], plans: [], funds: [] };
    const byLane = new Map<Lane, Array<LaneChange<unknown>>>();
    for (const order of batch) {
      byLane.set(order.lane, [
        ...(byLane.get(order.lane) ?? []),
        { organisationId: order.organisationId, input: order.input },
      ]);
    }
    for (const [lane, orders] of byLane) {
      const asked = lane.wants(orders);
      wanted.liveBidsOf.push(...(asked.liveBidsOf ?? []));
      wanted.plans.push(...(asked.plans ?? []));
      wanted.funds.push(...(asked.funds ?? []));
      if (asked.spendSince !== undefined) wanted.spendSince = asked.spendSince;
    }
    wanted.liveBidsOf = [...new Set(wanted.liveBidsOf)];
    wanted.funds = [...new Map(wanted.funds.map((f) => [`${f.organisationId}|${f.currency}`, f])).values()];
    return wanted;
  }

  /** The answer of an order whose idempotency key already holds a response, or null. */
  private replayOf(
    record: ClaimedIdempotencyRecord | null,
    stored: ReadonlyMap<string, StoredIdempotentResponse>,
  ): Error | null {
    if (record === null) return null;
    const { scope, key, fingerprint } = record.identity;
    const response = stored.get(recordKey(scope, key));
    if (response === undefined) return null;
    if (response.fingerprint !== fingerprint) {
      return new DomainError(
        'UNPROCESSABLE',
        'This Idempotency-Key was already used with a different request.',
      );
    }
    return new IdempotentReplay(response.statusCode, response.body);
  }

  /** The checks every order meets before its lane: the organisation may trade, the market is open. */
  private refusalBeforeLane(
    market: PlacementMarket,
    organisationStatus: OrganisationStatus | undefined,
    marketStatus: string | undefined,
  ): Error | null {
    try {
      // Read under the placement lock: a suspension committed on any process is seen here.
      if (organisationStatus !== undefined) assertMayTrade(organisationStatus);
      if (marketStatus === undefined) {
        // Deleted behind the in-process catalogue (tests do this): unknown from now on.
        this.catalogue.forgetCatalogue();
        throw new DomainError('VALIDATION_FAILED', 'market does not name a known market.', {
          field: 'market',
        });
      }
      assertAcceptsOrders({ slug: market.slug, status: marketStatus as 'ACTIVE' | 'PAUSED' });
      return null;
    } catch (error) {
      return error as Error;
    }
  }

  /**
   * The batch's last statement: a lane's rows if it left any, the batch's events and the placed
   * orders' idempotency records; a record clash fails the batch.
   */
  private async recordEventsAndRecords(
    events: readonly NewEvent[],
    batch: Waiting[],
    outcomes: Array<LaneOutcome<unknown>>,
    pending: LaneWrites | null,
  ): Promise<void> {
    const at = this.clock.now();
    const drafts = batch.flatMap((order, i) => {
      const outcome = outcomes[i];
      return order.record !== null && outcome !== undefined && 'placed' in outcome
        ? [order.record.draft(outcome.placed, at)]
        : [];
    });
    if (pending !== null) {
      await this.writeLaneRows(pending, events, drafts);
      return;
    }
    if (drafts.length === 0) {
      if (events.length > 0) await this.outbox.recordMany(events);
      return;
    }
    const refused = await this.outbox.recordManyWithIdempotency(events, drafts);
    if (refused.length > 0) throw new IdempotencyClash(`${refused.length} idempotency keys already recorded`);
  }

  /** A lane's rows in one statement, with these events and records (none when changes follow). */
  private async writeLaneRows(
    writes: LaneWrites,
    events: readonly NewEvent[],
    drafts: readonly IdempotencyRecordDraft[],
  ): Promise<void> {
    const written = await this.orderState.writePlacements(
      writes.rows,
      writes.holds,
      this.outbox.insertion([...writes.events, ...events]),
      this.outbox.recordsInsertion(drafts),
      this.clock.now(),
    );
    // Each hold's key names a bid of this batch: one not posted means the statement is not what it decided.
    if (written.held !== writes.holds.transfers) {
      throw new Error(`${writes.holds.transfers - written.held} holds of a group commit were not posted`);
    }
    const refused = drafts.filter((draft) => !written.stored.has(recordKey(draft.scope, draft.key)));
    if (refused.length > 0) throw new IdempotencyClash(`${refused.length} idempotency keys already recorded`);
  }
}
