import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { TransactionHost } from '@nestjs-cls/transactional';
import { ClsService } from 'nestjs-cls';
import { createHmac } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { requestFingerprint } from '@/shared/canonical-json';
import { DomainError } from '@/shared/domain-error';
import { Clock } from '@/infra/clock/clock';
import { AppConfig } from '@/infra/config/app-config';
import {
  IDEMPOTENCY_HEADER,
  IDEMPOTENT,
  type IdempotentOptions,
  type JsonPath,
} from './idempotent.decorator';
import { IDEMPOTENCY_KEY_FORMAT, IdempotencyLocks, type LockClaim } from './idempotency-locks';
import { IdempotencyRepository } from './idempotency.repository';
import { DeferredIdempotencyRecord, type IdempotencyRecordDraft } from './deferred-idempotency-record';
import { IdempotentReplay } from './idempotent-replay';

export const IDEMPOTENCY_RETENTION_MS = 24 * 3_600_000;
const HTTP_CODE_METADATA = '__httpCode__';

/**
 * Required Idempotency-Key on routes marked @Idempotent(): effect and stored response commit
 * together (the group commit's transaction on `groupCommit` routes); docs/API.md.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly fingerprintKey: Buffer;

  constructor(
    private readonly reflector: Reflector,
    private readonly records: IdempotencyRepository,
    private readonly txHost: TransactionHost,
    private readonly locks: IdempotencyLocks,
    private readonly clock: Clock,
    private readonly cls: ClsService,
    config: AppConfig,
  ) {
    // Derived from the pepper, distinct from the caller-scope key (IdempotencyLocks).
    this.fingerprintKey = createHmac('sha256', config.secrets.API_KEY_PEPPER)
      .update('idempotency fingerprint', 'utf8')
      .digest();
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const options = this.reflector.get<IdempotentOptions | undefined>(IDEMPOTENT, context.getHandler());
    if (options === undefined) return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const claim = this.locks.claimFor(context);
    if (claim === undefined) {
      const key = request.headers[IDEMPOTENCY_HEADER];
      if (typeof key !== 'string' || !IDEMPOTENCY_KEY_FORMAT.test(key)) {
        throw new DomainError(
          'VALIDATION_FAILED',
          'An Idempotency-Key header (1-255 visible ASCII characters) is required for this request.',
          { field: 'Idempotency-Key' },
        );
      }
      throw new DomainError('UNAUTHENTICATED', 'Authentication is required.');
    }
    const fingerprint = requestFingerprint(
      request.method,
      claim.path,
      without(request.body ?? null, options.unfingerprinted ?? []),
      this.fingerprintKey,
    );
    const status =
      this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ??
      (request.method === 'POST' ? 201 : 200);
    const withheld = options.withheld ?? [];
    const draft = (responseBody: unknown, at: Date): IdempotencyRecordDraft => ({
      scope: claim.scope,
      key: claim.idempotencyKey,
      fingerprint,
      statusCode: status,
      responseBody: nulled(JSON.parse(JSON.stringify(responseBody ?? null)) as unknown, withheld),
      at,
      expiresAt: new Date(at.getTime() + IDEMPOTENCY_RETENTION_MS),
    });
    return from(this.run(claim, fingerprint, draft, options.groupCommit === true, reply, next));
  }

  private async run(
    claim: LockClaim,
    fingerprint: string,
    draft: (body: unknown, at: Date) => IdempotencyRecordDraft,
    groupCommit: boolean,
    reply: FastifyReply,
    next: CallHandler,
  ): Promise<unknown> {
    const { scope, idempotencyKey: key } = claim;
    // The lock comes first, so each request looks its record up once: a holder of the lock sees
    // any response committed before it, and a request refused the lock still replays one. The
    // rate limiter has usually taken it already, in its own round trip.
    const locked = await this.locks.acquire(claim);
    if (locked !== 'ACQUIRED') {
      // Refused the lock (or Redis is down): a completed request still replays.
      const replayed = await this.replay(scope, key, fingerprint, reply);
      if (replayed.found) return replayed.body;
      if (locked === 'UNAVAILABLE') {
        throw new DomainError(
          'SERVICE_UNAVAILABLE',
          'Idempotent requests are unavailable for a moment; retry shortly.',
          { retryAfterSeconds: 5 },
        );
      }
      throw new DomainError(
        'CONFLICT',
        'A request with this Idempotency-Key is still in progress; retry later.',
      );
    }
    // Once a record exists the lock may simply lapse: a request refused it replays the record.
    let recorded = false;
    try {
      if (groupCommit) {
        const outcome = await this.runGroupCommitted(claim, fingerprint, draft, reply, next);
        recorded = true;
        return outcome;
      }
      const replayed = await this.replay(scope, key, fingerprint, reply);
      if (replayed.found) {
        recorded = true;
        return replayed.body;
      }
      const result = await this.txHost.withTransaction(async () => {
        const body: unknown = await lastValueFrom(next.handle() as Observable<unknown>, {
          defaultValue: null,
        });
        // Postgres is the guard if the Redis lock was lost: a live record under this key makes
        // the insert refuse, and this transaction (with its effect) rolls back.
        const stored = await this.records.store(draft(body, this.clock.now()));
        if (!stored) {
          throw new DomainError(
            'CONFLICT',
            'A request with this Idempotency-Key completed concurrently; retry to get its response.',
          );
        }
        return body;
      });
      recorded = true;
      return result;
    } finally {
      // A failed request stored nothing, so a corrected retry may reuse the key at once.
      if (!recorded) await this.locks.release(claim);
    }
  }

  /**
   * A group-committed request: the group commit looks its key up in its own transaction (one
   * statement for the whole batch rather than one per request before it) and answers a stored
   * response with `IdempotentReplay`. A request refused before it reached the group commit (a
   * check of the service's, say an expiry now past) looks its key up here, so a stored response
   * still wins, as it would have had the lookup come first.
   */
  private async runGroupCommitted(
    claim: LockClaim,
    fingerprint: string,
    draft: (body: unknown, at: Date) => IdempotencyRecordDraft,
    reply: FastifyReply,
    next: CallHandler,
  ): Promise<unknown> {
    const deferred = new DeferredIdempotencyRecord(
      { scope: claim.scope, key: claim.idempotencyKey, fingerprint },
      draft,
    );
    let body: unknown;
    try {
      body = await this.cls.run({ ifNested: 'inherit' }, () => {
        deferred.put(this.cls);
        return lastValueFrom(next.handle() as Observable<unknown>, { defaultValue: null });
      });
    } catch (error) {
      if (error instanceof IdempotentReplay) {
        void reply.status(error.statusCode).header('idempotent-replayed', 'true');
        return error.body;
      }
      if (!deferred.claimed) {
        const replayed = await this.replay(claim.scope, claim.idempotencyKey, fingerprint, reply);
        if (replayed.found) return replayed.body;
      }
      throw error;
    }
    // The group commit inserted the record with the effect; an answer without one is a bug.
    if (!deferred.claimed) throw new Error('a group-committed route answered without its idempotency record');
    return body;
  }

  private async replay(
    scope: string,
    key: string,
    fingerprint: string,
    reply: FastifyReply,
  ): Promise<{ found: false } | { found: true; body: unknown }> {
    const stored = await this.records.find(scope, key);
    if (!stored || stored.expiresAt <= this.clock.now()) return { found: false };
    if (stored.fingerprint !== fingerprint) {
      throw new DomainError(
        'UNPROCESSABLE',
        'This Idempotency-Key was already used with a different request.',
      );
    }
    void reply.status(stored.statusCode).header('idempotent-replayed', 'true');
    return { found: true, body: stored.responseBody };
  }
}

/** A copy of `value` without the fields at `paths`; untouched branches are shared, not copied. */
function without(value: unknown, paths: readonly JsonPath[]): unknown {
  return paths.reduce<unknown>(
    (current, path) =>
      rewriteAt(current, path.split('.'), (record, field) => {
        delete record[field];
      }),
    value,
  );
}

/** A copy of `value` with the fields at `paths` set to null where present. */
function nulled(value: unknown, paths: readonly JsonPath[]): unknown {
  return paths.reduce<unknown>(
    (current, path) =>
      rewriteAt(current, path.split('.'), (record, field) => {
        record[field] = null;
      }),
    value,
  );
}

function rewriteAt(
  value: unknown,
  [field, ...rest]: string[],
  leaf: (record: Record<string, unknown>, field: string) => void,
): unknown {
  if (field === undefined || typeof value !== 'object' || value === null || Array.isArray(value))
    return value;
  if (!Object.hasOwn(value, field)) return value;
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  if (rest.length === 0) leaf(copy, field);
  else copy[field] = rewriteAt(copy[field], rest, leaf);
  return copy;
}
