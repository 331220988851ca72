import { Injectable } from '@nestjs/common';
import { EventConsumer, type EventHandler } from '@/infra/events/event-consumer';
import type { TypedEventEnvelope } from '@/infra/events/event-envelope.dto';
import { ReliabilityService } from './reliability.service';

type Outcome =
  | 'lease.started'
  | 'lease.ended'
  | 'lease.terminated'
  | 'lease.report_decided'
  | 'slo.credited'
  | 'dispute.resolved';

/**
 * Keeps the provider's stored score current after each lease outcome: a handover, an end, an
 * early termination, an admin's decision on a buyer's failure report, a missed SLO (credited), a
 * decided dispute. Periods that met their SLO move it at the lease's end and at the periodic
 * refresh. Runs in the inbox transaction, so each event moves the score once.
 */
@EventConsumer({
  consumer: 'reliability',
  types: [
    'lease.started',
    'lease.ended',
    'lease.terminated',
    'lease.report_decided',
    'slo.credited',
    'dispute.resolved',
  ],
})
@Injectable()
export class ReliabilityConsumer implements EventHandler<Outcome> {
  constructor(private readonly reliability: ReliabilityService) {}

  async handle(event: TypedEventEnvelope<Outcome>): Promise<void> {
    await this.reliability.refresh([event.payload.providerOrganisationId]);
  }
}
