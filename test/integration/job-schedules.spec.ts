import { Test, type TestingModule } from '@nestjs/testing';
import { AppModule } from '@/app/app.module';
import { JOBS, type JobName, type QueueName } from '@/infra/queues/job-catalogue';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { JobSchedules } from '@/infra/queues/job-schedules.service';
import { testConfig } from '../support/test-env';

// One scheduler reads the catalogue: every job with `every` has exactly that repeat in Redis.
describe('JobSchedules', () => {
  let module: TestingModule;
  const env = {
    RECONCILE_INTERVAL_MS: '3210000',
    MATCHING_SWEEP_INTERVAL_MS: '12000',
    LEASE_SWEEP_INTERVAL_MS: '13000',
    SETTLEMENT_SWEEP_INTERVAL_MS: '14000',
    WEBHOOK_DISPATCH_INTERVAL_MS: '15000',
    STATS_REFRESH_INTERVAL_MS: '16000',
  };

  beforeAll(async () => {
    // No worker role: nothing consumes the scheduled jobs while the test reads them.
    module = await Test.createTestingModule({
      imports: [AppModule.register(testConfig(env), { api: false, worker: false })],
      providers: [JobSchedules],
    }).compile();
    await module.init();
  });

  afterAll(async () => {
    await module.close();
  });

  it('upserts one schedule per repeating job, at the configured interval, idempotently', async () => {
    await module.get(JobSchedules).onApplicationBootstrap();
    const producer = module.get(JobProducer);
    const expected: Partial<Record<JobName, number>> = {
      'maintenance.reconcile': 3_210_000,
      'maintenance.prune': 3_600_000,
      'matching.sweep': 12_000,
      'leases.sweep': 13_000,
      'settlement.sweep': 14_000,
      'webhooks.dispatch': 15_000,
      'webhooks.sweep': 3_210_000,
      'webhooks.prune': 3_600_000,
      'stats.refresh': 16_000,
      'stats.reliability': 21_600_000,
    };
    const queues = [...new Set(Object.values(JOBS).map((job) => job.queue))] as QueueName[];
    const found: Partial<Record<string, number>> = {};
    for (const queue of queues) {
      for (const scheduler of await producer.queue(queue).getJobSchedulers()) {
        expect(found[scheduler.key]).toBeUndefined();
        found[scheduler.key] = Number(scheduler.every);
      }
    }
    expect(found).toEqual(expected);
  });
});
