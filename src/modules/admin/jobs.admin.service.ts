import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import type { Job } from 'bullmq';
import { JobProducer } from '@/infra/queues/job-producer.service';
import type { QueueName } from '@/infra/queues/job-catalogue';
import { DomainError } from '@/shared/domain-error';
import { PAGE_SIZE_DEFAULT } from '@/shared/cursor';
import { AuditService } from '@/infra/audit/audit.service';
import {
  QUEUE_NAMES,
  type FailedJobPageResponse,
  type FailedJobResponse,
  type FailedJobsQuery,
  type RetriedJobResponse,
} from './dto/jobs.dto';

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

function failedJob(queue: QueueName, job: Job): FailedJobResponse {
  return {
    queue,
    id: job.id ?? '',
    name: job.name,
    failedReason: job.failedReason || null,
    attemptsMade: job.attemptsMade,
    attempts: job.opts.attempts ?? 1,
    createdAt: new Date(job.timestamp).toISOString(),
    processedAt: iso(job.processedOn),
    failedAt: iso(job.finishedOn),
  };
}

/** Our job ids are far shorter; the audit's target id (queue:job) holds 200 characters. */
const MAX_JOB_ID_LENGTH = 180;

const jobNotFound = (): DomainError => new DomainError('NOT_FOUND', 'Job not found.');

/**
 * Failed jobs for admins, read from BullMQ, and their retry. A retry is audited in the same
 * transaction that precedes it: if BullMQ refuses it the audit entry rolls back.
 */
@Injectable()
export class JobsAdminService {
  constructor(
    private readonly producer: JobProducer,
    private readonly audit: AuditService,
  ) {}

  /** Most recently failed first; across queues, the pages of each merged by failure time. */
  async listFailed(query: FailedJobsQuery): Promise<FailedJobPageResponse> {
    const limit = query.limit ?? PAGE_SIZE_DEFAULT;
    const offset = query.offset ?? 0;
    const queues = query.queue === undefined ? QUEUE_NAMES : [query.queue];
    const perQueue = await Promise.all(
      queues.map(async (name) => {
        const queue = this.producer.queue(name);
        const [jobs, total] = await Promise.all([
          queue.getFailed(queues.length === 1 ? offset : 0, offset + limit - 1),
          queue.getFailedCount(),
        ]);
        return { jobs: jobs.map((job) => failedJob(name, job)), total };
      }),
    );
    const total = perQueue.reduce((sum, q) => sum + q.total, 0);
    const merged =
      queues.length === 1
        ? (perQueue[0]?.jobs ?? [])
        : perQueue
            .flatMap((q) => q.jobs)
            .sort((a, b) => (b.failedAt ?? '').localeCompare(a.failedAt ?? ''))
            .slice(offset, offset + limit);
    const next = offset + merged.length;
    return { data: merged, total, nextOffset: merged.length === limit && next < total ? next : null };
  }

  @Transactional()
  async retry(adminUserId: string, queueName: string, jobId: string): Promise<RetriedJobResponse> {
    if (!(QUEUE_NAMES as readonly string[]).includes(queueName)) {
      throw new DomainError('NOT_FOUND', `No queue named ${queueName}.`);
    }
    const queue = this.producer.queue(queueName as QueueName);
    const job = jobId.length <= MAX_JOB_ID_LENGTH ? await queue.getJob(jobId) : undefined;
    if (!job) throw jobNotFound();
    const state = await job.getState();
    if (state !== 'failed') {
      throw new DomainError('CONFLICT', `Only failed jobs are retried; this one is ${state}.`, { state });
    }
    await this.audit.record(
      adminUserId,
      'job.retry',
      { type: 'job', id: `${queueName}:${jobId}` },
      {
        queue: queueName,
        jobId,
        name: job.name,
        failedReason: job.failedReason || null,
        attemptsMade: job.attemptsMade,
      },
    );
    try {
      // A fresh set of attempts: the job had used all of its own.
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    } catch (error) {
      // Retried or removed by someone else since the state was read.
      throw new DomainError('CONFLICT', 'The job is no longer failed.', {
        cause: error instanceof Error ? error.message : String(error),
      });
    }
    return { queue: queueName, id: jobId, name: job.name, state: await job.getState() };
  }
}
