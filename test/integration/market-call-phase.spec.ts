import { randomUUID } from 'node:crypto';
import { Client, DatabaseError } from 'pg';
import { databaseUrl, workerDatabaseName } from '../support/test-env';

/**
 * A CALL market's phase (docs/MATCHING.md "When a clearing runs"): the database gives each market
 * the middle of the widest gap between the phases of the markets with its window, when it is
 * inserted or its window changes, so that markets with one window clear at spread instants. Each
 * case runs in a transaction it rolls back; the windows used here are the test's own.
 */
describe('markets.call_phase_ms', () => {
  const db = new Client({ connectionString: databaseUrl(workerDatabaseName()) });

  beforeAll(() => db.connect());
  afterAll(() => db.end());
  beforeEach(() => db.query('BEGIN'));
  afterEach(() => db.query('ROLLBACK'));

  async function insertMarket(windowMs: number): Promise<{ id: string; phase: number }> {
    const id = randomUUID();
    const { rows } = await db.query<{ call_phase_ms: number }>(
      `INSERT INTO markets (id, slug, vendor, model, memory_gb, currency, currency_scale, fee_bps, call_window_ms)
       VALUES ($1, $2, 'Test', 'T1', 80, 'CNY', 2, 300, $3) RETURNING call_phase_ms`,
      [id, `phase-${id.slice(0, 8)}`, windowMs],
    );
    return { id, phase: rows[0]!.call_phase_ms };
  }

  const phaseOf = async (id: string): Promise<number> =>
    (await db.query<{ call_phase_ms: number }>('SELECT call_phase_ms FROM markets WHERE id = $1', [id]))
      .rows[0]!.call_phase_ms;

  it('spreads markets with one window evenly, each in the widest gap the others leave', async () => {
    const window = 8_000;
    const { rows } = await db.query('SELECT 1 FROM markets WHERE call_window_ms = $1', [window]);
    expect(rows).toHaveLength(0);
    const phases: number[] = [];
    for (let i = 0; i < 8; i += 1) phases.push((await insertMarket(window)).phase);
    expect(phases).toEqual([0, 4_000, 2_000, 6_000, 1_000, 3_000, 5_000, 7_000]);
    // Another window is another set of instants: it starts from 0 again.
    expect((await insertMarket(9_000)).phase).toBe(0);
  });

  it('gives a market a new phase when its window changes, and keeps it when the window is restated', async () => {
    const a = await insertMarket(8_000);
    const b = await insertMarket(8_000);
    expect([a.phase, b.phase]).toEqual([0, 4_000]);
    await db.query('UPDATE markets SET call_window_ms = 8000, matching_mode = $2 WHERE id = $1', [
      b.id,
      'CALL',
    ]);
    expect(await phaseOf(b.id)).toBe(4_000);
    // Alone in its new window, then joined there by the other: the widest gap's middle.
    await db.query('UPDATE markets SET call_window_ms = 9000 WHERE id = $1', [b.id]);
    expect(await phaseOf(b.id)).toBe(0);
    await db.query('UPDATE markets SET call_window_ms = 9000 WHERE id = $1', [a.id]);
    expect(await phaseOf(a.id)).toBe(4_500);
  });

  it('spreads the markets of one statement that moves several to a window', async () => {
    const ids = [];
    for (let i = 0; i < 4; i += 1) ids.push((await insertMarket(8_000)).id);
    await db.query('UPDATE markets SET call_window_ms = 9000 WHERE id = ANY($1::uuid[])', [ids]);
    const phases: number[] = [];
    for (const id of ids) phases.push(await phaseOf(id));
    expect([...phases].sort((x, y) => x - y)).toEqual([0, 2_250, 4_500, 6_750]);
  });

  it('keeps a phase set by hand inside the window, and refuses one outside it', async () => {
    const market = await insertMarket(8_000);
    await db.query('UPDATE markets SET call_phase_ms = 7999 WHERE id = $1', [market.id]);
    expect(await phaseOf(market.id)).toBe(7_999);
    await db.query('SAVEPOINT outside');
    for (const phase of [8_000, -1]) {
      const refused = await db
        .query('UPDATE markets SET call_phase_ms = $2 WHERE id = $1', [market.id, phase])
        .catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(DatabaseError);
      expect(refused).toMatchObject({
        code: '23514',
        message: expect.stringMatching(/call_phase_ms/) as string,
      });
      await db.query('ROLLBACK TO SAVEPOINT outside');
    }
    expect(await phaseOf(market.id)).toBe(7_999);
  });
});
