import { randomBytes } from 'node:crypto';
import { loadEnvironment } from '@/config/app-config';
import { AppConfig } from '@/infra/config/app-config';

/**
 * Test databases: a migrated template cloned once per jest worker. CX_TEST_DB_PREFIX lets two
 * checkouts run their suites side by side without dropping each other's databases.
 */
export const TEST_DB_PREFIX = process.env.CX_TEST_DB_PREFIX ?? 'compute_exchange_test';
export const TEMPLATE_DB = `${TEST_DB_PREFIX}_template`;

export function testServerUrl(): string {
  return process.env.TEST_DATABASE_SERVER ?? 'postgresql://postgres@127.0.0.1:5432';
}

export function testRedisUrl(): string {
  return process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
}

export function databaseUrl(name: string): string {
  return `${testServerUrl()}/${name}`;
}

export function workerId(): string {
  return process.env.JEST_WORKER_ID ?? '1';
}

export function workerDatabaseName(): string {
  return `${TEST_DB_PREFIX}_w${workerId()}`;
}

/** Redis prefix of this run and worker; global teardown deletes the run's keys. */
export function workerRedisPrefix(): string {
  return `${process.env.CX_TEST_REDIS_PREFIX ?? 'cxtest:adhoc'}:w${workerId()}`;
}

/** A unique Redis prefix for one test, so queues of different tests never meet. */
export function uniqueRedisPrefix(): string {
  return `${workerRedisPrefix()}:${randomBytes(4).toString('hex')}`;
}

const SECRETS = {
  API_KEY_PEPPER: 'test-pepper-test-pepper-test-pepper-0001',
  JWT_SECRET: 'test-jwt-secret-test-jwt-secret-test-0001',
  DATA_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
};

/** The environment a test process runs with: short job timings, silent logs, own DB and prefix. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl(workerDatabaseName()),
    DATABASE_POOL_MAX: '5',
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: uniqueRedisPrefix(),
    LOG_LEVEL: 'silent',
    MIGRATE_ON_START: 'false',
    JOB_LOCK_DURATION_MS: '2000',
    JOB_STALLED_INTERVAL_MS: '1000',
    OUTBOX_POLL_INTERVAL_MS: '100',
    RECONCILE_INTERVAL_MS: '3600000',
    RECONCILE_STRANDED_AFTER_MS: '100',
    SHUTDOWN_GRACE_MS: '2000',
    CLOCK: 'system',
    ...SECRETS,
    ...overrides,
  };
}

/**
 * The configuration of an app built in the test process. It runs the TypeScript sources, which
 * have no compiled clearing thread (`clearing-thread.js`), so its clearings solve inline; built
 * processes (`testEnv` alone) solve them in threads, as production does.
 */
export function testConfig(overrides: Record<string, string> = {}): AppConfig {
  const env = loadEnvironment(testEnv({ MATCHING_SOLVE_THREADS: '0', ...overrides }));
  return new AppConfig(env, SECRETS);
}
