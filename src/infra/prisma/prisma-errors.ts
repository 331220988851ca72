import { DatabaseError } from 'pg';
import { DomainError } from '@/shared/domain-error';
import { DatabaseBusyError } from './bounded-pool';
import { TransactionExpiredError } from './pg-tx-client';

/** `details.reason` of a 503 answered because no database connection was free (docs/API.md, Overload). */
export const DATABASE_BUSY = 'DATABASE_BUSY';

const databaseBusy = (): DomainError =>
  new DomainError('SERVICE_UNAVAILABLE', 'The service is busy; retry shortly.', {
    reason: DATABASE_BUSY,
    retryAfterSeconds: 1,
  });

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
 * NOT_FOUND), and a raw pg transaction's unique and foreign-key violations as Prisma's; anything
 * else is returned unchanged for the caller to rethrow.
 */
export function mapPrismaError(error: unknown): unknown {
  // A raw pg transaction past its time, as Prisma's P2028: load, not a bug.
  if (error instanceof DatabaseBusyError || error instanceof TransactionExpiredError) return databaseBusy();
  if (error instanceof DatabaseError) return mapPgError(error);
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
      return databaseBusy();
    default:
      return error;
  }
}

/** A raw pg transaction's errors (PgTxClient), mapped as their Prisma counterparts are. */
function mapPgError(error: DatabaseError): unknown {
  // unique_violation (Prisma's P2002), foreign_key_violation (P2003)
  if (error.code === '23505')
    return new DomainError('CONFLICT', 'A resource with these values already exists.');
  if (error.code === '23503')
    return new DomainError('CONFLICT', 'A referenced resource does not exist or is in use.');
  // query_canceled: a statement ran past its unit's time (statement_timeout), as P2028.
  if (error.code === '57014') return databaseBusy();
  return error;
}

// PostgreSQL's deadlock_detected, lock_not_available (lock_timeout) and serialization_failure.
const LOCK_CONFLICT_SQLSTATES = ['40P01', '55P03', '40001'];

/**
 * Whether a transaction failed only because it met another's locks (deadlock, lock timeout,
 * serialization failure): nothing is wrong with its data, and doing the work again is the cure.
 * Prisma reports these as P2034, or as a raw query failure naming the SQLSTATE; a raw pg
 * transaction (PgTxClient) as pg's DatabaseError with the SQLSTATE as its code.
 */
export function isLockConflict(error: unknown): boolean {
  if (isPrismaKnownError(error) && error.code === 'P2034') return true;
  if (error instanceof DatabaseError) return LOCK_CONFLICT_SQLSTATES.includes(error.code ?? '');
  const message = error instanceof Error ? error.message : '';
  const code = (error as { meta?: { code?: unknown } } | null)?.meta?.code;
  return LOCK_CONFLICT_SQLSTATES.some(
    (state) =>
      code === state || message.includes(`Code: \`${state}\``) || message.includes(`SQLSTATE ${state}`),
  );
}
