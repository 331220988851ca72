import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '@/infra/clock/clock';
import { RedisService, type RedisScript } from '@/infra/redis/redis.service';

/** Failed API-key authentications per source (client IP) in API_KEY_FAILURE_WINDOW_SECONDS. */
export const API_KEY_FAILURES_PER_SOURCE = 30;
/** Failed authentications per key prefix, all sources together, in the same window. */
export const API_KEY_FAILURES_PER_PREFIX = 30;
export const API_KEY_FAILURE_WINDOW_SECONDS = 15 * 60;
/** Blocked sources one process remembers; beyond it the oldest make room. */
const REMEMBERED_BLOCKS_MAX = 10_000;

// One round trip per failure: count it for its source and its prefix; return both counts and
// the milliseconds left in each window.
const RECORD = `
local source = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
local prefix = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[1], 'NX')
return {source, redis.call('PTTL', KEYS[1]), prefix, redis.call('PTTL', KEYS[2])}`;

// The milliseconds a source is still blocked for, or 0.
const CHECK = `
local source = tonumber(redis.call('GET', KEYS[1]) or '0')
if source < tonumber(ARGV[1]) then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then return ttl end
return 0`;

/**
 * Failed API-key authentications, counted in Redis so every API process shares them; only failures
 * cost a round trip, and Redis trouble fails open (docs/API.md).
 */
@Injectable()
export class ApiKeyLimiter {
  private readonly logger = new Logger(ApiKeyLimiter.name);
  private readonly blockedSources = new Map<string, number>();

  private readonly check: RedisScript;
  private readonly record: RedisScript;

  constructor(
    private readonly redis: RedisService,
    private readonly clock: Clock,
  ) {
    this.check = redis.script('cxApiKeyFailureCheck', CHECK);
    this.record = redis.script('cxApiKeyFailureRecord', RECORD);
  }

  /**
   * The milliseconds this source is still refused for, or 0: from this process's memory, and
   * also from Redis when `askShared` (callers pass it when they are about to read the database).
   */
  async sourceBlockedFor(source: string, askShared: boolean): Promise<number> {
    const now = this.clock.now().getTime();
    const until = this.blockedSources.get(source);
    if (until !== undefined) {
      if (until > now) return until - now;
      this.blockedSources.delete(source);
    }
    if (!askShared) return 0;
    try {
      const ttl = (await this.check(
        1,
        this.redis.key('authfail', 'src', source),
        API_KEY_FAILURES_PER_SOURCE,
      )) as number;
      if (ttl > 0) this.rememberBlock(source, now + ttl);
      return ttl;
    } catch (error) {
      this.logger.warn(`API key failure limit not checked, Redis unavailable: ${(error as Error).message}`);
      return 0;
    }
  }

  /** Counts a failure; returns the milliseconds to tell the caller to wait (429), or 0 (401). */
  async recordFailure(source: string, prefix: string): Promise<number> {
    let counts: [number, number, number, number];
    try {
      counts = (await this.record(
        2,
        this.redis.key('authfail', 'src', source),
        this.redis.key('authfail', 'key', prefix),
        API_KEY_FAILURE_WINDOW_SECONDS,
      )) as [number, number, number, number];
    } catch (error) {
      this.logger.warn(`API key failure not counted, Redis unavailable: ${(error as Error).message}`);
      return 0;
    }
    const [sourceFailures, sourceTtl, prefixFailures, prefixTtl] = counts;
    // The failure that reaches the limit is still answered 401; the source's next request is not.
    if (sourceFailures >= API_KEY_FAILURES_PER_SOURCE && sourceTtl > 0) {
      this.rememberBlock(source, this.clock.now().getTime() + sourceTtl);
    }
    if (sourceFailures > API_KEY_FAILURES_PER_SOURCE) return Math.max(sourceTtl, 1);
    if (prefixFailures > API_KEY_FAILURES_PER_PREFIX) return Math.max(prefixTtl, 1);
    return 0;
  }

  private rememberBlock(source: string, until: number): void {
    this.blockedSources.delete(source);
    if (this.blockedSources.size >= REMEMBERED_BLOCKS_MAX) {
      const oldest = this.blockedSources.keys().next();
      if (oldest.done !== true) this.blockedSources.delete(oldest.value);
    }
    this.blockedSources.set(source, until);
  }
}
