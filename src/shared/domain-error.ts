/**
 * Error codes the API returns in the `code` field. Services throw DomainError with one of
 * these; the HTTP filter maps the code to a status. Adding a code forces a status below.
 */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  BAD_REQUEST: 400,
  // A `tz` that is not an IANA time zone name.
  INVALID_TIME_ZONE: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  // The bid's hold (or a withdrawal) is more than the organisation's available credit.
  INSUFFICIENT_FUNDS: 402,
  // The bid's hold would take the organisation's committed spend this month past its own cap.
  SPEND_CAP_EXCEEDED: 402,
  CONFLICT: 409,
  // A provider asked for a payout while it owes a penalty its earnings did not cover.
  RECEIVABLE_OPEN: 409,
  PAYLOAD_TOO_LARGE: 413,
  // A path parameter longer than the router takes (200 characters).
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE: 422,
  // Token counts beyond what the lease's GPUs could serve in the period (docs/USAGE.md); flagged.
  USAGE_ABOVE_CAPACITY: 422,
  // An inference bid for a model no live offer serves within its SLO (and provinces); `details.alternatives`.
  MODEL_NOT_SERVED: 422,
  // An inference bid whose throughput the offers that serve its model cannot sustain; `details.alternatives`.
  THROUGHPUT_UNREACHABLE: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}
