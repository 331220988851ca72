import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { dispatchJob, type JobHandlers } from '@/infra/queues/job-dispatch';
import { QueueProcessor } from '@/infra/queues/queue-processor.base';
import { CLEARING_REASON, MatchingScheduler } from './matching-scheduler';
import { MatchingRepository } from './matching.repository';
import { MatchingService } from './matching.service';
import { OrderExpiryService } from './order-expiry.service';

/** Matching runs and sweeps. Thin: the services hold the rules; errors propagate for retries. */
@Injectable()
export class MatchingProcessor extends QueueProcessor {
  private readonly handlers: JobHandlers<'matching'> = {
    'matching.run': (payload) => this.run(payload.marketId, payload.reason),
    'matching.sweep': async (payload) => {
      await this.expiry.sweep();
      // The scheduled sweep is also the backstop for wakeups Redis lost (a failed job, a
      // restart without persistence): every market with a live book gets a run.
      if (payload.trigger === 'schedule') {
        const markets = await this.repository.systemMarketsWithLiveBooks();
        await this.scheduler.requestRuns(new Map(markets.map((marketId) => [marketId, 'sweep'])));
      }
    },
  };

  constructor(
    private readonly matching: MatchingService,
    private readonly expiry: OrderExpiryService,
    private readonly repository: MatchingRepository,
    private readonly scheduler: MatchingScheduler,
  ) {
    super();
  }

  /**
   * A CALL market matches only in its clearings: any other run asked of it (an offer's window
   * opening, the sweep's backstop, a handover, a job added before a mode switch) becomes its next
   * clearing (docs/MATCHING.md "When a clearing runs"). The run finds the mode in its read of the
   * book, so a CONTINUOUS market's job makes no read of its own for it.
   */
  private async run(marketId: string, reason: string): Promise<void> {
    const clearing = reason === CLEARING_REASON;
    await this.matching.matchMarket(marketId, clearing, !clearing);
  }

  async process(job: Job): Promise<void> {
    await dispatchJob(this.handlers, job);
  }
}
