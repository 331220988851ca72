import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { RedisService } from '../../../infra/redis/redis.service';
import { DomainError } from '../../../shared/domain-error';

const WINDOW_SECONDS = 15 * 60;
export const LOGIN_FAILURES_PER_ACCOUNT = 5;
export const LOGIN_FAILURES_PER_IP = 30;

// Reserves one attempt on both counters atomically, so parallel guesses cannot all slip past the
// check while their passwords are being verified. Returns the TTL of a counter over its limit.
const RESERVE = `
local account = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
local ip = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[1], 'NX')
if account > tonumber(ARGV[2]) then return redis.call('TTL', KEYS[1]) end
if ip > tonumber(ARGV[3]) then return redis.call('TTL', KEYS[2]) end
return 0`;

/**
 * Failed logins per account and per client IP, counted in Redis (shared by every API process).
 * Each attempt reserves a slot before the password is checked; a success gives the account's
 * slots back. Past the limit, login answers 429 with Retry-After.
 */
@Injectable()
export class LoginLimiter {
  constructor(private readonly redis: RedisService) {}

  private keys(email: string, ip: string): { account: string; ip: string } {
    const account = createHash('sha256').update(email).digest('hex').slice(0, 32);
    return { account: this.redis.key('login', 'acct', account), ip: this.redis.key('login', 'ip', ip) };
  }

  async reserveAttempt(email: string, ip: string): Promise<void> {
    const keys = this.keys(email, ip);
    const retryAfter = (await this.redis.client.eval(
      RESERVE,
      2,
      keys.account,
      keys.ip,
      WINDOW_SECONDS,
      LOGIN_FAILURES_PER_ACCOUNT,
      LOGIN_FAILURES_PER_IP,
    )) as number;
    if (retryAfter !== 0) {
      throw new DomainError('RATE_LIMITED', 'Too many failed logins; try again later.', {
        retryAfterSeconds: Math.max(1, retryAfter),
      });
    }
  }

  /** A successful login was not a failure: it frees its slots on both counters. */
  async recordSuccess(email: string, ip: string): Promise<void> {
    const keys = this.keys(email, ip);
    await this.redis.client.multi().del(keys.account).decr(keys.ip).exec();
  }
}
