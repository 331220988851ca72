import { DiscoveryService } from '@nestjs/core';
import type { EventType } from './event-catalogue';
import type { TypedEventEnvelope } from './event-envelope.dto';

export interface EventConsumerOptions {
  /** Stable name: the inbox key. Renaming it re-delivers every event to the consumer. */
  consumer: string;
  types: readonly EventType[];
}

/** The metadata `EventConsumer` records; the registry finds consumers by it. */
export const EventConsumerMetadata = DiscoveryService.createDecorator<EventConsumerOptions>();

/**
 * `T`: the types the consumer is registered for, so `handle` narrows on `event.type`. A property,
 * not a method, so that the compiler checks its parameter strictly (methods are bivariant).
 */
export interface EventHandler<T extends EventType = EventType> {
  readonly handle: (event: TypedEventEnvelope<T>) => Promise<void>;
}

/**
 * Marks a provider as an event consumer. Its `handle` runs inside the transaction that records
 * the event in the inbox, so its database effect happens exactly once per event. The class must
 * handle every type it lists: `types: ['a', 'b']` on a handler of `'a'` alone does not compile.
 */
export function EventConsumer<const T extends EventType>(options: {
  consumer: string;
  types: readonly T[];
}): (target: abstract new (...args: never[]) => EventHandler<T>) => void {
  return (target) => EventConsumerMetadata(options)(target);
}

export interface EventTriggerOptions {
  /** Stable name, for logs. */
  trigger: string;
  types: readonly EventType[];
}

/** The metadata `EventTrigger` records; the registry finds triggers by it. */
export const EventTriggerMetadata = DiscoveryService.createDecorator<EventTriggerOptions>();

/** `T`: the types the trigger is registered for (a property, checked strictly). */
export interface EventTriggerHandler<T extends EventType = EventType> {
  readonly onPublished: (events: ReadonlyArray<TypedEventEnvelope<T>>) => Promise<void>;
}

/**
 * Marks a provider as an event trigger: its effect is only adding jobs that are safe to add
 * twice (deduplicated, or idempotent), so it needs no inbox and no `events.deliver` job. The
 * relay calls it with each batch it publishes, before the batch commits: a failed call rolls the
 * batch back, and a repeat after a lost commit adds nothing new. As with `EventConsumer`, the
 * class must take every type it lists.
 */
export function EventTrigger<const T extends EventType>(options: {
  trigger: string;
  types: readonly T[];
}): (target: abstract new (...args: never[]) => EventTriggerHandler<T>) => void {
  return (target) => EventTriggerMetadata(options)(target);
}
