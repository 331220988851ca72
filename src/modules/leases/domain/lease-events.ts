import type { NewEvent } from '@/infra/events/event-catalogue';
import type { ClosedLease } from '../leases.repository';

/**
 * `lease.ended` / `lease.terminated`: the market lets matching re-run the book the GPUs return
 * to. Without an outcome, the lease's own: ENDED, or TERMINATED for the reason it was closed with.
 */
export function leaseClosed(
  lease: ClosedLease,
  outcome?: { status: 'TERMINATED'; reason: string; penalty?: string },
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
  const reason = outcome?.reason ?? lease.terminationReason;
  return reason === null
    ? { type: 'lease.ended', ...about, payload: ended }
    : { type: 'lease.terminated', ...about, payload: { ...ended, reason, penalty: outcome?.penalty } };
}
