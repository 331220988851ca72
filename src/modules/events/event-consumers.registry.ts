import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { EventType } from '@/infra/events/event-catalogue';
import {
  EventConsumerMetadata,
  EventTriggerMetadata,
  type EventConsumerOptions,
  type EventHandler,
  type EventTriggerHandler,
  type EventTriggerOptions,
} from '@/infra/events/event-consumer';
import { typedEnvelope, type EventEnvelope } from '@/infra/events/event-envelope.dto';

export interface RegisteredConsumer extends EventConsumerOptions {
  handler: EventHandler;
}

export interface RegisteredTrigger extends EventTriggerOptions {
  handler: EventTriggerHandler;
}

/** Finds every `@EventConsumer` and `@EventTrigger` provider once at start-up. */
@Injectable()
export class EventConsumersRegistry implements OnModuleInit {
  private consumers: RegisteredConsumer[] = [];
  private triggers: RegisteredTrigger[] = [];

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    const found: RegisteredConsumer[] = [];
    for (const wrapper of this.discovery.getProviders({ metadataKey: EventConsumerMetadata.KEY })) {
      const options = this.discovery.getMetadataByDecorator(EventConsumerMetadata, wrapper);
      const instance = wrapper.instance as Partial<EventHandler> | undefined;
      if (!options || !instance || typeof instance.handle !== 'function') continue;
      if (found.some((c) => c.consumer === options.consumer)) {
        throw new Error(`two event consumers are named "${options.consumer}"`);
      }
      found.push({ ...options, handler: instance as EventHandler });
    }
    this.consumers = found;
    const triggers: RegisteredTrigger[] = [];
    for (const wrapper of this.discovery.getProviders({ metadataKey: EventTriggerMetadata.KEY })) {
      const options = this.discovery.getMetadataByDecorator(EventTriggerMetadata, wrapper);
      const instance = wrapper.instance as Partial<EventTriggerHandler> | undefined;
      if (!options || !instance || typeof instance.onPublished !== 'function') continue;
      triggers.push({ ...options, handler: instance as EventTriggerHandler });
    }
    this.triggers = triggers;
  }

  all(): readonly RegisteredConsumer[] {
    return this.consumers;
  }

  for(type: EventType): readonly RegisteredConsumer[] {
    return this.consumers.filter((c) => c.types.includes(type));
  }

  /** Whether an event of this type needs an `events.deliver` job (an inbox consumer reads it). */
  delivered(type: EventType): boolean {
    return this.for(type).length > 0;
  }

  /** Hands a published batch to every trigger, each with the events of its types. */
  async trigger(events: readonly EventEnvelope[]): Promise<void> {
    for (const { types, handler } of this.triggers) {
      const mine = events.filter((event) => types.includes(event.type)).map(typedEnvelope);
      if (mine.length > 0) await handler.onPublished(mine);
    }
  }
}
