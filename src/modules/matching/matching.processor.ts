import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { dispatchJob, type JobHandlers } from '@/infra/queues/job-dispatch';
import { QueueProcessor } from '@/infra/queues/queue-processor.base';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { runDeduplicationId } from './matching-trigger';
import { MatchingRepository } from './matching.repository';
import { MatchingService } from './matching.service';
import { OrderExpiryService } from './order-expiry.service';

/** Matching runs and sweeps. Thin: the services hold the rules; errors propagate for retries. */
@Injectable()
export class MatchingProcessor extends QueueProcessor {
  private readonly handlers: JobHandlers<'matching'> = {
    'matching.run': (payload) => this.matching.matchMarket(payload.marketId),
    'matching.sweep': async (payload) => {
      await this.expiry.sweep();
      // The scheduled sweep is also the backstop for wakeups Redis lost (a failed job, a
      // restart without persistence): every market with a live book gets a run.
      if (payload.trigger === 'schedule') {
        for (const marketId of await this.repository.systemMarketsWithLiveBooks()) {
          await this.producer.enqueue(
            'matching.run',
            { marketId, reason: 'sweep' },
            { deduplicationId: runDeduplicationId(marketId) },
          );
        }
      }
    },
  };

  constructor(
    private readonly matching: MatchingService,
    private readonly expiry: OrderExpiryService,
    private readonly repository: MatchingRepository,
    private readonly producer: JobProducer,
  ) {
    super();
  }

  async process(job: Job): Promise<void> {
    await dispatchJob(this.handlers, job);
  }
}
