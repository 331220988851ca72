import { randomUUID } from 'node:crypto';
import type { OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Clock } from './clock';

// Moves the shared instant and announces it in one step, numbered so a late notice cannot undo a newer one.
const MOVE = `
if ARGV[1] == 'set' then redis.call('SET', KEYS[1], ARGV[2]) else redis.call('INCRBY', KEYS[1], ARGV[2]) end
local now = redis.call('GET', KEYS[1])
local seq = redis.call('INCR', KEYS[2])
return {now, seq, redis.call('PUBLISH', KEYS[3], seq .. ':' .. now .. ':' .. ARGV[3])}`;

// The first process pins the instant at its start value; later ones adopt it.
const JOIN = `
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]) or '0'}`;

// Every clock acknowledges a move within this; one that does not (a stopped process) is not waited for.
const ACK_TIMEOUT_MS = 2_000;
const ACK_POLL_MS = 2;

/**
 * Test clock shared through Redis: the instant is one key, and every move is published to each
 * process's clock, which acknowledges it. `set` and `advance` return once every subscribed
 * clock shows the new instant, so `now()` stays a plain read. Refused in production by
 * configuration validation.
 */
export class ControllableClock extends Clock implements OnApplicationShutdown {
  private current: number;
  private seq = 0;

  private constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly key: string,
  ) {
    super();
    this.current = 0;
  }

  /** Subscribes to moves, then adopts the shared instant (pinning it at `initial` if unset). */
  static async join(redis: Redis, key: string, initial: number): Promise<ControllableClock> {
    const subscriber = redis.duplicate({ enableAutoPipelining: false });
    subscriber.on('error', () => undefined);
    const clock = new ControllableClock(redis, subscriber, key);
    subscriber.on('message', (_channel: string, message: string) => clock.onMove(message));
    await subscriber.subscribe(clock.channel);
    const [now, seq] = (await redis.eval(JOIN, 2, key, clock.seqKey, String(initial))) as [string, string];
    clock.adopt(Number(seq), Number(now));
    return clock;
  }

  now(): Date {
    return new Date(this.current);
  }

  async set(at: Date): Promise<void> {
    await this.move('set', at.getTime());
  }

  async advance(ms: number): Promise<Date> {
    await this.move('advance', Math.trunc(ms));
    return this.now();
  }

  onApplicationShutdown(): void {
    this.stop();
  }

  stop(): void {
    this.subscriber.disconnect();
  }

  private get seqKey(): string {
    return `${this.key}:seq`;
  }

  private get channel(): string {
    return `${this.key}:moved`;
  }

  private ackKey(nonce: string): string {
    return `${this.key}:ack:${nonce}`;
  }

  private async move(kind: 'set' | 'advance', value: number): Promise<void> {
    const nonce = randomUUID();
    const [now, seq, receivers] = (await this.redis.eval(
      MOVE,
      3,
      this.key,
      this.seqKey,
      this.channel,
      kind,
      String(value),
      nonce,
    )) as [string, number, number];
    this.adopt(seq, Number(now));
    const ackKey = this.ackKey(nonce);
    for (let waited = 0; waited < ACK_TIMEOUT_MS; waited += ACK_POLL_MS) {
      if ((await this.redis.llen(ackKey)) >= receivers) break;
      await new Promise((resolve) => setTimeout(resolve, ACK_POLL_MS));
    }
    await this.redis.del(ackKey);
  }

  private onMove(message: string): void {
    const [seq, now, nonce] = message.split(':');
    this.adopt(Number(seq), Number(now));
    const ackKey = this.ackKey(nonce ?? '');
    this.redis
      .multi()
      .rpush(ackKey, '1')
      .pexpire(ackKey, ACK_TIMEOUT_MS * 5)
      .exec()
      .catch(() => undefined);
  }

  private adopt(seq: number, now: number): void {
    if (seq < this.seq) return;
    this.seq = seq;
    this.current = now;
  }
}
