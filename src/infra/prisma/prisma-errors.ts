import { DomainError } from '../../shared/domain-error';

interface PrismaKnownError {
  code: string;
  meta?: Record<string, unknown>;
}

function isPrismaKnownError(error: unknown): error is PrismaKnownError {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof error.code === 'string' &&
    /^P\d{4}$/.test((error as { code: string }).code)
  );
}

/**
 * Turns Prisma's known errors into domain errors (unique violation -> CONFLICT, missing row ->
 * NOT_FOUND); anything else is returned unchanged for the caller to rethrow.
 */
export function mapPrismaError(error: unknown): unknown {
  if (!isPrismaKnownError(error)) return error;
  switch (error.code) {
    case 'P2002':
      return new DomainError('CONFLICT', 'A resource with these values already exists.');
    case 'P2025':
      return new DomainError('NOT_FOUND', 'Not found.');
    case 'P2003':
      return new DomainError('CONFLICT', 'A referenced resource does not exist or is in use.');
    // Connection pool exhausted or a transaction could not start in time: load, not a bug.
    case 'P2024':
    case 'P2028':
      return new DomainError('SERVICE_UNAVAILABLE', 'The service is busy; retry shortly.', {
        retryAfterSeconds: 1,
      });
    default:
      return error;
  }
}
