import { Injectable } from '@nestjs/common';
import type { WebhookDeliveryStatus } from '@/generated/prisma/enums';
import { afterPosition, NEWEST_FIRST, type KeysetPosition } from '@/infra/pagination/cursor-codec';
import { Tx } from '@/infra/prisma/tx';
import { uuidV7 } from '@/shared/uuid-v7';

export interface EndpointRecord {
  id: string;
  organisationId: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface AttemptRecord {
  attempt: number;
  run: number;
  startedAt: Date;
  durationMs: number;
  responseStatus: number | null;
  error: string | null;
  succeeded: boolean;
}

export interface DeliveryRecord {
  id: string;
  endpointId: string;
  eventId: string;
  eventSeq: bigint;
  eventType: string;
  status: WebhookDeliveryStatus;
  run: number;
  attempts: number;
  lastAttemptAt: Date | null;
  nextAttemptAt: Date | null;
  lastResponseStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  attemptLog: AttemptRecord[];
}

/** What a delivery attempt needs: the body and where and how to send it. */
export interface DeliveryToSend {
  id: string;
  organisationId: string;
  eventId: string;
  body: string;
  status: WebhookDeliveryStatus;
  run: number;
  attempts: number;
  endpoint: { url: string; secret: Uint8Array; enabled: boolean };
}

export interface NewDelivery {
  endpointId: string;
  organisationId: string;
  eventId: string;
  eventSeq: bigint;
  eventType: string;
  body: string;
}

/** An endpoint the dispatcher may deliver to; empty `eventTypes` means every type. */
export interface SubscribedEndpoint {
  id: string;
  organisationId: string;
  eventTypes: string[];
}

/** A delivery's job key: its id and run. */
export interface QueuedDelivery {
  id: string;
  run: number;
}

export interface AttemptOutcome {
  run: number;
  attempt: number;
  startedAt: Date;
  durationMs: number;
  responseStatus: number | null;
  error: string | null;
  succeeded: boolean;
  /** The delivery's state after the attempt. */
  status: WebhookDeliveryStatus;
  nextAttemptAt: Date | null;
}

/** The webhook dispatch cursor as a pass found it. */
export interface DispatchCursor {
  position: bigint;
  /** Whether any endpoint is enabled: without one a pass only moves the cursor. */
  endpoints: boolean;
}

interface CursorRow {
  position: bigint | null;
  present: boolean;
  endpoints: boolean;
}

function cursorOf(row: CursorRow | undefined): DispatchCursor | 'busy' | 'missing' {
  if (row === undefined || !row.present) return 'missing';
  if (row.position === null) return 'busy';
  return { position: row.position, endpoints: row.endpoints };
}

const ENDPOINT_SELECT = {
  id: true,
  organisationId: true,
  url: true,
  description: true,
  eventTypes: true,
  enabled: true,
  createdAt: true,
  updatedAt: true,
} as const;

/** Attempts shown with each delivery in a listing: the latest ones. */
const ATTEMPTS_SHOWN = 20;

const DELIVERY_SELECT = {
  id: true,
  endpointId: true,
  eventId: true,
  eventSeq: true,
  eventType: true,
  status: true,
  run: true,
  attempts: true,
  lastAttemptAt: true,
  nextAttemptAt: true,
  lastResponseStatus: true,
  lastError: true,
  createdAt: true,
  attemptLog: {
    select: {
      attempt: true,
      run: true,
      startedAt: true,
      durationMs: true,
      responseStatus: true,
      error: true,
      succeeded: true,
    },
    orderBy: { id: 'desc' as const },
    take: ATTEMPTS_SHOWN,
  },
} as const;

/** Webhook endpoints and deliveries. Tenant methods take the organisation's id; workers' say `system`. */
@Injectable()
export class WebhooksRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  async countEndpoints(organisationId: string): Promise<number> {
    return this.tx.webhookEndpoint.count({ where: { organisationId } });
  }

  async createEndpoint(
    organisationId: string,
    endpoint: {
      url: string;
      description: string | null;
      eventTypes: string[];
      secret: Uint8Array;
    },
    at: Date,
  ): Promise<EndpointRecord> {
    return this.tx.webhookEndpoint.create({
      // Prisma's Bytes wants a Uint8Array over a plain ArrayBuffer; a copy gives one.
      data: {
        organisationId,
        ...endpoint,
        secret: new Uint8Array(endpoint.secret),
        createdAt: at,
        updatedAt: at,
      },
      select: ENDPOINT_SELECT,
    });
  }

  async findEndpoint(organisationId: string, id: string): Promise<EndpointRecord | null> {
    return this.tx.webhookEndpoint.findFirst({ where: { id, organisationId }, select: ENDPOINT_SELECT });
  }

