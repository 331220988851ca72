import type { NewEvent } from '@/infra/events/event-catalogue';
import type { ClosedLease } from '../leases.repository';

/** `lease.ended` / `lease.terminated`: the market lets matching re-run the book the GPUs return to. */
export function leaseClosed(
  lease: ClosedLease,
  outcome: { status: 'ENDED' } | { status: 'TERMINATED'; reason: string },
): NewEvent<'lease.ended' | 'lease.terminated'> {
  const ended = {
    leaseId: lease.id,
    market: lease.market,
    offerId: lease.offerId,
    buyerOrganisationId: lease.buyerOrganisationId,
    providerOrganisationId: lease.providerOrganisationId,
    gpus: lease.gpus,
    startedAt: lease.startedAt?.toISOString() ?? null,
    endedAt: lease.endedAt.toISOString(),
  };
  const about = { aggregateType: 'lease', aggregateId: lease.id };
  return outcome.status === 'ENDED'
    ? { type: 'lease.ended', ...about, payload: ended }
    : { type: 'lease.terminated', ...about, payload: { ...ended, reason: outcome.reason } };
}
