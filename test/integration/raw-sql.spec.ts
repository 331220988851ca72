import { Client } from 'pg';
import { rawStatements } from '../support/raw-sql';
import { databaseUrl, workerDatabaseName } from '../support/test-env';

/**
 * Prisma's client is checked by the compiler; raw SQL is not. Every raw statement in src/ is
 * PREPAREd (parsed and planned, not run) against the migrated schema, so a renamed or dropped
 * column fails here rather than in production. Budget: ~3 s.
 */
describe('raw SQL against the migrated schema', () => {
  const db = new Client({ connectionString: databaseUrl(workerDatabaseName()) });

  /** The error PostgreSQL gives when preparing `sql`, or null when it prepares. */
  async function prepareError(sql: string): Promise<string | null> {
    try {
      await db.query(`PREPARE cx_raw_sql_check AS ${sql}`);
      await db.query('DEALLOCATE cx_raw_sql_check');
      return null;
    } catch (error) {
      const e = error as { code?: string; message: string };
      return `${e.code ?? '?'} ${e.message}`;
    }
  }

  beforeAll(() => db.connect());
  afterAll(() => db.end());

  it('a statement naming a missing column does not prepare', async () => {
    expect(await prepareError('SELECT l.id, l.no_such_column FROM leases l WHERE l.id = $1')).toMatch(
      /^42703 column l.no_such_column does not exist/,
    );
    expect(await prepareError('SELECT l.id FROM leases l WHERE l.id = $1::uuid')).toBeNull();
  });

  it('every raw statement in src/ prepares', async () => {
    const { statements, unreadable } = rawStatements();
    expect(unreadable).toEqual([]);
    // The scan finds the raw SQL at all (the review counted 77 statements).
    expect(statements.length).toBeGreaterThanOrEqual(70);
    const failures: string[] = [];
    for (const { at, sql } of statements) {
      const error = await prepareError(sql);
      if (error !== null) failures.push(`${at}: ${error}`);
    }
    expect(failures).toEqual([]);
  });
});
