import type { Redis } from 'ioredis';
import { Clock } from './clock';

/**
 * Test clock shared through Redis: the current instant is one key, so every API and worker
 * process that syncs before a request or job sees the same frozen time. Refused in production
 * by configuration validation.
 */
export class ControllableClock extends Clock {
  private current: number;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    initial: number,
  ) {
    super();
    this.current = initial;
  }

  now(): Date {
    return new Date(this.current);
  }

  override async sync(): Promise<void> {
    // First process to sync pins the clock at its start value; later ones adopt it.
    await this.redis.set(this.key, String(this.current), 'NX');
    const stored = await this.redis.get(this.key);
    if (stored !== null) this.current = Number(stored);
  }

  async set(at: Date): Promise<void> {
    await this.redis.set(this.key, String(at.getTime()));
    this.current = at.getTime();
  }

  async advance(ms: number): Promise<Date> {
    await this.sync();
    this.current = await this.redis.incrby(this.key, Math.trunc(ms));
    return this.now();
  }
}
