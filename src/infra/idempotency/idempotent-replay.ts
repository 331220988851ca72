/**
 * The answer to a request whose key already holds a stored response with the same fingerprint,
 * found by the unit of work that claimed its deferred record (a group commit): the interceptor
 * answers `body` with `statusCode` as a replay, like one it found itself.
 */
export class IdempotentReplay extends Error {
  override readonly name = 'IdempotentReplay';

  constructor(
    readonly statusCode: number,
    readonly body: unknown,
  ) {
    super('idempotent replay');
  }
}
