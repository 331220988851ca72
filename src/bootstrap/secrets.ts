import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { SECRET_NAMES, type EnvironmentVariables, type SecretName } from '@/config/app-config';

function generate(name: SecretName): string {
  // The encryption key must be exactly 32 bytes; the others are keyed-hash / signing secrets.
  return name === 'DATA_ENCRYPTION_KEY'
    ? randomBytes(32).toString('base64')
    : randomBytes(48).toString('base64url');
}

/**
 * Configured secrets win. Outside production a missing one is generated once and stored in
 * `app_secrets`, so every API and worker process on this database agrees on it across restarts.
 * Returns the secrets and the names that were generated or loaded from the database.
 */
export async function resolveSecrets(
  env: EnvironmentVariables,
): Promise<{ secrets: Record<SecretName, string>; fromDatabase: SecretName[] }> {
  const missing = SECRET_NAMES.filter((name) => env[name] === undefined);
  const secrets = {} as Record<SecretName, string>;
  for (const name of SECRET_NAMES) {
    const value = env[name];
    if (value !== undefined) secrets[name] = value;
  }
  if (missing.length === 0) return { secrets, fromDatabase: [] };
  const client = new Client({ connectionString: env.DATABASE_URL, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    for (const name of missing) {
      // First writer wins; concurrent starters then read the same value.
      await client.query(
        'INSERT INTO app_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
        [name, generate(name)],
      );
      const result = await client.query<{ value: string }>('SELECT value FROM app_secrets WHERE name = $1', [
        name,
      ]);
      const stored = result.rows[0]?.value;
      if (stored === undefined) throw new Error(`secret ${name} could not be stored`);
      secrets[name] = stored;
    }
  } finally {
    await client.end();
  }
  return { secrets, fromDatabase: missing };
}
