import { Client } from 'pg';
import { databaseUrl, workerDatabaseName } from '../test/support/test-env';
import { waitFor } from '../test/support/wait-for';
import { LockWaits } from './lock-waits';

// bench:e2e's lock-wait report on real backends: one transaction holds an advisory lock, a second
// waits for it, and the sampler names the pair; with nothing waiting it names none.
describe('LockWaits', () => {
  const url = databaseUrl(workerDatabaseName());
  const holder = new Client({ connectionString: url });
  const waiter = new Client({ connectionString: url });
  const sampler = new Client({ connectionString: url });
  let database = '';

  beforeAll(async () => {
    await Promise.all([holder.connect(), waiter.connect(), sampler.connect()]);
    database = (await sampler.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
  });

  afterAll(async () => {
    await Promise.all([holder.end(), waiter.end(), sampler.end()]);
  });

  it('names the statement that waits and the one its holder ran last', async () => {
    const idle = new LockWaits(sampler, database);
    await idle.sample();
    expect(idle.samples).toBe(1);
    expect(idle.meanWaiting()).toBe(0);
    expect(idle.top(5)).toEqual([]);

    const key = Math.floor(Math.random() * 1e9);
    await holder.query('BEGIN');
    await holder.query('SELECT pg_advisory_xact_lock($1) /* the holder */', [key]);
    await waiter.query('BEGIN');
    const waiting = waiter.query('SELECT pg_advisory_xact_lock($1) /* the waiter */', [key]);
    const waits = new LockWaits(sampler, database);
    try {
      await waitFor('the sampler to see the wait', async () => {
        await waits.sample();
        return waits.top(1).length > 0 ? true : undefined;
      });
    } finally {
      await holder.query('COMMIT');
      await waiting;
      await waiter.query('COMMIT');
    }
    const [first] = waits.top(5);
    expect(first).toEqual({
      pair: 'SELECT pg_advisory_xact_lock($1) /* the waiter */ <= SELECT pg_advisory_xact_lock($1) /* the holder */ [idle in transaction]',
      share: 1,
    });
    expect(waits.meanWaiting()).toBeGreaterThan(0);
    expect(waits.report()[1]).toBe(`  100 % ${first!.pair}`);
  });
});
