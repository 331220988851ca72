import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { RedisService } from '../../../infra/redis/redis.service';
import { DomainError } from '../../../shared/domain-error';

const WINDOW_SECONDS = 15 * 60;
export const LOGIN_FAILURES_PER_ACCOUNT = 5;
export const LOGIN_FAILURES_PER_IP = 30;

/**
 * Counts failed logins per account and per client IP in Redis (shared by every API process).
 * Past the limit, login answers 429 with Retry-After before any password is checked.
 */
@Injectable()
export class LoginLimiter {
  constructor(private readonly redis: RedisService) {}

  private keys(email: string, ip: string): { account: string; ip: string } {
    const account = createHash('sha256').update(email).digest('hex').slice(0, 32);
    return { account: this.redis.key('login', 'acct', account), ip: this.redis.key('login', 'ip', ip) };
  }

  async assertAllowed(email: string, ip: string): Promise<void> {
    const keys = this.keys(email, ip);
    const [account, perIp] = await this.redis.client.mget(keys.account, keys.ip);
    const blocked =
      Number(account ?? 0) >= LOGIN_FAILURES_PER_ACCOUNT
        ? keys.account
        : Number(perIp ?? 0) >= LOGIN_FAILURES_PER_IP
          ? keys.ip
          : undefined;
    if (blocked === undefined) return;
    const ttl = await this.redis.client.ttl(blocked);
    throw new DomainError('RATE_LIMITED', 'Too many failed logins; try again later.', {
      retryAfterSeconds: Math.max(1, ttl),
    });
  }

  async recordFailure(email: string, ip: string): Promise<void> {
    const keys = this.keys(email, ip);
    await this.redis.client
      .multi()
      .incr(keys.account)
      .expire(keys.account, WINDOW_SECONDS, 'NX')
      .incr(keys.ip)
      .expire(keys.ip, WINDOW_SECONDS, 'NX')
      .exec();
  }

  async recordSuccess(email: string, ip: string): Promise<void> {
    await this.redis.client.del(this.keys(email, ip).account);
  }
}
