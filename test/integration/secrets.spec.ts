import { Client } from 'pg';
import { loadEnvironment } from '@/config/app-config';
import { resolveSecrets } from '@/bootstrap/secrets';
import { testEnv } from '../support/test-env';

describe('resolveSecrets (outside production)', () => {
  const env = testEnv({ API_KEY_PEPPER: '', JWT_SECRET: '', DATA_ENCRYPTION_KEY: '' });
  let client: Client;

  beforeAll(async () => {
    client = new Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    await client.query('DELETE FROM app_secrets');
  });

  afterAll(async () => {
    await client.query('DELETE FROM app_secrets');
    await client.end();
  });

  it('generates missing secrets once, stores them, and every later process reads the same values', async () => {
    const first = await resolveSecrets(loadEnvironment(env));
    expect(first.fromDatabase).toEqual(['API_KEY_PEPPER', 'JWT_SECRET', 'DATA_ENCRYPTION_KEY']);
    expect(Buffer.from(first.secrets.DATA_ENCRYPTION_KEY, 'base64')).toHaveLength(32);
    expect(first.secrets.API_KEY_PEPPER.length).toBeGreaterThanOrEqual(32);

    // Two processes starting at once agree too.
    const [second, third] = await Promise.all([
      resolveSecrets(loadEnvironment(env)),
      resolveSecrets(loadEnvironment(env)),
    ]);
    expect(second.secrets).toEqual(first.secrets);
    expect(third.secrets).toEqual(first.secrets);
    const rows = await client.query('SELECT name FROM app_secrets');
    expect(rows.rowCount).toBe(3);
  });

  it('uses configured secrets and stores nothing for them', async () => {
    await client.query('DELETE FROM app_secrets');
    const configured = testEnv();
    const result = await resolveSecrets(loadEnvironment(configured));
    expect(result.fromDatabase).toEqual([]);
    expect(result.secrets.JWT_SECRET).toBe(configured.JWT_SECRET);
    expect((await client.query('SELECT 1 FROM app_secrets')).rowCount).toBe(0);
  });
});
