import { Injectable } from '@nestjs/common';
import { Prisma } from '@/generated/prisma/client';
import { uuidV7 } from '@/shared/uuid-v7';
import { eventAudience, EVERYONE } from './domain/event-audience';
import { payloadJson, type EventType, type NewEvent } from '@/infra/events/event-catalogue';
import type { EventEnvelope } from '@/infra/events/event-envelope.dto';
import { Tx } from '@/infra/prisma/tx';
import type { IdempotencyRecordDraft } from '@/infra/idempotency/deferred-idempotency-record';

// Serialises the relays' publication commits (any constant; 'cxSP'), see systemClaimAndMarkPublished.
export const STREAM_POSITION_LOCK = 0x63785350;

/** The claims' shared tail: positions taken after the lock is held, the claimed rows marked published. */
const publishClaimed = (at: Date): Prisma.Sql => Prisma.sql`
      p AS MATERIALIZED (
        SELECT o.id, nextval('outbox_stream_position') AS position
        FROM (SELECT c.id FROM claimed c CROSS JOIN locked ORDER BY c.seq) o)
      UPDATE outbox_events e
      SET published_at = ${at}, publish_count = e.publish_count + 1, stream_position = p.position
      FROM p
      WHERE e.id = p.id
      RETURNING e.id, e.seq, e.type, e.aggregate_type, e.aggregate_id, e.payload, e.occurred_at,
                e.stream_position AS position, e.audience::text[] AS audience`;

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

/** An event as an organisation's stream sends it: its envelope and where it is in commit order. */
export interface StreamedEvent {
  envelope: EventEnvelope;
  position: bigint;
}

/** Where a stream starts: the position to read after, and the seq that names it to the client. */
export interface StreamCursor {
  position: bigint;
  seq: bigint;
}

/** What a relay batch made visible to streams: who may see it, for the live fan-out. */
export interface PublishedBatch {
  audience: string[];
  lastPosition: bigint | null;
}

export interface OutboxBacklog {
  unpublished: number;
  oldestUnpublishedAt: Date | null;
}

/**
 * Events as one JSON array of rows for `jsonb_to_recordset`, ids and audiences made here: one
 * parameter that `pg` sends as it is, where an array per column had every payload stringified,
 * then escaped element by element into an array literal (most of an insert's client work).
 * `JSON.stringify` drops a payload's absent (undefined) fields, as `payloadJson` does.
 */
function outboxJson(events: readonly NewEvent[], occurredAt: Date): string {
  const rows = new Array<OutboxJsonRow>(events.length);
  for (let i = 0; i < events.length; i += 1) {
    const event = events[i]!;
    rows[i] = {
      id: uuidV7(occurredAt),
      type: event.type,
      aggregate_type: event.aggregateType,
      aggregate_id: event.aggregateId,
      payload: event.payload,
      audience: eventAudience(event.type, event.payload),
    };
  }
  return JSON.stringify(rows);
}

interface OutboxJsonRow {
  id: string;
  type: string;
  aggregate_type: string;
  aggregate_id: string;
  payload: NewEvent['payload'];
  audience: string[];
}

/**
 * The INSERT of `insertMany`: one statement whose text does not vary with the number of events.
 * Also carried by another repository's statement as a CTE (`OutboxService.insertion`).
 */
