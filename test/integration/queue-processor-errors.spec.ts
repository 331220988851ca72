import { getQueueToken } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import type { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { AppModule } from '@/app/app.module';
import { testConfig, testRedisUrl } from '../support/test-env';
import { waitFor } from '../support/wait-for';

/**
 * A worker's own errors (here a lock it can no longer renew, as after a Redis hiccup or a long
 * stall) reach the logger, not console.error: the leases, settlement and stats processors had no
 * 'error' listener, and BullMQ prints to the console then.
 */
describe('queue processors report worker errors through the logger', () => {
  let module: TestingModule;
  let db: Client;
  const config = testConfig({ LEASE_SWEEP_INTERVAL_MS: '100', JOB_LOCK_DURATION_MS: '2000' });

  beforeAll(async () => {
    db = new Client({ connectionString: config.env.DATABASE_URL });
    await db.connect();
  });

  afterAll(async () => {
    await db.end();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('logs a failed lock renewal of an in-flight lease sweep and prints nothing to the console', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error');
    const printed = jest.spyOn(console, 'error');
    const redis = new Redis(testRedisUrl());
    // The sweep blocks on this lock: a job in flight whose lock the worker keeps renewing.
    await db.query('BEGIN');
    await db.query('LOCK TABLE leases IN ACCESS EXCLUSIVE MODE');
    try {
      module = await Test.createTestingModule({
        imports: [AppModule.register(config, { api: false, worker: true })],
      }).compile();
      await module.init();
      const queue = module.get<Queue>(getQueueToken('leases'));
      const job = await waitFor('a lease sweep in flight', async () =>
        (await queue.getActive()).find((j: Job) => j.name === 'leases.sweep'),
      );
      // Someone else's lock now: the next renewal fails.
      await redis.set(`${queue.toKey(job.id!)}:lock`, 'not-this-worker');
      const renewal = `could not renew lock for job ${job.id}`;
      await waitFor('the renewal error to be logged', () =>
        logged.mock.calls.some((call) => String(call[0]).includes(renewal)) ? true : undefined,
      );
      const by = logged.mock.calls.findIndex((call) => String(call[0]).includes(renewal));
      expect((logged.mock.contexts[by] as unknown as { context?: string }).context).toBe('LeasesProcessor');
      expect(printed).not.toHaveBeenCalled();
    } finally {
      await db.query('COMMIT');
      redis.disconnect();
      await module?.close();
    }
  });
});
