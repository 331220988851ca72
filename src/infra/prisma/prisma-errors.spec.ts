import { DatabaseError } from 'pg';
import { DomainError } from '@/shared/domain-error';
import { TransactionExpiredError } from './pg-tx-client';
import { isLockConflict, mapPrismaError } from './prisma-errors';

/** An error as a raw pg transaction (PgTxClient) reports it: pg's DatabaseError with the SQLSTATE. */
const pgFailure = (code: string): DatabaseError =>
  Object.assign(new DatabaseError('x', 0, 'error'), { code });

const rawFailure = (code: string): Error =>
  Object.assign(
    new Error(
      `Invalid \`prisma.$queryRaw()\` invocation:\n\nRaw query failed. Code: \`${code}\`. Message: \`x\``,
    ),
    {
      code: 'P2010',
      meta: { code, message: 'x' },
    },
  );

describe('isLockConflict', () => {
  it('recognises deadlocks, lock timeouts and serialization failures, however Prisma reports them', () => {
    expect(isLockConflict(rawFailure('40P01'))).toBe(true);
    expect(isLockConflict(rawFailure('55P03'))).toBe(true);
    expect(isLockConflict(rawFailure('40001'))).toBe(true);
    expect(
      isLockConflict(
        Object.assign(new Error('Transaction failed due to a write conflict or a deadlock'), {
          code: 'P2034',
        }),
      ),
    ).toBe(true);
  });

  it('leaves every other failure alone', () => {
    expect(isLockConflict(rawFailure('23514'))).toBe(false);
    expect(isLockConflict(Object.assign(new Error('Unique constraint failed'), { code: 'P2002' }))).toBe(
      false,
    );
    expect(isLockConflict(new Error('connection refused'))).toBe(false);
    expect(isLockConflict(undefined)).toBe(false);
  });
});

describe('a raw pg transaction’s errors', () => {
  it('are lock conflicts when their SQLSTATE says so, and nothing else is', () => {
    for (const code of ['40P01', '55P03', '40001']) expect(isLockConflict(pgFailure(code))).toBe(true);
    expect(isLockConflict(pgFailure('23514'))).toBe(false);
  });

  it('map unique and foreign-key violations to CONFLICT, as Prisma’s do', () => {
    for (const code of ['23505', '23503']) {
      const mapped = mapPrismaError(pgFailure(code));
      expect(mapped).toBeInstanceOf(DomainError);
      expect((mapped as DomainError).code).toBe('CONFLICT');
    }
    const other = pgFailure('23514');
    expect(mapPrismaError(other)).toBe(other);
  });

  it('map a unit past its time to the 503 of a busy database, as Prisma’s P2028', () => {
    const mapped = mapPrismaError(new TransactionExpiredError('the transaction ran past its 5000 ms'));
    expect(mapped).toBeInstanceOf(DomainError);
    expect(mapped).toMatchObject({ code: 'SERVICE_UNAVAILABLE', details: { reason: 'DATABASE_BUSY' } });
  });
});
