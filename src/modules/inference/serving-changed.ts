import type { OfferServingChangedPayload } from '@/infra/events/event-payloads';
import type { OutboxService } from '@/modules/events/outbox.service';
import type { InferenceRepository } from './inference.repository';

/**
 * `offer.serving_changed`, in the caller's transaction: what the offer serves may have changed,
 * so a resting inference bid it can now serve is matched by the run the event asks for, not the
 * next sweep (docs/INFERENCE.md "Matching"). False, and nothing recorded, when the offer is gone.
 */
export async function recordServingChanged(
  inference: InferenceRepository,
  outbox: OutboxService,
  change: { organisationId: string; offerId: string; cause: OfferServingChangedPayload['cause'] },
): Promise<boolean> {
  const { organisationId, offerId, cause } = change;
  const offer = await inference.findOfferServes(organisationId, offerId);
  if (offer === null) return false;
  await outbox.record({
    type: 'offer.serving_changed',
    aggregateType: 'offer',
    aggregateId: offerId,
    payload: { offerId, organisationId, market: offer.market, cause, serves: offer.serves },
  });
  return true;
}
