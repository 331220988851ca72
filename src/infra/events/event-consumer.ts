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

export interface EventTriggerOptions {
  /** Stable name, for logs. */
  trigger: string;
  types: readonly EventType[];
}

/**
 * Marks a provider as an event trigger: its effect is only adding jobs that are safe to add
 * twice (deduplicated, or idempotent), so it needs no inbox and no `events.deliver` job. The
 * relay calls it with each batch it publishes, before the batch commits: a failed call rolls the
 * batch back, and a repeat after a lost commit adds nothing new.
 */
export const EventTrigger = DiscoveryService.createDecorator<EventTriggerOptions>();

/** `T`: the types the trigger is registered for. */
export interface EventTriggerHandler<T extends EventType = EventType> {
  onPublished(events: ReadonlyArray<TypedEventEnvelope<T>>): Promise<void>;
}
