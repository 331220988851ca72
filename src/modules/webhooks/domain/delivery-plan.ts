import { canSee, EVERYONE, payloadFor } from '@/modules/events/domain/event-audience';
import type { EventEnvelope } from '@/infra/events/event-envelope.dto';

/** A published event as the dispatcher reads it: the envelope and who may see it. */
export interface DispatchedEvent {
  envelope: EventEnvelope;
  audience: readonly string[];
}

export interface PlannedEndpoint {
  id: string;
  organisationId: string;
  /** Empty: every type the organisation may see. */
  eventTypes: readonly string[];
}

export interface PlannedDelivery {
  endpointId: string;
  organisationId: string;
  eventId: string;
  eventSeq: bigint;
  eventType: string;
  /** The envelope with the payload shaped for the organisation, frozen for retries and replays. */
  body: string;
}

/**
 * The organisations whose endpoints a batch concerns, or null when one of its events is for
 * everyone (then every organisation's endpoints do).
 */
export function audienceOf(events: readonly DispatchedEvent[]): string[] | null {
  const ids = new Set<string>();
  for (const event of events) {
    if (event.audience.includes(EVERYONE)) return null;
    for (const id of event.audience) ids.add(id);
  }
  return [...ids];
}

/**
 * One delivery per event and subscribed endpoint of an organisation that may see it, in the
 * events' order. Pure: the dispatcher inserts the result and moves its cursor in one transaction.
 */
export function planDeliveries(
  events: readonly DispatchedEvent[],
  endpoints: readonly PlannedEndpoint[],
): PlannedDelivery[] {
  const deliveries: PlannedDelivery[] = [];
  for (const { envelope, audience } of events) {
    for (const endpoint of endpoints) {
      if (!canSee(audience, endpoint.organisationId)) continue;
      if (endpoint.eventTypes.length > 0 && !endpoint.eventTypes.includes(envelope.type)) continue;
      // The audience stored at record time decides; the shaping hides the other side's fields.
      const payload = payloadFor(envelope.type, envelope.payload, endpoint.organisationId);
      if (payload === null) continue;
      deliveries.push({
        endpointId: endpoint.id,
        organisationId: endpoint.organisationId,
        eventId: envelope.id,
        eventSeq: BigInt(envelope.seq),
        eventType: envelope.type,
        body: JSON.stringify({ ...envelope, payload }),
      });
    }
  }
  return deliveries;
}
