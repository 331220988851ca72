import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { EventType } from '../../infra/events/event-catalogue';
import {
  EventConsumer,
  type EventConsumerOptions,
  type EventHandler,
} from '../../infra/events/event-consumer';

export interface RegisteredConsumer extends EventConsumerOptions {
  handler: EventHandler;
}

/** Finds every `@EventConsumer` provider once at start-up. */
@Injectable()
export class EventConsumersRegistry implements OnModuleInit {
  private consumers: RegisteredConsumer[] = [];

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    const found: RegisteredConsumer[] = [];
    for (const wrapper of this.discovery.getProviders({ metadataKey: EventConsumer.KEY })) {
      const options = this.discovery.getMetadataByDecorator(EventConsumer, wrapper);
      const instance = wrapper.instance as Partial<EventHandler> | undefined;
      if (!options || !instance || typeof instance.handle !== 'function') continue;
      if (found.some((c) => c.consumer === options.consumer)) {
        throw new Error(`two event consumers are named "${options.consumer}"`);
      }
      found.push({ ...options, handler: instance as EventHandler });
    }
    this.consumers = found;
  }

  all(): readonly RegisteredConsumer[] {
    return this.consumers;
  }

  for(type: EventType): readonly RegisteredConsumer[] {
    return this.consumers.filter((c) => c.types.includes(type));
  }
}
