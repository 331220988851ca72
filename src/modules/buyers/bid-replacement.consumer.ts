import { Injectable } from '@nestjs/common';
import { EventConsumer, type EventHandler } from '@/infra/events/event-consumer';
import type { TypedEventEnvelope } from '@/infra/events/event-envelope.dto';
import { OutboxService } from '@/modules/events/outbox.service';
import { BidsService } from './bids.service';

type LeaseClosed = 'lease.ended' | 'lease.terminated';

/**
 * Re-places a bid that asked for it when one of its leases closes, whatever the reason but the
 * buyer's own end (a reclaim included): docs/LEASES.md "Re-placing a bid automatically". The
 * placement goes through the group commit, its own transaction; a repeated delivery finds the
 * lease re-placed already (bids.replaces_lease_id is unique) and does nothing. A refusal is
 * told to the buyer by `bid.replacement_refused`, in this inbox transaction, once.
 */
@EventConsumer({ consumer: 'bid-replacement', types: ['lease.ended', 'lease.terminated'] })
@Injectable()
export class BidReplacementConsumer implements EventHandler<LeaseClosed> {
  constructor(
    private readonly bids: BidsService,
    private readonly outbox: OutboxService,
  ) {}

  async handle(event: TypedEventEnvelope<LeaseClosed>): Promise<void> {
    const outcome = await this.bids.replaceAfterLeaseEnd(event.payload.leaseId);
    if (outcome === null || 'placed' in outcome) return;
    const details = outcome.refused.details ?? {};
    await this.outbox.record({
      type: 'bid.replacement_refused',
      aggregateType: 'bid',
      aggregateId: outcome.bidId,
      payload: {
        bidId: outcome.bidId,
        organisationId: outcome.organisationId,
        leaseId: event.payload.leaseId,
        reason: typeof details.reason === 'string' ? details.reason : outcome.refused.code,
        message: outcome.refused.message,
      },
    });
  }
}
