import { isLockConflict } from './prisma-errors';

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
