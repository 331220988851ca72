import { JOBS, QUEUE, type JobName, type QueueName } from './job-catalogue';

/**
 * What became of one attempt of a job: `completed`; `failed` when BullMQ gave up on it (attempts
 * exhausted or unrecoverable; it is in the failed set); `retried` when the attempt failed and
 * BullMQ will run it again.
 */
export type JobOutcome = 'completed' | 'failed' | 'retried';

export const JOB_OUTCOMES = ['completed', 'failed', 'retried'] as const satisfies readonly JobOutcome[];

/** Names outside the catalogue (a stray job) count under one label, so cardinality stays bounded. */
export const UNKNOWN_JOB = 'unknown';

export interface JobOutcomeCount {
  queue: QueueName | typeof UNKNOWN_JOB;
  job: JobName | typeof UNKNOWN_JOB;
  outcome: JobOutcome;
  count: number;
}

function isJobName(name: string): name is JobName {
  return Object.prototype.hasOwnProperty.call(JOBS, name);
}

function isQueueName(name: string): name is QueueName {
  return (Object.values(QUEUE) as string[]).includes(name);
}

/** The Redis hash field one outcome of a job named `name` run on `queue` is counted under. */
export function outcomeField(queue: string, name: string, outcome: JobOutcome): string {
  return [outcome, isQueueName(queue) ? queue : UNKNOWN_JOB, isJobName(name) ? name : UNKNOWN_JOB].join('|');
}

/** A failed attempt is final when BullMQ moved the job to the failed set, which stamps `finishedOn`. */
export function failureOutcome(job: { finishedOn?: number | undefined }): JobOutcome {
  return typeof job.finishedOn === 'number' ? 'failed' : 'retried';
}

/** The hash as counts with their queue; fields that are not ours are skipped. */
export function parseOutcomes(hash: Record<string, string>): JobOutcomeCount[] {
  const counts: JobOutcomeCount[] = [];
  for (const [field, value] of Object.entries(hash)) {
    const [outcome = '', queue = '', job = '', ...rest] = field.split('|');
    const count = Number(value);
    if (rest.length > 0 || !Number.isSafeInteger(count) || count < 0) continue;
    if (!(JOB_OUTCOMES as readonly string[]).includes(outcome)) continue;
    if ((queue !== UNKNOWN_JOB && !isQueueName(queue)) || (job !== UNKNOWN_JOB && !isJobName(job))) continue;
    counts.push({ queue, job, outcome: outcome as JobOutcome, count });
  }
  return counts.sort(
    (a, b) =>
      a.queue.localeCompare(b.queue) || a.job.localeCompare(b.job) || a.outcome.localeCompare(b.outcome),
  );
}
