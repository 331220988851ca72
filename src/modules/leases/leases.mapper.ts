import type { OrganisationRole } from '@/generated/prisma/enums';
import { formatMoney } from '@/shared/money';
import {
  takeOrPayTokensPerHour,
  tokensCost,
  tokensPerHour,
} from '@/modules/inference/domain/inference-pricing';
import type {
  AdminLeaseResponse,
  BuyerLeaseResponse,
  LeaseCommonResponse,
  LeaseInferenceResponse,
  LeaseResponse,
  ProviderLeaseResponse,
} from './dto/lease.dto';
import { SloTermsResponse } from '@/modules/markets/dto/slo-terms.response';
import type { LeaseRecord } from './leases.repository';

function common(row: LeaseRecord): LeaseCommonResponse {
  return {
    id: row.id,
    market: row.market.slug,
    currency: row.market.currency,
    site: { province: { ...row.place.province }, city: { ...row.place.city } },
    gpus: row.gpus,
    pricePerGpuHour: formatMoney(row.pricePerGpuHour, row.market.currencyScale),
    durationHours: row.durationHours,
    extendedHours: row.extendedHours,
    billingMode: row.billingMode,
    billingBasis: row.billingBasis,
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
    inference:
      row.inference === null
        ? null
        : {
            model: row.inference.model,
            pricePerMillionTokens: formatMoney(row.inference.pricePerMillionTokens, row.market.currencyScale),
            outputTokensPerSecond: row.inference.outputTokensPerSecond,
            promptTokensPerSecond: row.inference.promptTokensPerSecond,
            ...takeOrPay(row.billingBasis, row.inference, row.market.currencyScale),
          },
    endedBy: endedBy(row),
    terminationNoticeHours: row.terminationNoticeHours,
    noticeGivenAt: row.noticeGivenAt?.toISOString() ?? null,
    penalty: row.penalty === null ? null : formatMoney(row.penalty, row.market.currencyScale),
    startsAt: row.startsAt?.toISOString() ?? null,
    reclaimable: row.reclaimable,
    reclaimNoticeMinutes: row.reclaimNoticeMinutes,
    reclaimedAt: row.reclaimedAt?.toISOString() ?? null,
    slo: SloTermsResponse.of(row.slo),
  };
}

/** Per-token billing's minimum an hour of the lease (docs/INFERENCE.md "Per-token billing"). */
function takeOrPay(
  basis: LeaseRecord['billingBasis'],
  inference: NonNullable<LeaseRecord['inference']>,
  scale: number,
): Pick<
  LeaseInferenceResponse,
  'billing' | 'takeOrPayPercent' | 'minimumTokensPerHour' | 'minimumChargePerHour'
> {
  if (basis === 'GPU_HOURS' || inference.takeOrPayPercent === null) {
    return {
      billing: 'GPU_HOURS',
      takeOrPayPercent: null,
      minimumTokensPerHour: null,
      minimumChargePerHour: null,
    };
  }
  const tokens = takeOrPayTokensPerHour(
    tokensPerHour(inference.outputTokensPerSecond, inference.promptTokensPerSecond),
    inference.takeOrPayPercent,
  );
  return {
    billing: 'PER_TOKEN',
    takeOrPayPercent: inference.takeOrPayPercent,
    minimumTokensPerHour: tokens.toString(),
    minimumChargePerHour: formatMoney(tokensCost(tokens, inference.pricePerMillionTokens), scale),
  };
}

/** Who ended the lease before its term (or is ending it, under notice); null when it ran to its end. */
function endedBy(row: LeaseRecord): 'BUYER' | 'PROVIDER' | 'ADMIN' | null {
  switch (row.terminationReason) {
    case 'BUYER_REQUEST':
      return 'BUYER';
    case 'PROVIDER_REQUEST':
    case 'PROVIDER_NOTICE':
    case 'PROVIDER_FAILURE':
    case 'RECLAIMED':
      return 'PROVIDER';
    case 'ADMIN':
      return 'ADMIN';
    case null:
      return row.noticeGivenAt === null && row.reclaimedAt === null ? null : 'PROVIDER';
  }
}

/**
 * Lease rows to API shapes, one per viewer (docs/EVENTS.md, "Who sees whom"): each side sees
 * the other by display name only; offer, site and provider ids and the fee are the provider's.
 */
export const LeasesMapper = {
  forBuyer(row: LeaseRecord): BuyerLeaseResponse {
    return {
      view: 'buyer',
      ...common(row),
      bidId: row.bidId,
      buyerOrganisationId: row.buyerOrganisationId,
      provider: { name: row.providerName },
    };
  },

  forProvider(row: LeaseRecord): ProviderLeaseResponse {
    return {
      view: 'provider',
      ...common(row),
      offerId: row.offerId,
      siteId: row.siteId,
      providerOrganisationId: row.providerOrganisationId,
      feeBps: row.feeBps,
      buyer: { name: row.buyerName },
    };
  },

  forAdmin(row: LeaseRecord): AdminLeaseResponse {
    return {
      view: 'admin',
      ...common(row),
      bidId: row.bidId,
      offerId: row.offerId,
      siteId: row.siteId,
      buyerOrganisationId: row.buyerOrganisationId,
      providerOrganisationId: row.providerOrganisationId,
      feeBps: row.feeBps,
      buyer: { name: row.buyerName },
      provider: { name: row.providerName },
    };
  },

  /** The view of the side `role` plays on the lease. */
  lease(row: LeaseRecord, role: OrganisationRole): LeaseResponse {
    return role === 'BUYER' ? LeasesMapper.forBuyer(row) : LeasesMapper.forProvider(row);
  },
};
