import { Redis } from 'ioredis';
import { testRedisUrl } from './test-env';

/** Deletes every Redis key this run wrote; test databases stay for inspection until the next run. */
export default async function globalTeardown(): Promise<void> {
  const prefix = process.env.CX_TEST_REDIS_PREFIX;
  if (!prefix) return;
  const redis = new Redis(testRedisUrl());
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
