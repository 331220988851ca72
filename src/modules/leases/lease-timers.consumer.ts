import { Injectable } from '@nestjs/common';
import { JobProducer } from '../../infra/queues/job-producer.service';
import { EventConsumer, type EventHandler } from '../events/event-consumer';
import type { EventEnvelope } from '../events/event-envelope.dto';

/**
 * Brings the lease sweep forward to the instants a lease's life turns on: its provisioning
 * deadline (from `lease.created`) and its end (from `lease.started`). The sweep handles every
 * lease due, so one job per kind and second serves them all (`JobProducer.enqueueDue`), and a
 * repeated delivery adds nothing; the scheduled sweep is the backstop.
 */
@EventConsumer({ consumer: 'lease-timers', types: ['lease.created', 'lease.started'] })
@Injectable()
export class LeaseTimersConsumer implements EventHandler {
  constructor(private readonly producer: JobProducer) {}

  async handle(event: EventEnvelope): Promise<void> {
    const field = event.type === 'lease.created' ? 'provisioningDeadline' : 'endsAt';
    const value = event.payload[field];
    const at = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    await this.producer.enqueueDue('leases.sweep', { trigger: event.type }, field, at);
  }
}
