import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { JOBS, type JobName, type JobPayloads, type JobsOf, type QueueName } from './job-catalogue';

/** One handler per job of a queue: a missing handler is a compile error. */
export type JobHandlers<Q extends QueueName> = {
  [N in JobsOf<Q>]: (payload: JobPayloads[N], job: Job) => Promise<void>;
};

function isJobOf<Q extends QueueName>(handlers: JobHandlers<Q>, name: string): name is JobsOf<Q> {
  return Object.prototype.hasOwnProperty.call(handlers, name);
}

/**
 * Validates a job's payload against the catalogue and runs its handler. Unknown jobs and
 * invalid payloads fail without retry (retrying cannot fix them); handler errors propagate so
 * BullMQ retries with the job's backoff.
 */
export async function dispatchJob<Q extends QueueName>(handlers: JobHandlers<Q>, job: Job): Promise<void> {
  const name = job.name;
  if (!isJobOf(handlers, name)) {
    throw new UnrecoverableError(`no handler for job "${name}" on this queue`);
  }
  const schema: new () => object = JOBS[name as JobName].payload;
  const payload = plainToInstance(schema, job.data as object);
  const errors = await validate(payload, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) {
    const fields = errors.map((e) => e.property).join(', ');
    throw new UnrecoverableError(`invalid payload for job "${name}": ${fields}`);
  }
  const handler = handlers[name] as (payload: unknown, job: Job) => Promise<void>;
  await handler(payload, job);
}
