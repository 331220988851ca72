import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { databaseUrl, workerDatabaseName } from '../support/test-env';
import { waitFor } from '../support/wait-for';

/**
 * The group commit's read, `order_placement_lock` (docs/ARCHITECTURE.md "Group commit of
 * placements"): what it reads after a placement lock it waited for includes what the holder
 * committed meanwhile, as separate statements would. One statement would read in the snapshot it
 * started with, before the wait, and count too few live bids.
 */
describe('order_placement_lock', () => {
  const holder = new Client({ connectionString: databaseUrl(workerDatabaseName()) });
  const waiter = new Client({ connectionString: databaseUrl(workerDatabaseName()) });
  const organisationId = randomUUID();

  beforeAll(async () => {
    await holder.connect();
    await waiter.connect();
    await holder.query(
      `INSERT INTO organisations (id, name, role, updated_at) VALUES ($1, 'lock buyer', 'BUYER', now())`,
      [organisationId],
    );
  });

  afterAll(async () => {
    await holder.query('DELETE FROM bids WHERE organisation_id = $1', [organisationId]);
    await holder.end();
    await waiter.end();
  });

  /** The function as MarketsRepository calls it, asking for the organisation's live bids. */
  const lockAndCount = (client: Client) =>
    client.query<{ seqs: string[]; live_bids: Array<{ organisationId: string; n: number }> }>(
      `SELECT l.seqs, l.live_bids FROM order_placement_lock(
         $1::text[], 1, '{}'::uuid[], '{}'::text[], '{}'::text[], now(), $1::uuid[], ARRAY['OPEN', 'PARTIALLY_FILLED'],
         '{}'::uuid[], '{}'::uuid[], '{}'::uuid[], '{}'::text[], now()) AS l`,
      [[organisationId]],
    );

  it('counts the live bids a batch it waited for committed', async () => {
    await holder.query('BEGIN');
    const first = await lockAndCount(holder);
    expect(first.rows[0]!.live_bids).toEqual([]);
    await holder.query(
      `INSERT INTO bids (id, organisation_id, market_id, gpus, max_price_per_gpu_hour, duration_hours, min_gpus_per_site,
                         partial_allowed, billing_mode, expires_at, seq, created_at, updated_at)
       SELECT $1, $2, (SELECT id FROM markets ORDER BY slug LIMIT 1), 1, 100, 1, 1, true, 'RESERVED',
              now() + interval '1 day', $3, now(), now()`,
      [randomUUID(), organisationId, first.rows[0]!.seqs[0]],
    );
    // The second batch starts before the first commits and waits on the placement lock.
    await waiter.query('BEGIN');
    const second = lockAndCount(waiter);
    const pid = (waiter as unknown as { processID: number }).processID;
    await waitFor('the second batch to wait on the placement lock', async () => {
      const { rows } = await holder.query<{ wait_event: string | null }>(
        'SELECT wait_event FROM pg_stat_activity WHERE pid = $1',
        [pid],
      );
      return rows[0]?.wait_event === 'advisory' ? true : undefined;
    });
    await holder.query('COMMIT');
    const { rows } = await second;
    await waiter.query('COMMIT');
    expect(rows[0]!.live_bids).toEqual([{ organisationId, n: 1 }]);
  });
});
