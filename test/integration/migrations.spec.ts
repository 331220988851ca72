import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { applyMigrations, checkDrift, ensureDatabase } from '@/infra/database/migrator';
import { databaseUrl, TEST_DB_PREFIX, testServerUrl, workerId } from '../support/test-env';

describe('migrations (offline wasm schema engine)', () => {
  const name = `${TEST_DB_PREFIX}_migrate_w${workerId()}`;
  const url = databaseUrl(name);

  async function admin(sql: string): Promise<void> {
    const client = new Client({ connectionString: `${testServerUrl()}/postgres` });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  beforeAll(() => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  afterAll(() => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));

  it('creates the database, applies every migration once, then nothing; concurrent runs agree', async () => {
    expect(await ensureDatabase(url)).toBe(true);
    expect(await ensureDatabase(url)).toBe(false);
    const onDisk = readdirSync(join(__dirname, '..', '..', 'prisma', 'migrations'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    expect(onDisk[0]).toBe('20261128000000_init');
    expect(await applyMigrations(url)).toEqual(onDisk);
    const again = await Promise.all([applyMigrations(url), applyMigrations(url), applyMigrations(url)]);
    expect(again).toEqual([[], [], []]);

    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const recorded = await client.query<{ migration_name: string; finished_at: Date | null }>(
        'SELECT migration_name, finished_at FROM _prisma_migrations',
      );
      expect(recorded.rows).toHaveLength(onDisk.length);
      expect(recorded.rows[0]?.finished_at).not.toBeNull();
      const hubs = await client.query<{ name_pinyin: string }>(
        "SELECT name_pinyin FROM cities WHERE code IN ('520100', '150900', '640500') ORDER BY code",
      );
      expect(hubs.rows.map((r) => r.name_pinyin)).toEqual(['Ulanqab', 'Guiyang', 'Zhongwei']);
      // The outbox trigger wakes the relay on commit.
      const trigger = await client.query(
        "SELECT 1 FROM pg_trigger WHERE tgrelid = 'outbox_events'::regclass AND NOT tgisinternal",
      );
      expect(trigger.rowCount).toBe(1);
      // The catalogue's markets share the default window at phases spread in creation order.
      const phases = await client.query<{ call_phase_ms: number }>(
        'SELECT call_phase_ms FROM markets ORDER BY id',
      );
      expect(phases.rows.map((r) => r.call_phase_ms)).toEqual([0, 500, 250, 750, 125, 375, 625, 875]);
    } finally {
      await client.end();
    }
  });

  it('reproduces schema.prisma exactly (no drift)', async () => {
    expect(await checkDrift(url)).toBe('');
  });
});
