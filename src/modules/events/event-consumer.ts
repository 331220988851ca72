import { DiscoveryService } from '@nestjs/core';
import type { EventType } from './domain/event-catalogue';
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
  /**
   * Runs after the transaction of `handle` committed, on every delivery of the event (also when
   * the inbox says it was handled before), so it must be idempotent: for work that may only
   * start once the effect is visible, such as enqueueing jobs that read the rows it wrote.
   */
  afterCommit?(event: EventEnvelope): Promise<void>;
}
