import './alias-register';
import { removeRunLeftovers } from './run-leftovers';
import { TEST_DB_PREFIX, testRedisUrl, testServerUrl } from './test-env';

/**
 * Removes what the run made: processes still running, every Redis key under the run's prefix,
 * and the test databases (CX_TEST_KEEP_DATABASES=1 keeps them for inspection).
 */
export default async function globalTeardown(): Promise<void> {
  const runId = process.env.CX_TEST_RUN_ID;
  const redisPrefix = process.env.CX_TEST_REDIS_PREFIX;
  if (!runId || !redisPrefix) return;
  await removeRunLeftovers({
    processMarker: `CX_TEST_SPAWNED_BY_RUN=${runId}`,
    redisPrefix,
    dbPrefix: TEST_DB_PREFIX,
    serverUrl: testServerUrl(),
    redisUrl: testRedisUrl(),
    keepDatabases: ['1', 'true'].includes(process.env.CX_TEST_KEEP_DATABASES ?? ''),
  });
}
