import type { NewEvent } from '../../../infra/events/event-catalogue';
import type { ClosedLease } from '../leases.repository';

/** `lease.ended` / `lease.terminated`: the market lets matching re-run the book the GPUs return to. */
export function leaseClosed(
  lease: ClosedLease,
  outcome: { status: 'ENDED' } | { status: 'TERMINATED'; reason: string },
): NewEvent {
  return {
    type: outcome.status === 'ENDED' ? 'lease.ended' : 'lease.terminated',
    aggregateType: 'lease',
    aggregateId: lease.id,
    payload: {
      leaseId: lease.id,
      market: lease.market,
      offerId: lease.offerId,
      buyerOrganisationId: lease.buyerOrganisationId,
      providerOrganisationId: lease.providerOrganisationId,
      gpus: lease.gpus,
      startedAt: lease.startedAt?.toISOString() ?? null,
      endedAt: lease.endedAt.toISOString(),
      ...(outcome.status === 'TERMINATED' ? { reason: outcome.reason } : {}),
    },
  };
}
