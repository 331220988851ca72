import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { Clock } from '@/infra/clock/clock';
import { RedisService, type RedisScript } from '@/infra/redis/redis.service';
import { DomainError } from '@/shared/domain-error';

/** Failed logins per (account, source) answered without delay; each one after waits longer. */
export const LOGIN_FREE_FAILURES = 4;
/** The wait after the first failure past the free ones; it doubles with each further failure. */
export const LOGIN_FIRST_DELAY_SECONDS = 15;
export const LOGIN_MAX_DELAY_SECONDS = 15 * 60;
/** Failed logins per source (client IP), all accounts together, in LOGIN_SOURCE_WINDOW_SECONDS. */
export const LOGIN_FAILURES_PER_SOURCE = 30;
export const LOGIN_SOURCE_WINDOW_SECONDS = 15 * 60;
// An (account, source) pair's failures are forgotten this long after its last wait ends.
const PAIR_MEMORY_MS = 60 * 60_000;

// Reserves one attempt atomically, so parallel guesses cannot all slip past the check while their
// passwords are being verified: refused while the source is over its limit or the pair must still
// wait; otherwise counted, and an attempt past the free ones sets the pair's next wait before its
// password is checked. Returns the milliseconds still to wait, or 0.
const RESERVE = `
local now = tonumber(ARGV[1])
local source = tonumber(redis.call('GET', KEYS[2]) or '0')
if source >= tonumber(ARGV[3]) then
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then return ttl end
end
local wait_until = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if wait_until > now then return wait_until - now end
local failures = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[2], 'NX')
local wait = 0
if failures > tonumber(ARGV[4]) then
  wait = math.min(tonumber(ARGV[5]) * 2 ^ math.min(failures - tonumber(ARGV[4]) - 1, 30), tonumber(ARGV[6]))
  redis.call('HSET', KEYS[1], 'until', string.format('%d', now + wait))
end
redis.call('PEXPIRE', KEYS[1], string.format('%d', wait + tonumber(ARGV[7])))
return 0`;

// A success frees the pair and gives its slot on the source counter back (never below zero).
const SUCCEED = `
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 0`;

/**
 * Failed logins, counted in Redis (shared by every API process): growing waits per (account,
 * source) and a limit per source, so guessing is slow while the owner, from a source that has
 * not failed, still signs in. Each attempt reserves a slot before the password is checked; a
 * success gives it back. Refused attempts answer 429 with Retry-After. See docs/API.md.
 */
@Injectable()
export class LoginLimiter {
  private readonly reserve: RedisScript;
  private readonly succeed: RedisScript;

  constructor(
    private readonly redis: RedisService,
    private readonly clock: Clock,
  ) {
    this.reserve = redis.script('cxLoginReserve', RESERVE);
    this.succeed = redis.script('cxLoginSucceed', SUCCEED);
  }

  private keys(email: string, source: string): { pair: string; source: string } {
    const account = createHash('sha256').update(email).digest('hex').slice(0, 32);
    return {
      pair: this.redis.key('login', 'pair', account, source),
      source: this.redis.key('login', 'src', source),
    };
  }

  async reserveAttempt(email: string, source: string): Promise<void> {
    const keys = this.keys(email, source);
    const waitMs = (await this.reserve(
      2,
      keys.pair,
      keys.source,
      this.clock.now().getTime(),
      LOGIN_SOURCE_WINDOW_SECONDS,
      LOGIN_FAILURES_PER_SOURCE,
      LOGIN_FREE_FAILURES,
      LOGIN_FIRST_DELAY_SECONDS * 1000,
      LOGIN_MAX_DELAY_SECONDS * 1000,
      PAIR_MEMORY_MS,
    )) as number;
    if (waitMs > 0) {
      throw new DomainError('RATE_LIMITED', 'Too many failed logins; try again later.', {
        retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
      });
    }
  }

  /** A successful login was not a failure: the pair starts afresh and the source gets its slot back. */
  async recordSuccess(email: string, source: string): Promise<void> {
    const keys = this.keys(email, source);
    await this.succeed(2, keys.pair, keys.source);
  }
}
