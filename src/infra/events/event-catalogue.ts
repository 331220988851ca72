/**
 * The public event catalogue: every event the exchange emits, as webhooks and SSE will deliver
 * them. Names are a contract; payload shapes are documented in docs/EVENTS.md as they land.
 */
export const EVENT_TYPES = [
  'offer.placed',
  'offer.amended',
  'offer.cancelled',
  'bid.placed',
  'bid.cancelled',
  'order.expired',
  'order.filled',
  'lease.created',
  'lease.started',
  'lease.ended',
  'lease.terminated',
  'usage.reported',
  'period.settled',
  'topup.confirmed',
  'payout.paid',
  'balance.low',
  'organisation.verified',
  'organisation.suspended',
  'organisation.reinstated',
  'market.paused',
  'market.resumed',
  'market.fee_changed',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** What a producer records in the outbox, inside its business transaction. */
export interface NewEvent {
  type: EventType;
  aggregateType: string;
  aggregateId: string;
  payload: JsonObject;
}
