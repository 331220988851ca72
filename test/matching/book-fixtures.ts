// Test factories for the matching specs (pure data, no jest).
import {
  type BookBid,
  type BookOffer,
  HOUR_MS,
  type InferenceDemandTerms,
  type OfferServing,
} from '@/modules/matching/domain/book';
import type { BookHeader } from '@/modules/matching/domain/market-book';

/** The instant of the worked examples in docs/MATCHING.md: 2026-12-01T00:00Z. */
export const NOW = Date.parse('2026-12-01T00:00:00Z');
export const HOUR = HOUR_MS;
export const DAY = 24 * HOUR_MS;

export const BEIJING = '110000';
export const GUIZHOU = '520000';
export const GUANGDONG = '440000';

type WithRequired<T, K extends keyof T> = Partial<T> & Pick<T, K>;

/**
 * A market's header as a run reads it: an active CONTINUOUS H100 market in CNY with a 3% fee
 * (the window and phase are read only by CALL markets).
 */
export function bookHeader(fields: Partial<BookHeader> = {}): BookHeader {
  return {
    marketId: 'm',
    market: 'nvidia-h100-80gb',
    currency: 'CNY',
    currencyScale: 2,
    paused: false,
    feeBps: 300,
    mode: 'CONTINUOUS',
    callWindowMs: 1_000,
    callPhaseMs: 0,
    ...fields,
  };
}

/**
 * An offer as the worked examples assume it unless they say otherwise: its own VERIFIED
 * organisation, window open a day ago and for sixty days more, one-hour minimum lease, no
 * pay-per-use floor.
 */
export function offer(
  fields: WithRequired<BookOffer, 'id' | 'siteId' | 'price' | 'free' | 'seq'>,
): BookOffer {
  return {
    organisationId: `org-${fields.id}`,
    verified: true,
    province: GUANGDONG,
    availableFrom: NOW - DAY,
    availableUntil: NOW + 60 * DAY,
    minLeaseHours: 1,
    payPerUseMinPercent: 0,
    ...fields,
  };
}

/**
 * A bid as the worked examples assume it unless they say otherwise: its own VERIFIED
 * organisation, 24 hours, anywhere, one GPU per site, all-or-nothing, expiring in a week.
 */
export function bid(fields: WithRequired<BookBid, 'id' | 'price' | 'remaining' | 'seq'>): BookBid {
  return {
    organisationId: `org-${fields.id}`,
    verified: true,
    durationHours: 24,
    provinces: [],
    minGpusPerSite: 1,
    partialAllowed: false,
    expiresAt: NOW + 7 * DAY,
    ...fields,
  };
}

/** The book after a run: each offer's free GPUs less what the run took, each bid's remaining less its fills. */
export function afterRun(
  bids: readonly BookBid[],
  offers: readonly BookOffer[],
  run: { bidsFilled: ReadonlyMap<string, number>; offersTaken: ReadonlyMap<string, number> },
): { bids: BookBid[]; offers: BookOffer[] } {
  return {
    bids: bids.map((b) => ({ ...b, remaining: b.remaining - (run.bidsFilled.get(b.id) ?? 0) })),
    offers: offers.map((o) => ({ ...o, free: o.free - (run.offersTaken.get(o.id) ?? 0) })),
  };
}

/**
 * docs/MATCHING.md "Lots": model `m` served in replicas of `gpusPerReplica` GPUs at 1,000 prompt and
 * 1,000 output tokens/s per GPU, TTFT p95 100 ms.
 */
export function servesInReplicas(gpusPerReplica: number): Record<string, OfferServing> {
  return {
    m: {
      promptTokensPerSecondPerGpu: 1000,
      outputTokensPerSecondPerGpu: 1000,
      ttftP50Ms: 50,
      ttftP95Ms: 100,
      gpusPerReplica,
    },
  };
}

/** An inference bid's demand on model `m` (1,000 + 1,000 tokens/s), sized into `sizedGpus` in replicas of `gpusPerReplica`. */
export function demandInReplicas(sizedGpus: number, gpusPerReplica: number): InferenceDemandTerms {
  return {
    modelId: 'm',
    outputTokensPerSecond: 1000,
    promptTokensPerSecond: 1000,
    ttftP95Ms: 300,
    sizedGpus,
    takeOrPayPercent: 50,
    gpusPerReplica,
  };
}
