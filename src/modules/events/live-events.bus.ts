import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisService } from '@/infra/redis/redis.service';
import type { PublishedBatch } from './outbox.repository';

/** Called with the organisations whose streams should read the outbox again ([EVERYONE]: all). */
export type WakeListener = (audience: readonly string[]) => void;

/**
 * Live fan-out across processes through Redis pub/sub. The relay announces, after its commit,
 * which organisations a batch concerns; every API process wakes its streams of those
 * organisations, which then read the outbox, and every worker its webhook dispatcher. The message is only a wake-up, never the event:
 * the database stays the one source of what a stream sends, so a lost or reordered message
 * cannot lose or reorder an event (a stream also re-reads on every heartbeat).
 */
@Injectable()
export class LiveEventsBus implements OnApplicationShutdown {
  private readonly logger = new Logger(LiveEventsBus.name);
  private readonly channel: string;
  private subscriber: Redis | undefined;
  private subscribed: Promise<unknown> | undefined;
  private readonly listeners = new Set<WakeListener>();

  constructor(private readonly redis: RedisService) {
    this.channel = redis.key('events', 'live');
  }

  async announce(batch: PublishedBatch): Promise<void> {
    if (batch.audience.length === 0) return;
    await this.redis.client.publish(this.channel, JSON.stringify({ audience: batch.audience }));
  }

  /** Starts listening on first use, so a process nobody listens in holds no subscriber. */
  async listen(listener: WakeListener): Promise<() => void> {
    this.listeners.add(listener);
    if (!this.subscriber) {
      const subscriber = this.redis.client.duplicate({ enableAutoPipelining: false });
      subscriber.on('error', (error: Error) => this.logger.warn(`live events subscriber: ${error.message}`));
      subscriber.on('message', (_channel: string, message: string) => this.dispatch(message));
      this.subscriber = subscriber;
      // ioredis re-subscribes by itself after a reconnect.
      this.subscribed = subscriber.subscribe(this.channel);
    }
    // Every caller waits for the subscription: a stream reads the outbox only once it would hear.
    await this.subscribed;
    return () => this.listeners.delete(listener);
  }

  private dispatch(message: string): void {
    let audience: unknown;
    try {
      audience = (JSON.parse(message) as { audience?: unknown }).audience;
    } catch {
      return;
    }
    if (!Array.isArray(audience)) return;
    const ids = audience.filter((id): id is string => typeof id === 'string');
    for (const listener of this.listeners) listener(ids);
  }

  onApplicationShutdown(): void {
    this.listeners.clear();
    this.subscriber?.disconnect();
    this.subscriber = undefined;
    this.subscribed = undefined;
  }
}
