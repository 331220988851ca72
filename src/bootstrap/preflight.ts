import { Redis } from 'ioredis';
import { Client } from 'pg';
import type { EnvironmentVariables } from '@/config/app-config';
import { AppConfig } from '@/infra/config/app-config';
import { applyMigrations, ensureDatabase } from '@/infra/database/migrator';
import { redisAddress, redisOptionsFromUrl } from '@/infra/redis/redis-connection';
import { resolveSecrets } from './secrets';
import { StartupError } from './startup-error';

const CONNECT_TIMEOUT_MS = 3_000;

export interface PreflightLog {
  info(message: string): void;
  warn(message: string): void;
}

function postgresAddress(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname || '127.0.0.1'}:${parsed.port || '5432'}`;
}

function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1)) || 'postgres';
}

function describe(error: unknown): string {
  const e = error as { code?: string; message?: string; errors?: Array<{ message?: string }> };
  // AggregateError (IPv4 and IPv6 both refused) keeps the real reasons in `errors`.
  const message = e.message || e.errors?.map((x) => x.message).join('; ') || String(error);
  return e.code && !message.includes(e.code) ? `${e.code} ${message}` : message;
}

/** One connection attempt, no retries: answers whether the server is there and the database exists. */
async function probePostgres(url: string): Promise<'ok' | 'missing-database'> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return 'ok';
  } catch (error) {
    if ((error as { code?: string }).code === '3D000') return 'missing-database';
    throw new StartupError(`cannot reach PostgreSQL at ${postgresAddress(url)}: ${describe(error)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function probeRedis(url: string): Promise<void> {
  let cause: unknown;
  const client = new Redis({
    ...redisOptionsFromUrl(url),
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: () => null,
  });
  // ioredis rejects with "Connection is closed."; the real cause arrives on 'error'.
  client.on('error', (error) => {
    cause ??= error;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new StartupError(`cannot reach Redis at ${redisAddress(url)}: ${describe(cause ?? error)}`);
  } finally {
    client.disconnect();
  }
}

/**
 * Everything that must hold before Nest starts, given a validated configuration: PostgreSQL and Redis
 * reachable, the database created and migrated (when MIGRATE_ON_START), secrets resolved.
 * Fails with a StartupError whose message is the one line the process prints.
 */
export async function preflight(env: EnvironmentVariables, log: PreflightLog): Promise<AppConfig> {
  const database = await probePostgres(env.DATABASE_URL);
  await probeRedis(env.REDIS_URL);
  if (database === 'missing-database') {
    if (!env.MIGRATE_ON_START) {
      throw new StartupError(
        `database "${databaseName(env.DATABASE_URL)}" does not exist on ${postgresAddress(env.DATABASE_URL)}; run \`npm run db:migrate\``,
      );
    }
    // Another process starting at the same moment may win the race; only the creator says so.
    if (await ensureDatabase(env.DATABASE_URL)) {
      log.info(`created database "${databaseName(env.DATABASE_URL)}"`);
    }
  }
  if (env.MIGRATE_ON_START) {
    const applied = await applyMigrations(env.DATABASE_URL);
    log.info(
      applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'database schema is up to date',
    );
  }
  const { secrets, fromDatabase } = await resolveSecrets(env);
  if (fromDatabase.length > 0) {
    log.warn(
      `${fromDatabase.join(', ')} not configured: using generated values stored in the database (set them in production)`,
    );
  }
  return new AppConfig(env, secrets);
}
