import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import type { ExecutionContext } from '@nestjs/common';
import { AppConfig } from '@/infra/config/app-config';
import { RedisService } from '@/infra/redis/redis.service';
import { IdempotencyLocksModule } from '@/infra/idempotency/idempotency-locks.module';
import { RateLimitGuard } from './rate-limit.guard';
import { RedisThrottlerStorage } from './redis-throttler.storage';

interface TrackedRequest {
  ip: string;
  principal?: { kind: string; apiKeyId?: string; userId?: string };
}

/** Who a request counts against: its API key, its signed-in person, or else its IP. */
export function trackerOf(request: TrackedRequest): string {
  const principal = request.principal;
  if (principal?.kind === 'api_key' && principal.apiKeyId) return `key:${principal.apiKeyId}`;
  if (principal?.userId) return `user:${principal.userId}`;
  return `ip:${request.ip}`;
}

/**
 * Per-key (or per-person) limits on authenticated routes, per-IP limits on public ones; 429 with
 * Retry-After. Registered after the AuthGuard so the principal is known. The same round trip
 * takes an idempotent request's in-flight lock (RateLimitGuard).
 */
@Module({
  imports: [
    IdempotencyLocksModule,
    ThrottlerModule.forRootAsync({
      inject: [AppConfig, RedisService],
      useFactory: (config: AppConfig, redis: RedisService) => ({
        throttlers: [
          {
            name: 'default',
            ttl: 60_000,
            limit: (context: ExecutionContext) =>
              context.switchToHttp().getRequest<TrackedRequest>().principal
                ? config.env.RATE_LIMIT_PER_MINUTE
                : config.env.RATE_LIMIT_PUBLIC_PER_MINUTE,
          },
        ],
        storage: new RedisThrottlerStorage(redis),
        getTracker: (request: Record<string, unknown>) => trackerOf(request as unknown as TrackedRequest),
      }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
})
export class RateLimitModule {}
