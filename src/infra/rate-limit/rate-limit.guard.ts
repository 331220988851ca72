import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerModuleOptions,
  type ThrottlerRequest,
} from '@nestjs/throttler';
import { IdempotencyLocks } from '@/infra/idempotency/idempotency-locks';
import { RedisThrottlerStorage } from './redis-throttler.storage';

/**
 * @nestjs/throttler's guard, with one change: an idempotent request's in-flight lock is taken in
 * the same Redis script as its count, so a placement costs one round trip for both (docs/API.md).
 * A request refused 429 takes no lock. Headers and the 429 answer are the library's.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() private readonly storage: RedisThrottlerStorage,
    reflector: Reflector,
    private readonly locks: IdempotencyLocks,
  ) {
    super(options, storage, reflector);
  }

  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    const { context, limit, ttl, throttler, blockDuration, getTracker, generateKey } = props;
    const { req, res } = this.getRequestResponse(context);
    const ignoreUserAgents = throttler.ignoreUserAgents ?? this.commonOptions.ignoreUserAgents;
    const userAgent = (req.headers as Record<string, string | undefined>)['user-agent'] ?? '';
    if (ignoreUserAgents?.some((pattern) => pattern.test(userAgent))) return true;
    const tracker = await getTracker(req, context);
    const key = generateKey(context, tracker, throttler.name ?? 'default');
    // The first throttler to count the request takes its lock; others only count.
    const claim = this.locks.claimFor(context);
    const lock = claim?.outcome === undefined ? claim : undefined;
    const record = await this.storage.incrementAndLock(
      key,
      ttl,
      limit,
      blockDuration,
      throttler.name ?? 'default',
      lock,
    );
    const suffix = throttler.name === undefined || throttler.name === 'default' ? '' : `-${throttler.name}`;
    const setHeaders = throttler.setHeaders ?? this.commonOptions.setHeaders ?? true;
    if (record.isBlocked) {
      if (setHeaders) this.setResponseHeader(res, `Retry-After${suffix}`, record.timeToBlockExpire);
      await this.throwThrottlingException(context, { limit, ttl, key, tracker, ...record });
    }
    if (lock !== undefined) lock.outcome = record.lock;
    if (setHeaders) {
      this.setResponseHeader(res, `${this.headerPrefix}-Limit${suffix}`, limit);
      this.setResponseHeader(
        res,
        `${this.headerPrefix}-Remaining${suffix}`,
        Math.max(0, limit - record.totalHits),
      );
      this.setResponseHeader(res, `${this.headerPrefix}-Reset${suffix}`, record.timeToExpire);
    }
    return true;
  }
}
