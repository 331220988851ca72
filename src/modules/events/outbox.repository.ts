import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import { Prisma } from '../../generated/prisma/client.js';
import type { TransactionalAdapterPrisma } from '@nestjs-cls/transactional-adapter-prisma';
import type { PrismaService } from '../../infra/prisma/prisma.service';
import { uuidV7 } from '../../shared/uuid-v7';
import type { EventType, NewEvent } from './domain/event-catalogue';
import type { EventEnvelope } from './event-envelope.dto';

interface OutboxRow {
  id: string;
  seq: bigint;
  type: string;
  aggregate_type: string;
  aggregate_id: string;
  payload: Prisma.JsonValue;
  occurred_at: Date;
}

function toEnvelope(row: OutboxRow): EventEnvelope {
  return {
    id: row.id,
    seq: row.seq.toString(),
    type: row.type as EventType,
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    occurredAt: row.occurred_at.toISOString(),
    payload: row.payload as EventEnvelope['payload'],
  };
}

export interface OutboxBacklog {
  unpublished: number;
  oldestUnpublishedAt: Date | null;
}

/** Outbox rows. Reads across tenants are system reads by nature: events carry no owner filter. */
@Injectable()
export class OutboxRepository {
  constructor(private readonly txHost: TransactionHost<TransactionalAdapterPrisma<PrismaService>>) {}

  // Inside @Transactional the ambient transaction client, otherwise the pooled client.
  private get tx(): TransactionHost<TransactionalAdapterPrisma<PrismaService>>['tx'] {
    return this.txHost.tx;
  }

  // Raw SQL: every order placement writes one, and a raw insert skips Prisma's query planning.
  async insert(event: NewEvent, occurredAt: Date): Promise<EventEnvelope> {
    const id = uuidV7(occurredAt);
    const [row] = await this.tx.$queryRaw<Array<{ seq: bigint }>>`
      INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, occurred_at, publish_count)
      VALUES (${id}::uuid, ${event.type}, ${event.aggregateType}, ${event.aggregateId},
              ${JSON.stringify(event.payload)}::jsonb, ${occurredAt}, 0)
      RETURNING seq`;
    if (row === undefined) throw new Error('outbox insert returned no row');
    return toEnvelope({
      id,
      seq: row.seq,
      type: event.type,
      aggregate_type: event.aggregateType,
      aggregate_id: event.aggregateId,
      payload: event.payload,
      occurred_at: occurredAt,
    });
  }

  /** Several events in one statement (a matching run records hundreds). */
  async insertMany(events: readonly NewEvent[], occurredAt: Date): Promise<void> {
    if (events.length === 0) return;
    await this.tx.outboxEvent.createMany({
      data: events.map((event) => ({
        type: event.type,
        aggregateType: event.aggregateType,
        aggregateId: event.aggregateId,
        payload: event.payload,
        occurredAt,
      })),
    });
  }

  /** Locks the oldest unpublished events; concurrent relays skip each other's rows. */
  async systemClaimUnpublished(limit: number): Promise<EventEnvelope[]> {
    const rows = await this.tx.$queryRaw<OutboxRow[]>`
      SELECT id, seq, type, aggregate_type, aggregate_id, payload, occurred_at
      FROM outbox_events
      WHERE published_at IS NULL
      ORDER BY seq
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED`;
    return rows.map(toEnvelope);
  }

  async systemMarkPublished(ids: readonly string[], at: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.tx.outboxEvent.updateMany({
      where: { id: { in: [...ids] } },
      data: { publishedAt: at, publishCount: { increment: 1 } },
    });
  }

  /**
   * Published events of the given types that `consumer` has not recorded in its inbox, published
   * inside [since, before): candidates for re-publication when their job was lost.
   */
  async systemFindUnconsumed(
    consumer: string,
    types: readonly EventType[],
    since: Date,
    before: Date,
    limit: number,
  ): Promise<EventEnvelope[]> {
    const rows = await this.tx.$queryRaw<OutboxRow[]>`
      SELECT e.id, e.seq, e.type, e.aggregate_type, e.aggregate_id, e.payload, e.occurred_at
      FROM outbox_events e
      WHERE e.published_at >= ${since} AND e.published_at < ${before}
        AND e.type = ANY(${[...types]}::varchar[])
        AND NOT EXISTS (
          SELECT 1 FROM inbox_events i WHERE i.consumer = ${consumer} AND i.event_id = e.id)
      ORDER BY e.seq
      LIMIT ${limit}`;
    return rows.map(toEnvelope);
  }

  async systemCountRepublished(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.tx.outboxEvent.updateMany({
      where: { id: { in: [...ids] } },
      data: { publishCount: { increment: 1 } },
    });
  }

  /** Deletes up to `batch` events published before `cutoff`; returns how many. */
  async systemPrunePublished(cutoff: Date, batch: number): Promise<number> {
    return this.tx.$executeRaw`
      DELETE FROM outbox_events WHERE id IN (
        SELECT id FROM outbox_events
        WHERE published_at < ${cutoff}
        LIMIT ${batch})`;
  }

  async systemBacklog(): Promise<OutboxBacklog> {
    const [row] = await this.tx.$queryRaw<Array<{ unpublished: bigint; oldest: Date | null }>>`
      SELECT count(*) AS unpublished, min(occurred_at) AS oldest
      FROM outbox_events WHERE published_at IS NULL`;
    return { unpublished: Number(row?.unpublished ?? 0), oldestUnpublishedAt: row?.oldest ?? null };
  }
}
