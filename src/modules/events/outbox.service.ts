import { Injectable } from '@nestjs/common';
import { Propagation, Transactional } from '@nestjs-cls/transactional';
import { Clock } from '@/infra/clock/clock';
import type { NewEvent } from '@/infra/events/event-catalogue';
import type { IdempotencyRecordDraft } from '@/infra/idempotency/deferred-idempotency-record';
import type { EventEnvelope } from '@/infra/events/event-envelope.dto';
import { LiveEventsBus, type WakeListener } from './live-events.bus';
import type { Prisma } from '@/generated/prisma/client';
import { insertManySql, insertRecordsSql, OutboxRepository, type StreamedEvent } from './outbox.repository';

/**
 * Events another repository's statement inserts as well, so that a commit records them without a
 * round trip of their own (`OutboxService.insertion`). Opaque outside repositories: a repository
 * carries `sql` as a data-modifying CTE of its own statement, in the same transaction.
 */
export interface OutboxInsertion {
  readonly sql: Prisma.Sql;
}

/**
 * Idempotency records another repository's statement inserts (`OutboxService.recordsInsertion`),
 * a data-modifying CTE returning the `scope` and `key` of each record stored.
 */
export interface RecordsInsertion {
  readonly sql: Prisma.Sql;
}

/** Producers record events here, inside the transaction of the business change. */
@Injectable()
export class OutboxService {
  constructor(
    private readonly outbox: OutboxRepository,
    private readonly clock: Clock,
    private readonly live: LiveEventsBus,
  ) {}

  // Mandatory: an event written outside the business transaction could outlive a rollback.
  @Transactional(Propagation.Mandatory)
  async record(event: NewEvent): Promise<EventEnvelope> {
    return this.outbox.insert(event, this.clock.now());
  }

  @Transactional(Propagation.Mandatory)
  async recordMany(events: readonly NewEvent[]): Promise<void> {
    await this.outbox.insertMany(events, this.clock.now());
  }

  /**
   * `recordMany` as a part of another repository's statement (`OutboxInsertion`): the events are
   * written when, and only when, that statement runs, in its transaction.
   */
  insertion(events: readonly NewEvent[]): OutboxInsertion {
    return { sql: insertManySql(events, this.clock.now()) };
  }

  /** The idempotency records of placed requests as a part of another repository's statement. */
  recordsInsertion(records: readonly IdempotencyRecordDraft[]): RecordsInsertion {
    return { sql: insertRecordsSql(records) };
  }

  /**
   * `recordMany` and the idempotency records of the requests behind the events, in one
   * statement (a group commit's last before COMMIT); the positions of the records refused
   * because a live record holds their key, for the caller to roll back.
   */
  @Transactional(Propagation.Mandatory)
  async recordManyWithIdempotency(
    events: readonly NewEvent[],
    records: readonly IdempotencyRecordDraft[],
  ): Promise<number[]> {
    return this.outbox.insertManyWithRecords(events, this.clock.now(), records);
  }

  async backlog(): Promise<{ unpublished: number; oldestAgeSeconds: number | null }> {
    const backlog = await this.outbox.systemBacklog();
    const oldest = backlog.oldestUnpublishedAt;
    return {
      unpublished: backlog.unpublished,
      oldestAgeSeconds:
        oldest === null ? null : Math.max(0, (this.clock.now().getTime() - oldest.getTime()) / 1000),
    };
  }

  /** The stream's newest position, where a new reader of every tenant's events starts. */
  async systemLatestPosition(): Promise<bigint> {
    return this.outbox.systemLatestPosition();
  }

  /** Published events after a stream position, every tenant's, with their audiences. */
  async systemListPublishedAfter(
    position: bigint,
    limit: number,
  ): Promise<Array<StreamedEvent & { audience: string[] }>> {
    return this.outbox.systemListPublishedAfter(position, limit);
  }

  /** Calls `listener` whenever any process publishes a batch; resolves to the unsubscribe. */
  async onPublished(listener: WakeListener): Promise<() => void> {
    return this.live.listen(listener);
  }
}
