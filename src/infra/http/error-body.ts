import { HttpException } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { DomainError, ERROR_STATUS, type ErrorCode } from '@/shared/domain-error';

/** The one error body of every 4xx and 5xx answer. */
export class ErrorBody {
  @ApiProperty({ example: 404 })
  statusCode!: number;

  @ApiProperty({ enum: Object.keys(ERROR_STATUS), example: 'NOT_FOUND' })
  code!: ErrorCode;

  @ApiProperty({ example: 'Not found.' })
  message!: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  details?: Record<string, unknown>;

  @ApiProperty({ example: '0193a0f6-6c52-7a4e-9a51-2f0a6f3c1d2e' })
  requestId!: string;
}

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

function codeFor(status: number): ErrorCode {
  return CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST');
}

/** Fastify's own errors (body parsing, limits) carry a statusCode and an FST_ code. */
interface FastifyLikeError {
  statusCode: number;
  code?: string;
  message: string;
}

function isFastifyError(error: unknown): error is FastifyLikeError {
  return (
    error instanceof Error &&
    typeof (error as unknown as { statusCode?: unknown }).statusCode === 'number' &&
    (error as unknown as { statusCode: number }).statusCode >= 400
  );
}

// The router's own refusals quote the path; ours do not echo what the caller sent.
const ROUTER_MESSAGES: Readonly<Record<string, string>> = {
  FST_ERR_MAX_PARAM_LENGTH: 'A path segment is longer than 200 characters.',
  FST_ERR_BAD_URL: 'The URL is not valid: a path segment is not valid percent-encoded UTF-8.',
};

/** Maps any thrown value to the common error body. 5xx answers never echo internal messages. */
export function toErrorBody(error: unknown, requestId: string): ErrorBody {
  if (error instanceof DomainError) {
    return {
      statusCode: error.status,
      code: error.code,
      message: error.message,
      ...(error.details ? { details: error.details } : {}),
      requestId,
    };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    if (
      status === 400 &&
      typeof response === 'object' &&
      Array.isArray((response as { message?: unknown }).message)
    ) {
      // ValidationPipe: one entry per failed constraint.
      return {
        statusCode: status,
        code: 'VALIDATION_FAILED',
        message: 'The request is invalid.',
        details: { errors: (response as { message: string[] }).message },
        requestId,
      };
    }
    const message =
      typeof response === 'string'
        ? response
        : typeof (response as { message?: unknown }).message === 'string'
          ? (response as { message: string }).message
          : error.message;
    const extra =
      typeof response === 'object' && !('message' in response)
        ? { details: response as Record<string, unknown> }
        : {};
    return {
      statusCode: status,
      code: codeFor(status),
      message: status >= 500 && status !== 503 ? 'Internal error.' : message,
      ...extra,
      requestId,
    };
  }
  if (isFastifyError(error) && error.statusCode < 500) {
    return {
      statusCode: error.statusCode,
      code: codeFor(error.statusCode),
      message: (error.code !== undefined ? ROUTER_MESSAGES[error.code] : undefined) ?? error.message,
      requestId,
    };
  }
  return { statusCode: 500, code: 'INTERNAL', message: 'Internal error.', requestId };
}
