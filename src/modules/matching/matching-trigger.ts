import { Injectable, Logger } from '@nestjs/common';
import { JobProducer } from '@/infra/queues/job-producer.service';
import type { EventType } from '@/infra/events/event-catalogue';
import { EventTrigger, type EventTriggerHandler } from '@/infra/events/event-consumer';
import type { TypedEventEnvelope } from '@/infra/events/event-envelope.dto';
import { MatchingRepository } from './matching.repository';
import { MatchingScheduler } from './matching-scheduler';

/** Events after which a market may hold a tradeable pair it did not hold before. */
export const MATCHING_TRIGGERS = [
  'offer.placed',
  'offer.amended',
  'offer.cancelled',
  'offer.serving_changed',
  'bid.placed',
  'bid.cancelled',
  'lease.ended',
  'lease.terminated',
  'organisation.verified',
  'organisation.reinstated',
  'market.resumed',
  'market.matching_changed',
] as const satisfies readonly EventType[];

/** Delayed sweeps at expiry instants: `dueJobId(EXPIRY_SWEEP_JOB_PREFIX, at)`. */
export const EXPIRY_SWEEP_JOB_PREFIX = 'expire';
/** Delayed runs of a market when an offer's window opens: `dueJobId(windowRunJobPrefix(m), at)`. */
export const windowRunJobPrefix = (marketId: string): string => `open-${marketId}`;

type Trigger = (typeof MATCHING_TRIGGERS)[number];

/**
 * Turns order, lease, verification and market-resume events into one deduplicated `matching.run`
 * per market (no inbox: adding it twice adds nothing), and schedules window opens and expiries
 * (docs/MATCHING.md "Runs in the exchange").
 */
@EventTrigger({ trigger: 'matching', types: MATCHING_TRIGGERS })
@Injectable()
export class MatchingTrigger implements EventTriggerHandler<Trigger> {
  // Markets are inserted by migrations and never change id, so a process may remember them.
  private readonly marketIds = new Map<string, string>();
  private readonly logger = new Logger(MatchingTrigger.name);

  constructor(
    private readonly repository: MatchingRepository,
    private readonly producer: JobProducer,
    private readonly scheduler: MatchingScheduler,
  ) {}

  async onPublished(events: ReadonlyArray<TypedEventEnvelope<Trigger>>): Promise<void> {
    const runs = new Map<string, Trigger>();
    const windows: Array<{ marketId: string; at: string }> = [];
    const expiries: string[] = [];
    for (const event of events) {
      if (event.type === 'organisation.verified' || event.type === 'organisation.reinstated') {
        const markets = await this.repository.systemMarketsWithLiveOrdersOf(event.payload.organisationId);
        for (const marketId of markets) runs.set(marketId, event.type);
        continue;
      }
      // The relay publishes whatever the outbox holds: a row without a market (written by hand,
      // or by an older release) must not hold back every event after it.
      const marketId = await this.marketId(event.payload.market);
      if (marketId === null) {
        this.logger.warn(`event ${event.id} (${event.type}) names no known market; no run requested`);
        continue;
      }
      runs.set(marketId, event.type);
      // A clearing scheduled under CALL would hold back the runs a CONTINUOUS market now wants.
      if (event.type === 'market.matching_changed' && event.payload.matchingMode === 'CONTINUOUS')
        await this.scheduler.bringForward(marketId);
      if (event.type === 'bid.placed') expiries.push(event.payload.expiresAt);
      if (event.type === 'offer.placed') {
        windows.push({ marketId, at: event.payload.availableFrom });
        expiries.push(event.payload.availableUntil);
      }
    }
    await this.scheduler.requestRuns(runs);
    for (const { marketId, at } of windows) await this.runAt(marketId, at);
    for (const at of expiries) await this.sweepAt(at);
  }

  /** A run when an offer's window opens, if that is still ahead (one per market and second). */
  private async runAt(marketId: string, at: string): Promise<void> {
    await this.producer.enqueueDue(
      'matching.run',
      { marketId, reason: 'window-open' },
      windowRunJobPrefix(marketId),
      Date.parse(at),
    );
  }

  /** A sweep at an expiry instant, if that is still ahead (a past one is the next sweep's). */
  private async sweepAt(at: string): Promise<void> {
    await this.producer.enqueueDue(
      'matching.sweep',
      { trigger: 'expiry' },
      EXPIRY_SWEEP_JOB_PREFIX,
      Date.parse(at),
    );
  }

  private async marketId(slug: unknown): Promise<string | null> {
    if (typeof slug !== 'string' || slug === '') return null;
    const known = this.marketIds.get(slug);
    if (known !== undefined) return known;
    const id = await this.repository.systemMarketIdBySlug(slug);
    if (id !== null) this.marketIds.set(slug, id);
    return id;
  }
}
