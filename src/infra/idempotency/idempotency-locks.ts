import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHmac, randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '@/infra/config/app-config';
import { RedisService } from '@/infra/redis/redis.service';
import { IDEMPOTENCY_HEADER, IDEMPOTENT, type IdempotentOptions } from './idempotent.decorator';

/** How long an in-flight request holds its key; a record, once stored, outlives the lock. */
export const IDEMPOTENCY_LOCK_TTL_MS = 60_000;
export const IDEMPOTENCY_KEY_FORMAT = /^[!-~]{1,255}$/;

/** ACQUIRED: this request runs; HELD: another request with the key is in flight; UNAVAILABLE: Redis is not answering. */
export type LockOutcome = 'ACQUIRED' | 'HELD' | 'UNAVAILABLE';

/** The in-flight lock of one idempotent request: its Redis key, its owner token, and once taken, the outcome. */
export interface LockClaim {
  readonly idempotencyKey: string;
  readonly scope: string;
  /** The concrete path, not the route template: rotating key A and key B are different requests. */
  readonly path: string;
  readonly lockKey: string;
  readonly token: string;
  outcome?: LockOutcome;
}

type ClaimedRequest = FastifyRequest & {
  principal?: { organisationId?: string };
  [CLAIM]?: LockClaim | null;
};

const CLAIM = Symbol('idempotency lock claim');

// Release only our own lock: another request may hold the key once ours lapsed.
const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * The in-flight locks of idempotent requests, in Redis so that every API process shares them
 * (docs/API.md, Idempotency). The rate limiter takes a request's lock in the same script as its
 * count (one round trip for both); the idempotency interceptor takes it itself only when no
 * guard did (routes that skip rate limiting).
 */
@Injectable()
export class IdempotencyLocks {
  private readonly callerKey: Buffer;
  private readonly releaseOwn: ReturnType<RedisService['script']>;

  constructor(
    private readonly reflector: Reflector,
    private readonly redis: RedisService,
    config: AppConfig,
  ) {
    this.releaseOwn = redis.script('cxIdempotencyRelease', RELEASE);
    // Derived from the pepper, distinct from the fingerprint key (docs/DESIGN.md).
    this.callerKey = createHmac('sha256', config.secrets.API_KEY_PEPPER)
      .update('idempotency caller scope', 'utf8')
      .digest();
  }

  /**
   * The lock this request takes, or undefined when the route is not idempotent, the key header
   * is missing or malformed, or there is no caller to scope it by (the interceptor answers those).
   * The same claim, with the same token, every time it is asked for one request.
   */
  claimFor(context: ExecutionContext): LockClaim | undefined {
    const request = context.switchToHttp().getRequest<ClaimedRequest>();
    const known = request[CLAIM];
    if (known !== undefined) return known ?? undefined;
    const claim = this.newClaim(context, request);
    request[CLAIM] = claim ?? null;
    return claim;
  }

  private newClaim(context: ExecutionContext, request: ClaimedRequest): LockClaim | undefined {
    const options = this.reflector.get<IdempotentOptions | undefined>(IDEMPOTENT, context.getHandler());
    if (options === undefined) return undefined;
    const idempotencyKey = request.headers[IDEMPOTENCY_HEADER];
    if (typeof idempotencyKey !== 'string' || !IDEMPOTENCY_KEY_FORMAT.test(idempotencyKey)) return undefined;
    const path = request.url.split('?')[0] ?? request.url;
    const scope =
      options.callerOf === undefined
        ? request.principal?.organisationId
        : `caller:${createHmac('sha256', this.callerKey)
            .update(`${path}\n${options.callerOf(request.body ?? null)}`, 'utf8')
            .digest('base64url')}`;
    if (scope === undefined) return undefined;
    return {
      idempotencyKey,
      scope,
      path,
      lockKey: this.redis.key('idem', scope, idempotencyKey),
      token: randomUUID(),
    };
  }

  /** Takes the claim's lock unless it was taken already (by the rate limiter's round trip). */
  async acquire(claim: LockClaim): Promise<LockOutcome> {
    if (claim.outcome !== undefined) return claim.outcome;
    const locked = await this.redis.client
      .set(claim.lockKey, claim.token, 'PX', IDEMPOTENCY_LOCK_TTL_MS, 'NX')
      .then((answer) => (answer === 'OK' ? 'ACQUIRED' : 'HELD'))
      .catch(() => 'UNAVAILABLE' as const);
    claim.outcome = locked;
    return locked;
  }

  /** Gives the lock up (a failed request stored nothing); if Redis is gone it lapses by itself. */
  async release(claim: LockClaim): Promise<void> {
    if (claim.outcome !== 'ACQUIRED') return;
    await this.releaseOwn(1, claim.lockKey, claim.token).catch(() => undefined);
  }
}
