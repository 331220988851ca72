import { Injectable } from '@nestjs/common';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { EventConsumer, type EventHandler } from '@/infra/events/event-consumer';
import type { TypedEventEnvelope } from '@/infra/events/event-envelope.dto';
import { LEASE_END_JOB_PREFIX } from '@/infra/queues/lease-timer-jobs';

/**
 * Brings the lease sweep forward to a lease's end (from `lease.started`). The sweep handles every
 * lease due, so one job per second of such instants serves them all (`JobProducer.enqueueDue`),
 * and a repeated delivery adds nothing; the scheduled sweep is the backstop. The provisioning
 * deadline is scheduled by the matching run that creates the lease, right after its commit.
 */
@EventConsumer({ consumer: 'lease-timers', types: ['lease.started'] })
@Injectable()
export class LeaseTimersConsumer implements EventHandler<'lease.started'> {
  constructor(private readonly producer: JobProducer) {}

  async handle(event: TypedEventEnvelope<'lease.started'>): Promise<void> {
    const endsAt = event.payload.endsAt;
    const at = endsAt === null ? Number.NaN : Date.parse(endsAt);
    await this.producer.enqueueDue('leases.sweep', { trigger: event.type }, LEASE_END_JOB_PREFIX, at);
  }
}
