import { UnrecoverableError, type Job } from 'bullmq';
import { dispatchJob, type JobHandlers } from './job-dispatch';

function job(name: string, data: unknown): Job {
  return { name, data } as Job;
}

const envelope = {
  id: '0193a0f6-6c52-7a4e-9a51-2f0a6f3c1d2e',
  seq: '42',
  type: 'offer.placed',
  aggregateType: 'offer',
  aggregateId: 'o1',
  occurredAt: '2026-11-28T10:00:00.000Z',
  payload: { gpus: 8 },
};

describe('dispatchJob', () => {
  it('runs the handler with the validated payload', async () => {
    const seen: unknown[] = [];
    const handlers: JobHandlers<'events'> = {
      'events.deliver': async (payload) => {
        seen.push(payload);
        await Promise.resolve();
      },
    };
    await dispatchJob(handlers, job('events.deliver', envelope));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ id: envelope.id, type: 'offer.placed', payload: { gpus: 8 } });
  });

  it('fails without retry on an unknown job or an invalid payload', async () => {
    const handlers: JobHandlers<'events'> = { 'events.deliver': () => Promise.resolve() };
    await expect(dispatchJob(handlers, job('events.unknown', envelope))).rejects.toBeInstanceOf(
      UnrecoverableError,
    );
    await expect(
      dispatchJob(handlers, job('events.deliver', { ...envelope, type: 'offer.stolen' })),
    ).rejects.toThrow(/invalid payload.*type/);
    await expect(
      dispatchJob(handlers, job('events.deliver', { ...envelope, extra: 1 })),
    ).rejects.toBeInstanceOf(UnrecoverableError);
  });

  it('lets handler errors through so BullMQ retries', async () => {
    const handlers: JobHandlers<'events'> = { 'events.deliver': () => Promise.reject(new Error('db down')) };
    const error: unknown = await dispatchJob(handlers, job('events.deliver', envelope)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(UnrecoverableError);
  });
});
