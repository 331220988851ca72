import { Injectable } from '@nestjs/common';
import { JobProducer } from '../../infra/queues/job-producer.service';
import type { EventType } from '../../infra/events/event-catalogue';
import { EventConsumer, type EventHandler } from '../../infra/events/event-consumer';
import type { TypedEventEnvelope } from '../../infra/events/event-envelope.dto';
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

/** Delayed sweeps at expiry instants: `dueJobId(EXPIRY_SWEEP_JOB_PREFIX, at)`. */
export const EXPIRY_SWEEP_JOB_PREFIX = 'expire';
/** Delayed runs of a market when an offer's window opens: `dueJobId(windowRunJobPrefix(m), at)`. */
export const windowRunJobPrefix = (marketId: string): string => `open-${marketId}`;

type Trigger = (typeof MATCHING_TRIGGERS)[number];

/**
 * Turns order, lease, verification and market-resume events into matching runs (orders reach
 * matching only through outbox -> BullMQ). Placement also schedules what time will change: a
 * delayed run when an offer's window opens, and a delayed sweep when a bid or an offer expires,
 * one job per market (runs) or overall (sweeps) and second (`JobProducer.enqueueDue`).
 * Every job here is safe to add twice, so a repeated delivery only costs a no-op run.
 */
@EventConsumer({ consumer: 'matching-trigger', types: MATCHING_TRIGGERS })
@Injectable()
export class MatchingTriggerConsumer implements EventHandler<Trigger> {
  // Markets are inserted by migrations and never change id, so a process may remember them.
  private readonly marketIds = new Map<string, string>();

  constructor(
    private readonly repository: MatchingRepository,
    private readonly producer: JobProducer,
  ) {}

  async handle(event: TypedEventEnvelope<Trigger>): Promise<void> {
    if (event.type === 'organisation.verified' || event.type === 'organisation.reinstated') {
      for (const marketId of await this.repository.systemMarketsWithLiveOrdersOf(
        event.payload.organisationId,
      )) {
        await this.requestRun(marketId, event);
      }
      return;
    }
    const marketId = await this.marketId(event.payload.market);
    if (marketId === null) return;
    await this.requestRun(marketId, event);
    if (event.type === 'bid.placed') await this.sweepAt(event.payload.expiresAt);
    if (event.type === 'offer.placed') {
      await this.runAt(marketId, event.payload.availableFrom);
      await this.sweepAt(event.payload.availableUntil);
    }
  }

  private async requestRun(marketId: string, event: TypedEventEnvelope<Trigger>): Promise<void> {
    await this.producer.enqueue(
      'matching.run',
      { marketId, reason: event.type },
      { jobId: `run-${marketId}-${event.id}` },
    );
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

  private async marketId(slug: string): Promise<string | null> {
    const known = this.marketIds.get(slug);
    if (known !== undefined) return known;
    const id = await this.repository.systemMarketIdBySlug(slug);
    if (id !== null) this.marketIds.set(slug, id);
    return id;
  }
}
