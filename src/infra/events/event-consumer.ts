import { DiscoveryService } from '@nestjs/core';
import type { EventType } from './event-catalogue';
import type { TypedEventEnvelope } from './event-envelope.dto';

export interface EventConsumerOptions {
  /** Stable name: the inbox key. Renaming it re-delivers every event to the consumer. */
  consumer: string;
  types: readonly EventType[];
}

/**
 * Marks a provider as an event consumer. Its `handle` runs inside the transaction that records
 * the event in the inbox, so its database effect happens exactly once per event.
 */
export const EventConsumer = DiscoveryService.createDecorator<EventConsumerOptions>();

/** `T`: the types the consumer is registered for, so `handle` narrows on `event.type`. */
export interface EventHandler<T extends EventType = EventType> {
  handle(event: TypedEventEnvelope<T>): Promise<void>;
}
