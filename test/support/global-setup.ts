import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { applyMigrations, ensureDatabase } from '../../src/infra/database/migrator';
import { databaseUrl, TEMPLATE_DB, TEST_DB_PREFIX, testServerUrl } from './test-env';

/**
 * Migrates a template database from prisma/migrations, then clones one database per jest
 * worker from it (CREATE DATABASE ... TEMPLATE is a file copy, far faster than migrating).
 */
export default async function globalSetup(config: { maxWorkers: number }): Promise<void> {
  process.env.CX_TEST_REDIS_PREFIX = `cxtest:${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
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
