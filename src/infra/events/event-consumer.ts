import { DiscoveryService } from '@nestjs/core';
import type { EventType } from './event-catalogue';
import type { EventEnvelope } from './event-envelope.dto';

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

export interface EventHandler {
  handle(event: EventEnvelope): Promise<void>;
}
