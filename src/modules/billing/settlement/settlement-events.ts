import { formatMoney } from '@/shared/money';
import type { NewEvent } from '@/infra/events/event-catalogue';
import type { PeriodCharge } from './domain/settlement-rules';
import { providerNet } from './domain/token-settlement-rules';
import type { LeaseToSettle } from './settlement.repository';

/** `period.settled`, whether the worker or an admin (by hand) settled the period. */
export function periodSettled(lease: LeaseToSettle, charge: PeriodCharge): NewEvent {
  return {
    type: 'period.settled',
    aggregateType: 'lease',
    aggregateId: lease.id,
    payload: {
      leaseId: lease.id,
      market: lease.market,
      buyerOrganisationId: lease.buyerOrganisationId,
      providerOrganisationId: lease.providerOrganisationId,
      period: charge.index,
      startsAt: charge.startsAt.toISOString(),
      endsAt: charge.endsAt.toISOString(),
      gpuSeconds: charge.gpuSeconds.toString(),
      basis: charge.basis,
      cost: formatMoney(charge.cost, lease.currencyScale),
      fee: formatMoney(charge.fee, lease.currencyScale),
      providerProceeds: formatMoney(providerNet(charge), lease.currencyScale),
      currency: lease.currency,
    },
  };
}
