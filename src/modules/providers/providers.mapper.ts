import { formatMoney } from '@/shared/money';
import { windowTimes } from '@/modules/markets/domain/idle-schedule';
import { LIVE_OFFER_STATUSES, type Slo } from '@/modules/markets/domain/order-terms';
import { idleWindowsOf } from './domain/idle-windows';
import { SloTermsResponse } from '@/modules/markets/dto/slo-terms.response';
import { IdleWindowsResponse, WindowTimesResponse } from '@/modules/markets/dto/idle-windows.response';
import type { OfferResponse } from './dto/offer.dto';
import type { SiteResponse } from './dto/site.dto';
import type { OfferRecord } from './offers.repository';
import type { SiteRecord } from './sites.repository';

/** The one place provider records become API responses: money as decimal strings, dates ISO. */
export const ProvidersMapper = {
  site(record: SiteRecord): SiteResponse {
    return {
      id: record.id,
      name: record.name,
      provinceCode: record.provinceCode,
      cityCode: record.cityCode,
      uptimeTier: record.uptimeTier,
      notes: record.notes,
      createdAt: record.createdAt.toISOString(),
      updatedAt: record.updatedAt.toISOString(),
    };
  },

  /** `now` places the offer's idle windows in time (`nextWindowOpensAt`, `windowClosesAt`). */
  offer(record: OfferRecord, now: Date): OfferResponse {
    // A cancelled or expired offer sells no more windows.
    const live = (LIVE_OFFER_STATUSES as readonly string[]).includes(record.status);
    const window = windowTimes(
      live ? idleWindowsOf(record.idleWindows, record.reclaimNoticeMinutes) : null,
      now.getTime(),
      record.availableFrom.getTime(),
      record.availableUntil.getTime(),
    );
    return {
      id: record.id,
      market: record.market.slug,
      currency: record.market.currency,
      siteId: record.siteId,
      gpus: record.gpus,
      leasedGpus: record.leasedGpus,
      freeGpus: record.gpus - record.leasedGpus,
      pricePerGpuHour: formatMoney(record.pricePerGpuHour, record.market.currencyScale),
      availableFrom: record.availableFrom.toISOString(),
      availableUntil: record.availableUntil.toISOString(),
      minLeaseHours: record.minLeaseHours,
      payPerUseMinPercent: record.payPerUseMinPercent,
      terminationNoticeHours: record.terminationNoticeHours,
      idleWindows: ProvidersMapper.idleWindows(record),
      ...WindowTimesResponse.of(window),
      // Written only from parseOfferSlo's result (the placement) and never changed.
      slo: SloTermsResponse.of(record.slo as Slo | null),
      status: record.status,
      createdAt: record.createdAt.toISOString(),
      updatedAt: record.updatedAt.toISOString(),
      cancelledAt: record.cancelledAt === null ? null : record.cancelledAt.toISOString(),
    };
  },

  /** The offer's idle windows as offers and `offer.placed` show them; null when none. */
  idleWindows(
    record: Pick<OfferRecord, 'idleWindows' | 'reclaimNoticeMinutes'>,
  ): OfferResponse['idleWindows'] {
    return IdleWindowsResponse.of(idleWindowsOf(record.idleWindows, record.reclaimNoticeMinutes));
  },
};
