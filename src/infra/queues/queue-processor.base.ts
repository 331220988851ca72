import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import type { Job } from 'bullmq';

/**
 * The base of every queue's processor: failed attempts and worker errors (a lock renewal that
 * failed, a lost connection) go through the logger. A BullMQ worker with no 'error' listener
 * prints its errors with console.error instead.
 */
export abstract class QueueProcessor extends WorkerHost {
  protected readonly logger = new Logger(this.constructor.name);

  @OnWorkerEvent('failed')
  async onFailed(job: Job | undefined, error: Error): Promise<void> {
    this.logger.warn(
      `job ${job?.name ?? '?'} ${job?.id ?? '?'} failed (attempt ${job?.attemptsMade ?? '?'}): ${error.message}`,
    );
    if (job === undefined) return;
    // An event listener's rejection would be unhandled: it is logged here instead.
    await this.afterFailure(job, error).catch((cause: unknown) =>
      this.logger.error(
        `after failed job ${job.name} ${job.id ?? '?'}: ${cause instanceof Error ? cause.message : String(cause)}`,
      ),
    );
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.logger.error(`worker error: ${error.message}`);
  }

  /** What a queue does about a failed attempt beyond logging it; nothing by default. */
  protected afterFailure(_job: Job, _error: Error): Promise<void> {
    return Promise.resolve();
  }
}
