import { Injectable } from '@nestjs/common';
import { Propagation, Transactional } from '@nestjs-cls/transactional';
import { Clock } from '../../infra/clock/clock';
import type { NewEvent } from './domain/event-catalogue';
import type { EventEnvelope } from './event-envelope.dto';
import { OutboxRepository } from './outbox.repository';

/** Producers record events here, inside the transaction of the business change. */
@Injectable()
export class OutboxService {
  constructor(
    private readonly outbox: OutboxRepository,
    private readonly clock: Clock,
  ) {}

  // Mandatory: an event written outside the business transaction could outlive a rollback.
  @Transactional(Propagation.Mandatory)
  async record(event: NewEvent): Promise<EventEnvelope> {
    return this.outbox.insert(event, this.clock.now());
  }

  @Transactional(Propagation.Mandatory)
  async recordMany(events: readonly NewEvent[]): Promise<void> {
    await this.outbox.insertMany(events, this.clock.now());
  }

  async backlog(): Promise<{ unpublished: number; oldestAgeSeconds: number | null }> {
    const backlog = await this.outbox.systemBacklog();
    const oldest = backlog.oldestUnpublishedAt;
    return {
      unpublished: backlog.unpublished,
      oldestAgeSeconds:
        oldest === null ? null : Math.max(0, (this.clock.now().getTime() - oldest.getTime()) / 1000),
    };
  }
}
