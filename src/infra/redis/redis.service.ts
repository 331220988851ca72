import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AppConfig } from '@/infra/config/app-config';
import { redisOptionsFromUrl } from './redis-connection';

/** A Lua script defined on `RedisService.client`: the number of keys, the keys, then the arguments. */
export type RedisScript = (numberOfKeys: number, ...keysAndArgs: Array<string | number>) => Promise<unknown>;

/**
 * Redis clients for everything that is not BullMQ (BullMQ manages its own connections).
 * `client` queues commands while reconnecting and pipelines those of one tick; `probe` fails
 * fast so readiness can answer 503. A subscriber duplicated from `client` must turn the
 * pipelining off (`duplicate({ enableAutoPipelining: false })`).
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly client: Redis;
  readonly probe: Redis;
  readonly prefix: string;

  constructor(config: AppConfig) {
    const options = redisOptionsFromUrl(config.env.REDIS_URL);
    this.prefix = config.env.REDIS_PREFIX;
    // Commands issued in one tick of the event loop (the rate limits and idempotency locks of the
    // requests one socket poll delivered) go in one write and come back in one read: a loopback
    // write costs this process and Redis about as much as the command itself (docs/ARCHITECTURE.md).
    this.client = new Redis({
      ...options,
      lazyConnect: false,
      maxRetriesPerRequest: 3,
      enableAutoPipelining: true,
    });
    this.probe = new Redis({
      ...options,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1_000,
      retryStrategy: () => 1_000,
    });
    // Errors are reported through readiness; without listeners ioredis prints them raw.
    this.client.on('error', () => undefined);
    this.probe.on('error', () => undefined);
  }

  /** PING through the fail-fast client; waits for a connection in progress up to the timeout. */
  async ping(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      if (this.probe.status !== 'ready') {
        // Right after start the connection may still be opening; that is not an outage.
        const ready = new Promise<void>((resolve) => this.probe.once('ready', () => resolve()));
        await Promise.race([ready, deadline]);
      }
      await Promise.race([this.probe.ping(), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A Lua script as a command of `client`: sent once per connection with EVAL, then as EVALSHA
   * (its SHA-1), so a hot path does not send and Redis does not hash the body on every call;
   * ioredis resends the body itself after a NOSCRIPT (a Redis restart or SCRIPT FLUSH). The
   * returned function takes the number of keys, the keys, then the arguments, like `eval`.
   */
  script(name: string, lua: string): RedisScript {
    this.client.defineCommand(name, { lua });
    const command = (this.client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[
      name
    ]!;
    return (numberOfKeys, ...keysAndArgs) => command.call(this.client, numberOfKeys, ...keysAndArgs);
  }

  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }

  async onApplicationShutdown(): Promise<void> {
    this.client.disconnect();
    this.probe.disconnect();
    await Promise.resolve();
  }
}
