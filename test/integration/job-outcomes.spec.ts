import { Test, type TestingModule } from '@nestjs/testing';
import { AppModule } from '@/app/app.module';
import { outcomeField } from '@/infra/queues/job-outcomes';
import { JobOutcomes } from '@/infra/queues/job-outcomes.service';
import { RedisService } from '@/infra/redis/redis.service';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';

// Job outcome counters are gathered per process and sent in one pipeline a second.
describe('JobOutcomes', () => {
  let module: TestingModule;
  let outcomes: JobOutcomes;
  let redis: RedisService;
  const field = outcomeField('matching', 'matching.run', 'completed');
  const failedField = outcomeField('settlement', 'settlement.settle-lease', 'failed');

  beforeAll(async () => {
    // No worker: nothing else counts outcomes in this process's prefix meanwhile.
    module = await Test.createTestingModule({
      imports: [AppModule.register(testConfig(), { api: false, worker: false })],
    }).compile();
    await module.init();
    outcomes = module.get(JobOutcomes);
    redis = module.get(RedisService);
  });

  afterAll(async () => {
    await module.close();
  });

  const counted = async (name: string): Promise<number> =>
    Number((await redis.client.hget(redis.key('metrics', 'job-outcomes'), name)) ?? 0);

  it('sends nothing per job, and the sums in one flush', async () => {
    const before = [await counted(field), await counted(failedField)];
    for (let i = 0; i < 5; i += 1) outcomes.record('matching', 'matching.run', 'completed');
    outcomes.record('settlement', 'settlement.settle-lease', 'failed');
    expect([await counted(field), await counted(failedField)]).toEqual(before);
    await outcomes.flush();
    expect([await counted(field), await counted(failedField)]).toEqual([before[0]! + 5, before[1]! + 1]);
    // Nothing left: a second flush adds nothing.
    await outcomes.flush();
    expect(await counted(field)).toBe(before[0]! + 5);
  });

  it('flushes by itself a moment (JOB_OUTCOMES_FLUSH_MS) after the first outcome', async () => {
    const before = await counted(field);
    outcomes.record('matching', 'matching.run', 'completed');
    outcomes.record('matching', 'matching.run', 'completed');
    await waitFor('the scheduled flush', async () =>
      (await counted(field)) === before + 2 ? true : undefined,
    );
  });
});