  async listEndpoints(
    organisationId: string,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<EndpointRecord[]> {
    return this.tx.webhookEndpoint.findMany({
      where: { organisationId, ...afterPosition(after) },
      select: ENDPOINT_SELECT,
      orderBy: NEWEST_FIRST,
      take: limit + 1,
    });
  }

  async updateEndpoint(
    organisationId: string,
    id: string,
    changes: { url?: string; description?: string | null; eventTypes?: string[]; enabled?: boolean },
    at: Date,
  ): Promise<EndpointRecord | null> {
    const { count } = await this.tx.webhookEndpoint.updateMany({
      where: { id, organisationId },
      data: { ...changes, updatedAt: at },
    });
    return count === 1 ? this.findEndpoint(organisationId, id) : null;
  }

  /** Deletes the endpoint with its deliveries and their attempts; false when it is not the organisation's. */
  async deleteEndpoint(organisationId: string, id: string): Promise<boolean> {
    const { count } = await this.tx.webhookEndpoint.deleteMany({ where: { id, organisationId } });
    return count === 1;
  }

  async listDeliveries(
    organisationId: string,
    endpointId: string,
    status: WebhookDeliveryStatus | undefined,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<DeliveryRecord[]> {
    return this.tx.webhookDelivery.findMany({
      where: {
        organisationId,
        endpointId,
        ...(status === undefined ? {} : { status }),
        ...afterPosition(after),
      },
      select: DELIVERY_SELECT,
      orderBy: NEWEST_FIRST,
      take: limit + 1,
    });
  }

  async findDelivery(organisationId: string, endpointId: string, id: string): Promise<DeliveryRecord | null> {
    return this.tx.webhookDelivery.findFirst({
      where: { id, endpointId, organisationId },
      select: DELIVERY_SELECT,
    });
  }

  /** Puts a finished delivery back to PENDING under a new run; null when it is not the organisation's. */
  async requeueDelivery(
    organisationId: string,
    endpointId: string,
    id: string,
    at: Date,
  ): Promise<{ run: number; status: WebhookDeliveryStatus } | 'not-found' | 'pending'> {
    const current = await this.tx.webhookDelivery.findFirst({
      where: { id, endpointId, organisationId },
      select: { status: true },
    });
    if (!current) return 'not-found';
    const { count } = await this.tx.webhookDelivery.updateMany({
      where: { id, status: { not: 'PENDING' } },
      data: { status: 'PENDING', run: { increment: 1 }, nextAttemptAt: at, updatedAt: at },
    });
    if (count === 0) return 'pending';
    const row = await this.tx.webhookDelivery.findUniqueOrThrow({
      where: { id },
      select: { run: true, status: true },
    });
    return row;
  }

  /** Enabled endpoints of these organisations (`null`: of every organisation), with their types. */
  async systemFindEnabledEndpoints(organisationIds: readonly string[] | null): Promise<SubscribedEndpoint[]> {
    return this.tx.webhookEndpoint.findMany({
      where: {
        enabled: true,
        ...(organisationIds === null ? {} : { organisationId: { in: [...organisationIds] } }),
      },
      select: { id: true, organisationId: true, eventTypes: true },
    });
  }

  /**
   * Takes the dispatch cursor's row lock until the transaction ends, unless another dispatcher
   * holds it: then 'busy' at once, never a wait (docs/EVENTS.md "Webhooks"). With the position,
   * whether any endpoint is enabled. 'missing' on a new database before its first dispatch.
   */
  async systemTakeDispatchCursor(): Promise<DispatchCursor | 'busy' | 'missing'> {
    const [row] = await this.tx.$queryRaw<CursorRow[]>`
      SELECT l.position,
             EXISTS (SELECT 1 FROM webhook_dispatch_cursor WHERE id = 1) AS present,
             EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled) AS endpoints
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (
        SELECT position FROM webhook_dispatch_cursor WHERE id = 1 FOR UPDATE SKIP LOCKED) l ON true`;
    return cursorOf(row);
  }

  /**
   * The dispatch pass with no endpoint anywhere, in one statement outside any transaction: moves
   * the cursor up to the newest stream position (every position below it is committed, as the
   * statement's snapshot sees them) if no endpoint is enabled and no dispatcher holds it. Answers
   * the cursor as found ('busy' while another holds it); its `endpoints` true means nothing moved.
   */
  async systemSkipDispatchCursorToLatest(at: Date): Promise<DispatchCursor | 'busy' | 'missing'> {
    const [row] = await this.tx.$queryRaw<CursorRow[]>`
      WITH latest AS MATERIALIZED (SELECT coalesce(max(stream_position), 0) AS position FROM outbox_events),
      c AS MATERIALIZED (
        SELECT id, position FROM webhook_dispatch_cursor WHERE id = 1 FOR UPDATE SKIP LOCKED),
      e AS MATERIALIZED (SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled) AS endpoints),
      moved AS (
        UPDATE webhook_dispatch_cursor w SET position = latest.position, updated_at = ${at}
        FROM c, e, latest
        WHERE w.id = c.id AND NOT e.endpoints AND c.position < latest.position
        RETURNING w.id)
      SELECT (SELECT position FROM c) AS position,
             EXISTS (SELECT 1 FROM webhook_dispatch_cursor WHERE id = 1) AS present,
             (SELECT endpoints FROM e) AS endpoints,
             EXISTS (SELECT 1 FROM moved) AS moved`;
    return cursorOf(row);
  }

  /** Creates the cursor at `position` unless a concurrent dispatcher just did. */
  async systemCreateDispatchCursor(position: bigint, at: Date): Promise<void> {
    await this.tx.$executeRaw`
      INSERT INTO webhook_dispatch_cursor (id, position, updated_at) VALUES (1, ${position}, ${at})
      ON CONFLICT (id) DO NOTHING`;
  }

  async systemAdvanceDispatchCursor(position: bigint, at: Date): Promise<void> {
    await this.tx.$executeRaw`
      UPDATE webhook_dispatch_cursor SET position = ${position}, updated_at = ${at} WHERE id = 1`;
  }

  /**
   * One delivery per (endpoint, event), a repeated event adding nothing, and the cursor moved to
   * `position`, in one statement whose text does not vary with the number of rows. Returns the
   * rows created, whose jobs the dispatcher enqueues after the commit.
   */
  async systemCreateDeliveriesAndAdvance(
    deliveries: readonly NewDelivery[],
    position: bigint,
    at: Date,
  ): Promise<QueuedDelivery[]> {
    return this.tx.$queryRaw<QueuedDelivery[]>`
      WITH moved AS (
        UPDATE webhook_dispatch_cursor SET position = ${position}, updated_at = ${at} WHERE id = 1
        RETURNING 1)
      INSERT INTO webhook_deliveries (id, endpoint_id, organisation_id, event_id, event_seq, event_type, body,
                                      next_attempt_at, created_at, updated_at)
      SELECT d.id, d.endpoint_id, d.organisation_id, d.event_id, d.event_seq, d.event_type, d.body, ${at}, ${at}, ${at}
      FROM unnest(${deliveries.map(() => uuidV7(at))}::uuid[], ${deliveries.map((d) => d.endpointId)}::uuid[],
                  ${deliveries.map((d) => d.organisationId)}::uuid[], ${deliveries.map((d) => d.eventId)}::uuid[],
                  ${deliveries.map((d) => d.eventSeq.toString())}::bigint[], ${deliveries.map((d) => d.eventType)}::text[],
                  ${deliveries.map((d) => d.body)}::text[])
        WITH ORDINALITY AS d(id, endpoint_id, organisation_id, event_id, event_seq, event_type, body, ord)
      ORDER BY d.ord
      ON CONFLICT (endpoint_id, event_id) DO NOTHING
      RETURNING id, run`;
  }

  /** PENDING deliveries whose next attempt was due before `dueBefore`: their job may be gone. */
  async systemFindOverdueDeliveries(dueBefore: Date, limit: number): Promise<QueuedDelivery[]> {
    return this.tx.webhookDelivery.findMany({
      where: { status: 'PENDING', nextAttemptAt: { lt: dueBefore } },
      select: { id: true, run: true },
      orderBy: { nextAttemptAt: 'asc' },
      take: limit,
    });
  }

  /** Deletes up to `batch` deliveries (with their attempts) finished before `cutoff`; returns how many. */
  async systemPruneFinishedDeliveries(cutoff: Date, batch: number): Promise<number> {
    return this.tx.$executeRaw`
      DELETE FROM webhook_deliveries WHERE id IN (
        SELECT id FROM webhook_deliveries
        WHERE status IN ('SUCCEEDED', 'FAILED') AND updated_at < ${cutoff}
        LIMIT ${batch})`;
  }

  async systemFindDeliveryToSend(id: string): Promise<DeliveryToSend | null> {
    return this.tx.webhookDelivery.findUnique({
      where: { id },
      select: {
        id: true,
        organisationId: true,
        eventId: true,
        body: true,
        status: true,
        run: true,
        attempts: true,
        endpoint: { select: { url: true, secret: true, enabled: true } },
      },
    });
  }

  /** Logs an attempt and moves the delivery on, unless a replay started another run meanwhile. */
  async systemRecordAttempt(id: string, outcome: AttemptOutcome, at: Date): Promise<void> {
    const { count } = await this.tx.webhookDelivery.updateMany({
      where: { id, run: outcome.run, status: 'PENDING' },
      data: {
        status: outcome.status,
        attempts: { increment: 1 },
        lastAttemptAt: outcome.startedAt,
        nextAttemptAt: outcome.nextAttemptAt,
        lastResponseStatus: outcome.responseStatus,
        lastError: outcome.error,
        updatedAt: at,
      },
    });
    if (count === 0) return;
    await this.tx.webhookDeliveryAttempt.create({
      data: {
        deliveryId: id,
        run: outcome.run,
        attempt: outcome.attempt,
        startedAt: outcome.startedAt,
        durationMs: outcome.durationMs,
        responseStatus: outcome.responseStatus,
        error: outcome.error,
        succeeded: outcome.succeeded,
      },
    });
  }

  async systemFailDelivery(id: string, run: number, error: string, at: Date): Promise<void> {
    await this.tx.webhookDelivery.updateMany({
      where: { id, run, status: 'PENDING' },
      data: { status: 'FAILED', lastError: error, nextAttemptAt: null, updatedAt: at },
    });
  }
}
