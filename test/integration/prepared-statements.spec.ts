import { PrismaService } from '@/infra/prisma/prisma.service';
import { DatabasePool } from '@/infra/prisma/database-pool';
import { testConfig } from '../support/test-env';

interface Prepared {
  name: string;
  statement: string;
  generic_plans: bigint;
  custom_plans: bigint;
}

/**
 * The process's Prisma client names its statements (src/infra/prisma/statement-names.ts), so a
 * statement run again on a connection is bound and executed, not parsed and planned again.
 * One connection, so every statement below meets the same backend.
 */
describe('named prepared statements', () => {
  const prisma = new PrismaService(testConfig(), new DatabasePool(1, 5_000, 5_000));
  const prepared = (): Promise<Prepared[]> =>
    prisma.$queryRaw<
      Prepared[]
    >`SELECT name, statement, generic_plans, custom_plans FROM pg_prepared_statements`;

  afterAll(() => prisma.$disconnect());

  it('prepares a repeated statement once on its connection, and runs it by name after', async () => {
    for (let i = 0; i < 8; i += 1) {
      expect(await prisma.$queryRaw<{ n: number }[]>`SELECT ${i}::int AS n`).toEqual([{ n: i }]);
    }
    for (let i = 0; i < 8; i += 1) await prisma.market.findFirst({ where: { slug: `no-such-${i}` } });
    const rows = await prepared();
    const raw = rows.filter((r) => r.statement === 'SELECT $1::int AS n');
    expect(raw).toHaveLength(1);
    expect(raw[0]!.name).toMatch(/^cx_[0-9a-f]{40}$/);
    // Eight executions of the one prepared statement, each with a plan (custom or cached generic).
    expect(Number(raw[0]!.generic_plans + raw[0]!.custom_plans)).toBe(8);
    expect(rows.filter((r) => r.statement.includes('"markets"'))).toHaveLength(1);
  });

  it('keeps interactive transactions, their rollbacks and raw statements working', async () => {
    const slug = `prepared-${Date.now()}`;
    const failure = prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT set_config('application_name', ${slug}, true)`;
      expect(
        await tx.$queryRaw<{ name: string }[]>`SELECT current_setting('application_name') AS name`,
      ).toEqual([{ name: slug }]);
      // A statement that fails inside the transaction, then the rollback.
      await tx.$queryRaw`SELECT 1 / ${0}::int`;
    });
    await expect(failure).rejects.toThrow(/division by zero/);
    // The connection is healthy again and its prepared statements still run.
    const committed = await prisma.$transaction(
      async (tx) => tx.$queryRaw<{ n: number }[]>`SELECT ${41}::int + 1 AS n`,
    );
    expect(committed).toEqual([{ n: 42 }]);
    expect(await prisma.$queryRaw<{ n: number }[]>`SELECT ${3}::int AS n`).toEqual([{ n: 3 }]);
  });
});
