import { Test, type TestingModule } from '@nestjs/testing';
import { AppModule } from '@/app/app.module';
import { Clock } from '@/infra/clock/clock';
import { DUE_BUCKET_MS, dueJobId, JobProducer } from '@/infra/queues/job-producer.service';
import { testConfig } from '../support/test-env';

// Delayed jobs for "everything due by then" work: one per second, whatever the number of instants.
describe('JobProducer.enqueueDue', () => {
  let module: TestingModule;
  let producer: JobProducer;
  let clock: Clock;
  const prefix = `due-test-${process.pid}`;

  beforeAll(async () => {
    // No worker: the delayed jobs stay where the test can look at them.
    module = await Test.createTestingModule({
      imports: [AppModule.register(testConfig(), { api: false, worker: false })],
    }).compile();
    await module.init();
    producer = module.get(JobProducer);
    clock = module.get(Clock);
  });

  afterAll(async () => {
    const queue = producer.queue('matching');
    for (const job of await queue.getDelayed()) {
      if (job.id?.startsWith(prefix)) await job.remove();
    }
    await module.close();
  });

  const jobsOfPrefix = async () =>
    (await producer.queue('matching').getDelayed()).filter((job) => job.id?.startsWith(prefix));

  it('shares one job among the instants of one second, and fires after the second ends', async () => {
    const now = clock.now().getTime();
    // Two instants in one second, well ahead, and one in the next second.
    const second = (Math.floor(now / DUE_BUCKET_MS) + 60) * DUE_BUCKET_MS;
    const instants = [second + 10, second + 990, second + 500, second + DUE_BUCKET_MS + 1];
    for (const at of instants) {
      await producer.enqueueDue('matching.sweep', { trigger: 'test' }, prefix, at);
    }
    const jobs = await jobsOfPrefix();
    expect(jobs.map((job) => job.id).sort()).toEqual(
      [dueJobId(prefix, second + 10), dueJobId(prefix, second + DUE_BUCKET_MS + 1)].sort(),
    );
    expect(dueJobId(prefix, second + 10)).toBe(dueJobId(prefix, second + 990));
    for (const job of jobs) {
      const firesAt = job.timestamp + job.delay;
      const lastInstant = Math.max(...instants.filter((at) => dueJobId(prefix, at) === job.id));
      // Never before an instant it serves, and within the second's end plus the clock margin.
      expect(firesAt).toBeGreaterThanOrEqual(lastInstant);
      expect(firesAt).toBeLessThanOrEqual(Math.ceil(lastInstant / DUE_BUCKET_MS) * DUE_BUCKET_MS + 1_000);
    }
  });

  it('adds nothing for an instant that is not ahead, or not a time', async () => {
    const now = clock.now().getTime();
    const before = (await jobsOfPrefix()).length;
    await producer.enqueueDue('matching.sweep', { trigger: 'test' }, prefix, now - 1);
    await producer.enqueueDue('matching.sweep', { trigger: 'test' }, prefix, now);
    await producer.enqueueDue('matching.sweep', { trigger: 'test' }, prefix, Number.NaN);
    expect((await jobsOfPrefix()).length).toBe(before);
  });
});
