import { Injectable } from '@nestjs/common';
import { Clock } from '../../infra/clock/clock';
import { JobProducer } from '../../infra/queues/job-producer.service';
import type { EventType, JsonObject } from '../events/domain/event-catalogue';
import { EventConsumer, type EventHandler } from '../events/event-consumer';
import type { EventEnvelope } from '../events/event-envelope.dto';
import { MatchingRepository } from './matching.repository';

/** Events after which a market may hold a tradeable pair it did not hold before. */
export const MATCHING_TRIGGERS = [
  'offer.placed',
  'offer.amended',
  'offer.cancelled',
  'bid.placed',
  'bid.cancelled',
  'lease.ended',
  'lease.terminated',
  'organisation.verified',
  'organisation.reinstated',
  'market.resumed',
] as const satisfies readonly EventType[];

const DUE_MARGIN_MS = 250;

const text = (payload: JsonObject, field: string): string | undefined => {
  const value = payload[field];
  return typeof value === 'string' ? value : undefined;
};

/**
 * Turns order, lease, verification and market-resume events into matching runs (orders reach
 * matching only through outbox -> BullMQ). Placement also schedules what time will change: a
 * delayed run when an offer's window opens, and a delayed sweep when a bid or an offer expires.
 * Every job here is safe to add twice, so a repeated delivery only costs a no-op run.
 */
@EventConsumer({ consumer: 'matching-trigger', types: MATCHING_TRIGGERS })
@Injectable()
export class MatchingTriggerConsumer implements EventHandler {
  // Markets are inserted by migrations and never change id, so a process may remember them.
  private readonly marketIds = new Map<string, string>();

  constructor(
    private readonly repository: MatchingRepository,
    private readonly producer: JobProducer,
    private readonly clock: Clock,
  ) {}

  async handle(event: EventEnvelope): Promise<void> {
    if (event.type === 'organisation.verified' || event.type === 'organisation.reinstated') {
      const organisationId = text(event.payload, 'organisationId') ?? event.aggregateId;
      for (const marketId of await this.repository.systemMarketsWithLiveOrdersOf(organisationId)) {
        await this.requestRun(marketId, event);
      }
      return;
    }
    const slug = text(event.payload, 'market');
    const marketId = slug === undefined ? null : await this.marketId(slug);
    if (marketId === null) return;
    await this.requestRun(marketId, event);
    if (event.type === 'bid.placed') {
      await this.sweepAt(text(event.payload, 'expiresAt'), `expire-${event.aggregateId}`);
    }
    if (event.type === 'offer.placed') {
      await this.runAt(marketId, text(event.payload, 'availableFrom'), `open-${event.aggregateId}`);
      await this.sweepAt(text(event.payload, 'availableUntil'), `expire-${event.aggregateId}`);
    }
  }

  private async requestRun(marketId: string, event: EventEnvelope): Promise<void> {
    await this.producer.enqueue(
      'matching.run',
      { marketId, reason: event.type },
      { jobId: `run-${marketId}-${event.id}` },
    );
  }

  /** A run when an offer's window opens, if that is still ahead. */
  private async runAt(marketId: string, at: string | undefined, jobId: string): Promise<void> {
    const delay = this.delayUntil(at);
    if (delay > 0)
      await this.producer.enqueue('matching.run', { marketId, reason: 'window-open' }, { jobId, delay });
  }

  /** A sweep at an expiry instant, if that is still ahead (a past one is the next sweep's). */
  private async sweepAt(at: string | undefined, jobId: string): Promise<void> {
    const delay = this.delayUntil(at);
    if (delay > 0) await this.producer.enqueue('matching.sweep', { trigger: 'expiry' }, { jobId, delay });
  }

  private delayUntil(at: string | undefined): number {
    const instant = at === undefined ? Number.NaN : Date.parse(at);
    if (!Number.isFinite(instant)) return 0;
    const ahead = instant - this.clock.now().getTime();
    // A job fired a hair early (another machine's clock) would find nothing due yet.
    return ahead > 0 ? ahead + DUE_MARGIN_MS : 0;
  }

  private async marketId(slug: string): Promise<string | null> {
    const known = this.marketIds.get(slug);
    if (known !== undefined) return known;
    const id = await this.repository.systemMarketIdBySlug(slug);
    if (id !== null) this.marketIds.set(slug, id);
    return id;
  }
}
