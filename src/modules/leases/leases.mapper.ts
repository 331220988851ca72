import { formatMoney } from '../../shared/money';
import type { LeaseResponse } from './dto/lease.dto';
import type { LeaseRecord } from './leases.repository';

/** Lease rows to API shapes. */
export const LeasesMapper = {
  lease(row: LeaseRecord): LeaseResponse {
    return {
      id: row.id,
      market: row.market.slug,
      currency: row.market.currency,
      bidId: row.bidId,
      offerId: row.offerId,
      buyerOrganisationId: row.buyerOrganisationId,
      providerOrganisationId: row.providerOrganisationId,
      siteId: row.siteId,
      gpus: row.gpus,
      pricePerGpuHour: formatMoney(row.pricePerGpuHour, row.market.currencyScale),
      durationHours: row.durationHours,
      billingMode: row.billingMode,
      feeBps: row.feeBps,
      payPerUseMinPercent: row.payPerUseMinPercent,
      periodSeconds: row.periodSeconds,
      status: row.status,
      terminationReason: row.terminationReason,
      provisioningDeadline: row.provisioningDeadline.toISOString(),
      // Access is handed over exactly when the lease starts.
      accessReady: row.startedAt !== null,
      startedAt: row.startedAt?.toISOString() ?? null,
      endsAt: row.endsAt?.toISOString() ?? null,
      endedAt: row.endedAt?.toISOString() ?? null,
      createdAt: row.createdAt.toISOString(),
    };
  },
};
