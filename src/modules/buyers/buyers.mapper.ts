import { formatMoney } from '@/shared/money';
import { takeOrPayTokensPerHour, tokensPerHour } from '@/modules/inference/domain/inference-pricing';
import type { BidRecord } from './bids.repository';
import type { BidResponse } from './dto/bid.dto';

/** The one place buyer records become API responses: money as decimal strings, dates ISO. */
export const BuyersMapper = {
  bid(record: BidRecord): BidResponse {
    return {
      id: record.id,
      market: record.market.slug,
      currency: record.market.currency,
      gpus: record.gpus,
      filledGpus: record.filledGpus,
      remainingGpus: record.gpus - record.filledGpus,
      maxPricePerGpuHour: formatMoney(record.maxPricePerGpuHour, record.market.currencyScale),
      durationHours: record.durationHours,
      provinces: [...record.provinces],
      minGpusPerSite: record.minGpusPerSite,
      partialAllowed: record.partialAllowed,
      minProviderScore: record.minProviderScore,
      autoReplacePlanId: record.replacementPlanId,
      replacesLeaseId: record.replacesLeaseId,
      interruptible: record.interruptible,
      billingMode: record.billingMode,
      expiresAt: record.expiresAt.toISOString(),
      status: record.status,
      createdAt: record.createdAt.toISOString(),
      updatedAt: record.updatedAt.toISOString(),
      cancelledAt: record.cancelledAt === null ? null : record.cancelledAt.toISOString(),
      inference:
        record.inference === null
          ? null
          : {
              model: record.inference.model,
              outputTokensPerSecond: record.inference.outputTokensPerSecond,
              promptTokensPerSecond: record.inference.promptTokensPerSecond,
              ttftP95Ms: record.inference.ttftP95Ms,
              maxPricePerMillionTokens: formatMoney(
                record.inference.maxPricePerMillionTokens,
                record.market.currencyScale,
              ),
              gpusPerReplica: record.inference.gpusPerReplica,
              takeOrPayPercent: record.inference.takeOrPayPercent,
              minimumTokensPerHour: takeOrPayTokensPerHour(
                tokensPerHour(record.inference.outputTokensPerSecond, record.inference.promptTokensPerSecond),
                record.inference.takeOrPayPercent,
              ).toString(),
            },
    };
  },
};
