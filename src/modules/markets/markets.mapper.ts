import { formatMoney } from '@/shared/money';
import type { AdminMarketResponse } from './dto/admin-market.dto';
import type { BookLevelResponse } from './dto/book.dto';
import type { ReliabilityScore } from '@/modules/reliability/domain/reliability-score';
import type { ListingResponse } from './dto/listing.dto';
import type { MarketResponse } from './dto/market.dto';
import type { ProvinceResponse } from './dto/province.dto';
import type { BookLevelRecord, ListingRecord } from './market-data.repository';
import type { AdminMarketRecord, MarketRecord, ProvinceRecord } from './markets.repository';

/** The one place catalogue and market-data records become API responses. */
export const MarketsMapper = {
  market(record: MarketRecord): MarketResponse {
    return {
      slug: record.slug,
      vendor: record.vendor,
      model: record.model,
      memoryGb: record.memoryGb,
      currency: record.currency,
      currencyScale: record.currencyScale,
      feeBps: record.feeBps,
      status: record.status,
      matchingMode: record.matchingMode,
      callWindowMs: record.callWindowMs,
    };
  },

  adminMarket(record: AdminMarketRecord): AdminMarketResponse {
    // Every market has its matching row (inserted with it by a trigger); zeros stand in regardless.
    const matching = record.matching;
    return {
      ...MarketsMapper.market(record),
      updatedAt: record.updatedAt.toISOString(),
      matching: {
        epoch: (matching?.epoch ?? 0n).toString(),
        commits: (matching?.commits ?? 0n).toString(),
        staleCommits: (matching?.staleCommits ?? 0n).toString(),
        lastCommitAt: matching?.lastCommitAt?.toISOString() ?? null,
      },
    };
  },

  province(record: ProvinceRecord): ProvinceResponse {
    return {
      code: record.code,
      nameZh: record.nameZh,
      namePinyin: record.namePinyin,
      cities: record.cities.map((city) => ({
        code: city.code,
        nameZh: city.nameZh,
        namePinyin: city.namePinyin,
      })),
    };
  },

  bookLevel(record: BookLevelRecord, scale: number): BookLevelResponse {
    return { price: formatMoney(record.price, scale), gpus: record.gpus, orders: record.orders };
  },

  listing(record: ListingRecord, reliability: ReliabilityScore): ListingResponse {
    return {
      market: record.market.slug,
      currency: record.market.currency,
      provider: { name: record.providerName, reliability },
      province: {
        code: record.province.code,
        nameZh: record.province.nameZh,
        namePinyin: record.province.namePinyin,
      },
      city: { code: record.city.code, nameZh: record.city.nameZh, namePinyin: record.city.namePinyin },
      uptimeTier: record.uptimeTier,
      freeGpus: record.freeGpus,
      pricePerGpuHour: formatMoney(record.pricePerGpuHour, record.market.currencyScale),
      availableFrom: record.availableFrom.toISOString(),
      availableUntil: record.availableUntil.toISOString(),
      minLeaseHours: record.minLeaseHours,
      payPerUseMinPercent: record.payPerUseMinPercent,
      terminationNoticeHours: record.terminationNoticeHours,
    };
  },
};
