import { Injectable } from '@nestjs/common';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { EventTrigger, type EventTriggerHandler } from '@/infra/events/event-consumer';
import type { TypedEventEnvelope } from '@/infra/events/event-envelope.dto';
import { LEASE_END_JOB_PREFIX } from '@/infra/queues/lease-timer-jobs';

/**
 * Brings the lease sweep forward to a lease's end (from `lease.started`). The sweep handles every
 * lease due, so one job per second of such instants serves them all (`JobProducer.enqueueDue`),
 * and a repeated publication adds nothing: no inbox (docs/EVENTS.md). The scheduled sweep is the
 * backstop. The provisioning deadline is scheduled by the matching run that creates the lease,
 * right after its commit.
 */
@EventTrigger({ trigger: 'lease-timers', types: ['lease.started'] })
@Injectable()
export class LeaseTimersTrigger implements EventTriggerHandler<'lease.started'> {
  constructor(private readonly producer: JobProducer) {}

  async onPublished(events: ReadonlyArray<TypedEventEnvelope<'lease.started'>>): Promise<void> {
    for (const event of events) {
      const endsAt = event.payload.endsAt;
      const at = endsAt === null ? Number.NaN : Date.parse(endsAt);
      await this.producer.enqueueDue('leases.sweep', { trigger: event.type }, LEASE_END_JOB_PREFIX, at);
    }
  }
}
