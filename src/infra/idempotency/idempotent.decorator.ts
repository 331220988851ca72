import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';

export const IDEMPOTENT = 'idempotency:required';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** Dotted paths into a JSON body, e.g. `owner.password` or `apiKey.key`. */
export type JsonPath = string;

export interface IdempotentOptions {
  /**
   * For routes without a principal (registration): names the caller from the raw request body,
   * and keys are scoped by a keyed hash of that name, so callers never meet under one key.
   * Absent: keys are scoped per organisation.
   */
  callerOf?: (body: unknown) => string;
  /** Request fields left out of the fingerprint (passwords): no fast hash of them is stored. */
  unfingerprinted?: readonly JsonPath[];
  /** Response fields never stored (secrets shown once): a replay answers them as null. */
  withheld?: readonly JsonPath[];
  /**
   * The handler's effect commits in a group commit (order placement), not in a transaction of
   * this request: the record is inserted there, claimed through DeferredIdempotencyRecord.
   */
  groupCommit?: boolean;
}

/**
 * The route creates a resource or moves money: an `Idempotency-Key` header is required (400
 * without). The same key and body replay the stored response (with `withheld` fields null); a
 * different body is 422; a request still in flight with that key is 409. See docs/DESIGN.md.
 */
export const Idempotent = (options: IdempotentOptions = {}): MethodDecorator =>
  applyDecorators(
    SetMetadata(IDEMPOTENT, options),
    ApiHeader({
      name: 'Idempotency-Key',
      required: true,
      description: 'Unique per intended operation (1-255 visible ASCII characters); kept at least 24 h.',
    }),
    ApiErrors({
      409: 'A request with this Idempotency-Key is still in flight',
      422: 'This Idempotency-Key was used with a different request',
    }),
  );
