import { formatMoney } from '@/shared/money';
import type { AdminMarketResponse } from './dto/admin-market.dto';
import type { AskLevelResponse, BookLevelResponse } from './dto/book.dto';
import type { ReliabilityScore } from '@/modules/reliability/domain/reliability-score';
import type { PublicProvider } from '@/modules/reliability/reliability.service';
import type { ListingResponse, ListingServingResponse } from './dto/listing.dto';
import type { MarketResponse } from './dto/market.dto';
import type { ProvinceResponse } from './dto/province.dto';
import { SloTermsResponse } from './dto/slo-terms.response';
import { IdleWindowsResponse, WindowTimesResponse } from './dto/idle-windows.response';
import type {
  AskLevelRecord,
  BookLevelRecord,
  ListingRecord,
  OfferServingRecord,
} from './market-data.repository';
import {
  MARKET_PROMPT_TO_OUTPUT_RATIO,
  pricePerMillionTokensAtAsk,
  tokenCapacity,
} from './domain/token-terms';
import { combinedWindowTimes, windowTimes } from './domain/idle-schedule';
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
      callPhaseMs: record.callPhaseMs,
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

  /**
   * An ask level with its providers, best score first (ties by name), each by name and score
   * only, and when its offers can be had at `now` (docs/LEASES.md "Idle windows").
   */
  askLevel(
    record: AskLevelRecord,
    scale: number,
    providers: ReadonlyMap<string, PublicProvider>,
    now: Date,
  ): AskLevelResponse {
    const shown = record.providerIds
      .map((id) => providers.get(id))
      .filter((provider): provider is PublicProvider => provider !== undefined)
      .sort((a, b) => b.reliability.score - a.reliability.score || a.name.localeCompare(b.name));
    const window = combinedWindowTimes(
      record.offers.map((offer) => ({
        windowed: offer.idleWindows !== null,
        times: windowTimes(
          offer.idleWindows,
          now.getTime(),
          offer.availableFrom.getTime(),
          offer.availableUntil.getTime(),
        ),
        availableUntil: offer.availableUntil.getTime(),
      })),
    );
    return { ...MarketsMapper.bookLevel(record, scale), ...WindowTimesResponse.of(window), providers: shown };
  },

  /** One model an offer serves: its free GPUs in tokens/s and its ask per million tokens. */
  listingServing(record: ListingRecord, serving: OfferServingRecord): ListingServingResponse {
    const ratio = MARKET_PROMPT_TO_OUTPUT_RATIO;
    const capacity = tokenCapacity(record.freeGpus, serving.gpusPerReplica, serving, ratio);
    const perMillion = pricePerMillionTokensAtAsk(record.pricePerGpuHour, serving, ratio);
    return {
      model: serving.model,
      gpusPerReplica: serving.gpusPerReplica,
      promptTokensPerSecondPerGpu: serving.promptTokensPerSecondPerGpu,
      outputTokensPerSecondPerGpu: serving.outputTokensPerSecondPerGpu,
      ttftP95Ms: serving.ttftP95Ms,
      promptToOutputRatio: ratio,
      replicas: capacity.replicas,
      outputTokensPerSecond: capacity.outputTokensPerSecond,
      promptTokensPerSecond: capacity.promptTokensPerSecond,
      tokensPerSecond: capacity.tokensPerSecond,
      pricePerMillionTokens:
        perMillion === null ? null : formatMoney(perMillion, record.market.currencyScale),
    };
  },

  listing(
    record: ListingRecord,
    reliability: ReliabilityScore,
    now: Date,
    serving: readonly OfferServingRecord[] = [],
  ): ListingResponse {
    const window = windowTimes(
      record.idleWindows,
      now.getTime(),
      record.availableFrom.getTime(),
      record.availableUntil.getTime(),
    );
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
      serves: serving.map((line) => MarketsMapper.listingServing(record, line)),
      slo: SloTermsResponse.of(record.slo),
      idleWindows: IdleWindowsResponse.of(record.idleWindows),
      ...WindowTimesResponse.of(window),
    };
  },
};
