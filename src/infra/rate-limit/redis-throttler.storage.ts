import { Injectable, Logger } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import {
  IDEMPOTENCY_LOCK_TTL_MS,
  type LockClaim,
  type LockOutcome,
} from '@/infra/idempotency/idempotency-locks';
import { RedisService } from '@/infra/redis/redis.service';

// One round trip: count the hit, start the window on the first, block past the limit; then,
// unless blocked, take the idempotency lock KEYS[3] for token ARGV[4] if one is asked for.
const INCREMENT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
local blocked = redis.call('PTTL', KEYS[2])
if blocked <= 0 and hits > tonumber(ARGV[2]) and tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  blocked = tonumber(ARGV[3])
end
local locked = -1
if KEYS[3] and blocked <= 0 then
  if redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[5], 'NX') then locked = 1 else locked = 0 end
end
return {hits, ttl, blocked, locked}`;

/** A count, and the outcome of the lock asked for with it (UNAVAILABLE also when none was asked for). */
export type CountAndLock = ThrottlerStorageRecord & { lock: LockOutcome };

/**
 * Rate-limit counters in Redis, so every API process shares them. Written here because
 * @nest-lab/throttler-storage-redis does not declare NestJS 12 support; it is one script, which
 * also takes an idempotent request's in-flight lock (RateLimitGuard).
 */
@Injectable()
export class RedisThrottlerStorage implements ThrottlerStorage {
  private readonly logger = new Logger('RateLimit');
  private readonly countAndLock: ReturnType<RedisService['script']>;

  constructor(private readonly redis: RedisService) {
    this.countAndLock = redis.script('cxRateLimitCountAndLock', INCREMENT);
  }

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    return this.incrementAndLock(key, ttl, limit, blockDuration, throttlerName, undefined);
  }

  async incrementAndLock(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
    lock: LockClaim | undefined,
  ): Promise<CountAndLock> {
    const base = this.redis.key('rl', throttlerName, key);
    const keys = lock === undefined ? [base, `${base}:blocked`] : [base, `${base}:blocked`, lock.lockKey];
    const args =
      lock === undefined
        ? [ttl, limit, blockDuration]
        : [ttl, limit, blockDuration, lock.token, IDEMPOTENCY_LOCK_TTL_MS];
    let result: [number, number, number, number];
    try {
      result = (await this.countAndLock(keys.length, ...keys, ...args)) as [number, number, number, number];
    } catch (error) {
      // Fail open: with Redis down, requests that need only PostgreSQL should still be served.
      this.logger.warn(`rate limiting skipped, Redis unavailable: ${(error as Error).message}`);
      return { totalHits: 0, timeToExpire: 0, isBlocked: false, timeToBlockExpire: 0, lock: 'UNAVAILABLE' };
    }
    const [hits, ttlMs, blockedMs, locked] = result;
    const isBlocked = blockedMs > 0;
    return {
      totalHits: hits,
      timeToExpire: Math.max(0, Math.ceil(ttlMs / 1000)),
      isBlocked,
      timeToBlockExpire: isBlocked ? Math.ceil(blockedMs / 1000) : 0,
      lock: locked === 1 ? 'ACQUIRED' : locked === 0 ? 'HELD' : 'UNAVAILABLE',
    };
  }
}
