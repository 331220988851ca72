import { Injectable } from '@nestjs/common';
import { Clock } from '@/infra/clock/clock';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { nextClearingAt } from './domain/call-window';
import { MatchingRepository, type MarketMode } from './matching.repository';

/** The `reason` of a CALL market's clearing job: the only `matching.run` that clears such a market. */
export const CLEARING_REASON = 'clearing';

/** The deduplication id of a market's `matching.run` jobs: one waiting, one more if one is active. */
export const runDeduplicationId = (marketId: string): string => `run-${marketId}`;

/**
 * Turns "this market may have something to match" into the job its mode wants
 * (docs/MATCHING.md "Runs in the exchange", "When a clearing runs"): a CONTINUOUS market gets a
 * run now; a CALL market its clearing at its next instant (a multiple of its window plus its phase), a delayed job. Both
 * are deduplicated under `run-<market>`, so one job waits per market whatever the number of asks,
 * and an ask during a CALL market's window adds nothing: the clearing reads the book as it is then.
 */
@Injectable()
export class MatchingScheduler {
  constructor(
    private readonly repository: MatchingRepository,
    private readonly producer: JobProducer,
    private readonly clock: Clock,
  ) {}

  /** Runs or clearings for these markets, one query for their modes (unknown markets are skipped). */
  async requestRuns(reasons: ReadonlyMap<string, string>): Promise<void> {
    if (reasons.size === 0) return;
    const modes = await this.repository.systemMarketModes([...reasons.keys()]);
    const now: Array<{ payload: { marketId: string; reason: string }; deduplicationId: string }> = [];
    for (const market of modes) {
      if (market.mode === 'CALL') await this.scheduleClearing(market);
      else {
        const reason = reasons.get(market.marketId) ?? 'request';
        now.push({
          payload: { marketId: market.marketId, reason },
          deduplicationId: runDeduplicationId(market.marketId),
        });
      }
    }
    await this.producer.enqueueMany('matching.run', now);
  }

  /**
   * The clearing of a CALL market at its next instant (a multiple of its window plus its phase). BullMQ delays count in
   * this machine's time, the window in the clock's (the same in production; tests that move a
   * controllable clock promote the job instead of waiting).
   */
  async scheduleClearing(
    market: Pick<MarketMode, 'marketId' | 'callWindowMs' | 'callPhaseMs'>,
  ): Promise<void> {
    const now = this.clock.now().getTime();
    const at = nextClearingAt(now, market.callWindowMs, market.callPhaseMs);
    await this.producer.enqueue(
      'matching.run',
      { marketId: market.marketId, reason: CLEARING_REASON },
      { delay: at - now, deduplicationId: runDeduplicationId(market.marketId) },
    );
  }

  /**
   * Makes the market's waiting clearing due now (a market switched to CONTINUOUS: its runs must
   * not wait for the window). Nothing when none is delayed; a job that started meanwhile runs anyway.
   */
  async bringForward(marketId: string): Promise<void> {
    const queue = this.producer.queue('matching');
    const id = await queue.getDeduplicationJobId(runDeduplicationId(marketId));
    const job = id === null ? undefined : await queue.getJob(id);
    if (job === undefined || (await job.getState()) !== 'delayed') return;
    await job.promote().catch(async (error: unknown) => {
      if ((await job.getState()) === 'delayed') throw error;
    });
  }
}