export function insertManySql(events: readonly NewEvent[], occurredAt: Date): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, occurred_at, publish_count, audience)
    SELECT e.id, e.type, e.aggregate_type, e.aggregate_id, e.payload, ${occurredAt}, 0, e.audience
    FROM ROWS FROM (jsonb_to_recordset(${outboxJson(events, occurredAt)}::jsonb)
           AS (id uuid, type text, aggregate_type text, aggregate_id text, payload jsonb, audience uuid[]))
      WITH ORDINALITY AS e(id, type, aggregate_type, aggregate_id, payload, audience, ord)
    ORDER BY e.ord`;
}

/**
 * The insert of a group commit's idempotency records: each is inserted, or replaces an expired one
 * under its key; one whose key a live record holds is not (the statement's RETURNING leaves it out).
 */
export function insertRecordsSql(records: readonly IdempotencyRecordDraft[]): Prisma.Sql {
  return Prisma.sql`
        INSERT INTO idempotency_records (scope, key, fingerprint, status_code, response_body, created_at, expires_at)
        SELECT r.scope, r.key, r.fingerprint, r.status_code, r.body::jsonb, r.created_at, r.expires_at
        FROM unnest(${records.map((r) => r.scope)}::text[], ${records.map((r) => r.key)}::text[],
                    ${records.map((r) => r.fingerprint)}::text[], ${records.map((r) => r.statusCode)}::int[],
                    ${records.map((r) => JSON.stringify(r.responseBody ?? null))}::text[],
                    ${records.map((r) => r.at.toISOString())}::timestamptz[],
                    ${records.map((r) => r.expiresAt.toISOString())}::timestamptz[])
          AS r(scope, key, fingerprint, status_code, body, created_at, expires_at)
        ON CONFLICT (scope, key) DO UPDATE
          SET fingerprint = EXCLUDED.fingerprint, status_code = EXCLUDED.status_code,
              response_body = EXCLUDED.response_body, created_at = EXCLUDED.created_at,
              expires_at = EXCLUDED.expires_at
          WHERE idempotency_records.expires_at <= EXCLUDED.created_at`;
}

/** Outbox rows. Reads across tenants are system reads by nature: events carry no owner filter. */
@Injectable()
export class OutboxRepository {
  constructor(private readonly txHost: Tx) {}

  // Inside @Transactional the ambient transaction client, otherwise the pooled client.
  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  // Raw SQL: every order placement writes one, and a raw insert skips Prisma's query planning.
  async insert(event: NewEvent, occurredAt: Date): Promise<EventEnvelope> {
    const id = uuidV7(occurredAt);
    const payload = payloadJson(event.payload);
    const audience = eventAudience(event.type, payload);
    const [row] = await this.tx.$queryRaw<Array<{ seq: bigint }>>`
      INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, occurred_at, publish_count, audience)
      VALUES (${id}::uuid, ${event.type}, ${event.aggregateType}, ${event.aggregateId},
              ${JSON.stringify(payload)}::jsonb, ${occurredAt}, 0, ${audience}::uuid[])
      RETURNING seq`;
    if (row === undefined) throw new Error('outbox insert returned no row');
    return toEnvelope({
      id,
      seq: row.seq,
      type: event.type,
      aggregate_type: event.aggregateType,
      aggregate_id: event.aggregateId,
      payload,
      occurred_at: occurredAt,
    });
  }

  /**
   * Several events in one statement (a matching run records hundreds, a group commit one per
   * order), `seq` in the given order. Arrays, not a VALUES list, so the text is the same for any
   * number of events and is prepared once (src/infra/prisma/statement-names.ts).
   */
  async insertMany(events: readonly NewEvent[], occurredAt: Date): Promise<void> {
    if (events.length === 0) return;
    await this.tx.$executeRaw(insertManySql(events, occurredAt));
  }

  /**
   * `insertMany` and the idempotency records of the requests whose effects the events announce,
   * in one statement: a group commit of placements ends with it (docs/ARCHITECTURE.md). A record
   * is inserted, or replaces an expired one under its key; returns the positions of the records
   * refused because a live record holds their key (a concurrent duplicate committed first), and
   * the caller then rolls the whole transaction back.
   */
  async insertManyWithRecords(
    events: readonly NewEvent[],
    occurredAt: Date,
    records: readonly IdempotencyRecordDraft[],
  ): Promise<number[]> {
    const stored = await this.tx.$queryRaw<Array<{ scope: string; key: string }>>`
      WITH stored AS (${insertRecordsSql(records)}
        RETURNING scope, key),
      announced AS (${insertManySql(events, occurredAt)})
      SELECT scope, key FROM stored`;
    const written = new Set(stored.map((row) => `${row.scope}\n${row.key}`));
    return records.flatMap((record, i) => (written.has(`${record.scope}\n${record.key}`) ? [] : [i]));
  }

  /**
   * Claims, marks published and positions the oldest unpublished events in one statement. The
   * advisory lock held to the commit keeps positions in commit order; only the leader (`wait`) waits
   * for it (docs/EVENTS.md).
   */
  async systemClaimAndMarkPublished(
    limit: number,
    at: Date,
    wait: boolean,
  ): Promise<{ events: EventEnvelope[]; published: PublishedBatch }> {
    type Row = OutboxRow & { position: bigint; audience: string[] };
    const rows = wait
      ? await this.tx.$queryRaw<Row[]>`
      WITH claimed AS MATERIALIZED (
        SELECT id, seq FROM outbox_events
        WHERE published_at IS NULL
        ORDER BY seq
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED),
      -- Only when there is something to publish: a relay that finds nothing queues behind no one.
      locked AS MATERIALIZED (
        SELECT pg_advisory_xact_lock(${STREAM_POSITION_LOCK}::bigint) FROM (SELECT 1 FROM claimed LIMIT 1) found),
      ${publishClaimed(at)}`
      : await this.tx.$queryRaw<Row[]>`
      WITH pending AS MATERIALIZED (SELECT 1 FROM outbox_events WHERE published_at IS NULL LIMIT 1),
      locked AS MATERIALIZED (
        SELECT pg_try_advisory_xact_lock(${STREAM_POSITION_LOCK}::bigint) AS got FROM pending),
      claimed AS MATERIALIZED (
        SELECT id, seq FROM outbox_events
        WHERE published_at IS NULL AND EXISTS (SELECT 1 FROM locked WHERE got)
        ORDER BY seq
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED),
      ${publishClaimed(at)}`;
    rows.sort((x, y) => (x.seq < y.seq ? -1 : x.seq > y.seq ? 1 : 0));
    const audience = new Set<string>();
    let lastPosition: bigint | null = null;
    for (const row of rows) {
      for (const id of row.audience) audience.add(id);
      if (lastPosition === null || row.position > lastPosition) lastPosition = row.position;
    }
    return { events: rows.map(toEnvelope), published: { audience: [...audience], lastPosition } };
  }

  /**
   * Where an organisation's stream resumes after the event `seq` it was sent: that event's
   * position, if it is one the organisation may see and still retained.
   */
  async findStreamCursor(organisationId: string, seq: bigint): Promise<StreamCursor | null> {
    const [row] = await this.tx.$queryRaw<StreamCursor[]>`
      SELECT stream_position AS position, seq FROM outbox_events
      WHERE seq = ${seq} AND stream_position IS NOT NULL
        AND audience && ARRAY[${organisationId}::uuid, ${EVERYONE}::uuid]`;
    return row ?? null;
  }

  /** The latest published event the organisation may see: where a stream without a cursor starts. */
  async findLatestStreamCursor(organisationId: string): Promise<StreamCursor | null> {
    const [row] = await this.tx.$queryRaw<StreamCursor[]>`
      SELECT stream_position AS position, seq FROM outbox_events
      WHERE stream_position IS NOT NULL
        AND audience && ARRAY[${organisationId}::uuid, ${EVERYONE}::uuid]
      ORDER BY stream_position DESC
      LIMIT 1`;
    return row ?? null;
  }

  /** Published events the organisation may see after `position`, in commit order. */
  async listStreamEvents(organisationId: string, after: bigint, limit: number): Promise<StreamedEvent[]> {
    const rows = await this.tx.$queryRaw<Array<OutboxRow & { position: bigint }>>`
      SELECT id, seq, type, aggregate_type, aggregate_id, payload, occurred_at, stream_position AS position
      FROM outbox_events
      WHERE stream_position > ${after}
        AND audience && ARRAY[${organisationId}::uuid, ${EVERYONE}::uuid]
      ORDER BY stream_position
      LIMIT ${limit}`;
    return rows.map((row) => ({ envelope: toEnvelope(row), position: row.position }));
  }

  /**
   * Published events after `position` in commit order, with who may see them: a batch of the
   * webhook dispatcher, which keeps its own cursor in positions.
   */
  async systemListPublishedAfter(
    position: bigint,
    limit: number,
  ): Promise<Array<StreamedEvent & { audience: string[] }>> {
    const rows = await this.tx.$queryRaw<Array<OutboxRow & { position: bigint; audience: string[] }>>`
      SELECT id, seq, type, aggregate_type, aggregate_id, payload, occurred_at,
             stream_position AS position, audience::text[] AS audience
      FROM outbox_events
      WHERE stream_position > ${position}
      ORDER BY stream_position
      LIMIT ${limit}`;
    return rows.map((row) => ({ envelope: toEnvelope(row), position: row.position, audience: row.audience }));
  }

  /** The newest stream position (0 when none): every position below it is committed and visible. */
  async systemLatestPosition(): Promise<bigint> {
    const [row] = await this.tx.$queryRaw<Array<{ position: bigint | null }>>`
      SELECT max(stream_position) AS position FROM outbox_events`;
    return row?.position ?? 0n;
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
