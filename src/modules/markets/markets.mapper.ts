import { formatMoney } from '../../shared/money';
import type { BookLevelResponse } from './dto/book.dto';
import type { ListingResponse } from './dto/listing.dto';
import type { MarketResponse } from './dto/market.dto';
import type { ProvinceResponse } from './dto/province.dto';
import type { BookLevelRecord, ListingRecord } from './market-data.repository';
import type { MarketRecord, ProvinceRecord } from './markets.repository';

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

  listing(record: ListingRecord): ListingResponse {
    return {
      market: record.market.slug,
      currency: record.market.currency,
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
    };
  },
};
