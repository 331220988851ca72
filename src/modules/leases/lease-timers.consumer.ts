import { Injectable } from '@nestjs/common';
import { Clock } from '../../infra/clock/clock';
import { JobProducer } from '../../infra/queues/job-producer.service';
import { EventConsumer, type EventHandler } from '../events/event-consumer';
import type { EventEnvelope } from '../events/event-envelope.dto';

// A job fired a hair early (another machine's clock) would find nothing due yet.
const DUE_MARGIN_MS = 250;

/**
 * Brings the lease sweep forward to the instants a lease's life turns on: its provisioning
 * deadline (from `lease.created`) and its end (from `lease.started`). Jobs are keyed by lease
 * and instant, so a repeated delivery adds nothing; the scheduled sweep is the backstop.
 */
@EventConsumer({ consumer: 'lease-timers', types: ['lease.created', 'lease.started'] })
@Injectable()
export class LeaseTimersConsumer implements EventHandler {
  constructor(
    private readonly producer: JobProducer,
    private readonly clock: Clock,
  ) {}

  async handle(event: EventEnvelope): Promise<void> {
    const field = event.type === 'lease.created' ? 'provisioningDeadline' : 'endsAt';
    const value = event.payload[field];
    const at = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    if (!Number.isFinite(at)) return;
    const delay = at - this.clock.now().getTime();
    if (delay <= 0) return;
    await this.producer.enqueue(
      'leases.sweep',
      { trigger: event.type },
      { jobId: `${field}-${event.aggregateId}-${at}`, delay: delay + DUE_MARGIN_MS },
    );
  }
}
