import './alias-register';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { applyMigrations, ensureDatabase } from '@/infra/database/migrator';
import { databaseUrl, TEMPLATE_DB, TEST_DB_PREFIX, testServerUrl } from './test-env';

/**
 * Migrates a template database from prisma/migrations, then clones one database per jest
 * worker from it (CREATE DATABASE ... TEMPLATE is a file copy, far faster than migrating).
 */
export default async function globalSetup(config: { maxWorkers: number }): Promise<void> {
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  // Jest workers and the processes tests spawn inherit these; global teardown removes by them.
  process.env.CX_TEST_RUN_ID = runId;
  const given = process.env.CX_TEST_REDIS_PREFIX;
  // Each app in a test appends `:w<N>:<8 hex>` to it, within REDIS_PREFIX's 64 characters.
  if (given !== undefined && !/^[A-Za-z0-9:_{}-]{1,48}$/.test(given)) {
    throw new Error(`CX_TEST_REDIS_PREFIX must be 1-48 of A-Z a-z 0-9 : _ { } -, got "${given}"`);
  }
  process.env.CX_TEST_REDIS_PREFIX = given ?? `cxtest:${runId}`;
  const admin = new Client({ connectionString: `${testServerUrl()}/postgres` });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
    await ensureDatabase(databaseUrl(TEMPLATE_DB));
    await applyMigrations(databaseUrl(TEMPLATE_DB));
    for (let worker = 1; worker <= Math.max(1, config.maxWorkers); worker += 1) {
      const name = `${TEST_DB_PREFIX}_w${worker}`;
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DB}`);
    }
  } finally {
    await admin.end();
  }
}
