import type { EventPayloads } from './event-payloads';

export type { EventPayloads } from './event-payloads';

/**
 * The public event catalogue: every event the exchange emits, as webhooks and SSE deliver them.
 * Names and payloads (event-payloads.ts) are a contract; docs/EVENTS.md is generated from both.
 */
export const EVENT_TYPES = [
  'offer.placed',
  'offer.amended',
  'offer.cancelled',
  'offer.serving_changed',
  'bid.placed',
  'bid.cancelled',
  'bid.replacement_refused',
  'order.expired',
  'order.filled',
  'lease.created',
  'lease.started',
  'lease.ended',
  'lease.terminated',
  'lease.termination_scheduled',
  'lease.reclaimed',
  'lease.extended',
  'lease.failure_reported',
  'lease.report_decided',
  'usage.reported',
  'period.settled',
  'dispute.opened',
  'dispute.resolved',
  'slo.credited',
  'topup.confirmed',
  'payout.paid',
  'balance.low',
  'organisation.verified',
  'organisation.suspended',
  'organisation.reinstated',
  'market.paused',
  'market.resumed',
  'market.fee_changed',
  'market.matching_changed',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A payload as producers build it: JSON, where an optional field may be absent. */
type JsonPayload = { [key: string]: JsonValue | undefined };

// Fails to compile when a payload type holds something JSON cannot carry (a Date, a bigint).
type AllJson<T extends { [K in EventType]: JsonPayload }> = T;
export type CheckedEventPayloads = AllJson<EventPayloads>;

/**
 * What a producer records in the outbox, inside its business transaction: one member per type,
 * so `outbox.record({ type: 'bid.placed', payload })` refuses a payload of the wrong shape.
 */
export type NewEvent<T extends EventType = EventType> = {
  [K in T]: { type: K; aggregateType: string; aggregateId: string; payload: CheckedEventPayloads[K] };
}[T];

/** The payload as stored: absent optional fields dropped, as JSON.stringify would. */
export function payloadJson(payload: JsonPayload): JsonObject {
  const json: JsonObject = {};
  for (const [field, value] of Object.entries(payload)) if (value !== undefined) json[field] = value;
  return json;
}
