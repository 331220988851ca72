import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiConflictResponse, ApiHeader, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import { ErrorBody } from '../http/error-body';

export const IDEMPOTENT = 'idempotency:required';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/**
 * The route creates a resource or moves money: an `Idempotency-Key` header is required (400
 * without). The same key and body replay the stored response; a different body is 422; a
 * request still in flight with that key is 409. `scope: 'global'` for unauthenticated routes
 * (registration); otherwise keys are scoped per organisation.
 */
export const Idempotent = (scope: 'organisation' | 'global' = 'organisation'): MethodDecorator =>
  applyDecorators(
    SetMetadata(IDEMPOTENT, scope),
    ApiHeader({
      name: 'Idempotency-Key',
      required: true,
      description: 'Unique per intended operation (1-255 visible ASCII characters); kept at least 24 h.',
    }),
    ApiConflictResponse({
      type: ErrorBody,
      description: 'A request with this Idempotency-Key is still in flight',
    }),
    ApiUnprocessableEntityResponse({
      type: ErrorBody,
      description: 'This Idempotency-Key was used with a different request',
    }),
  );
