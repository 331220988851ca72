import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorBody } from './error-body';

export type ErrorStatus = 400 | 401 | 402 | 403 | 404 | 409 | 422 | 429 | 503;

/** An answer's description, by status; an empty string documents the status alone. */
export type ErrorAnswers = Partial<Record<ErrorStatus, string>>;

// What a bare status says when the route has nothing more specific to add.
const STANDARD: ErrorAnswers = {
  401: 'Missing, invalid or revoked credentials',
  429: 'Rate limit exceeded; see Retry-After',
};

/**
 * The OpenAPI error answers of a route or controller, each with the ErrorBody schema:
 * `@ApiErrors(401, 429, { 404: 'No such site among yours' })`.
 */
export function ApiErrors(...answers: Array<ErrorStatus | ErrorAnswers>): ClassDecorator & MethodDecorator {
  const described = answers.flatMap((answer) =>
    typeof answer === 'number'
      ? [[answer, STANDARD[answer] ?? ''] as const]
      : Object.entries(answer).map(([status, description]) => [Number(status), description] as const),
  );
  return applyDecorators(
    ...described.map(([status, description]) =>
      ApiResponse({ status, type: ErrorBody, ...(description === '' ? {} : { description }) }),
    ),
  );
}
