import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { dispatchJob, type JobHandlers } from '@/infra/queues/job-dispatch';
import { QueueProcessor } from '@/infra/queues/queue-processor.base';
import { SettlementService } from './settlement.service';

/** Settlement jobs. Thin: the service holds the rules; errors propagate for retries. */
@Injectable()
export class SettlementProcessor extends QueueProcessor {
  private readonly handlers: JobHandlers<'settlement'> = {
    'settlement.sweep': async () => void (await this.settlement.sweep()),
    'settlement.settle-lease': async (payload) => void (await this.settlement.settleLease(payload.leaseId)),
  };

  constructor(private readonly settlement: SettlementService) {
    super();
  }

  async process(job: Job): Promise<void> {
    await dispatchJob(this.handlers, job);
  }

  /**
   * The last failed attempt of a settle job hands the lease to an admin. "Last" includes a job
   * BullMQ fails without a retry whatever its attempts (stalled past JOB_MAX_STALLED_COUNT by
   * crashed workers): it keeps its deterministic id in the failed set, so the sweep could never
   * enqueue that period again and the lease would stay OPEN, unsettled and unflagged.
   */
  protected override async afterFailure(job: Job, error: Error): Promise<void> {
    const final = job.attemptsMade >= (job.opts.attempts ?? 1) || (await job.getState()) === 'failed';
    const leaseId = (job.data as { leaseId?: unknown } | undefined)?.leaseId;
    if (final && job.name === 'settlement.settle-lease' && typeof leaseId === 'string') {
      await this.settlement.giveUp(leaseId, error.message);
    }
  }
}
