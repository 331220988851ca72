import type { IdleSchedule } from '@/modules/markets/domain/idle-schedule';

/**
 * The matching core's view of one market's book (docs/MATCHING.md). Pure data: money in
 * integer minor units, instants in epoch milliseconds, no Prisma or Nest types.
 */

export interface BookOffer {
  readonly id: string;
  readonly organisationId: string;
  readonly verified: boolean;
  readonly siteId: string;
  /** GB/T 2260 province code of the site. */
  readonly province: string;
  /** Ask per GPU-hour, minor units. */
  readonly price: bigint;
  /** GPUs offered minus GPUs of non-ended leases. */
  readonly free: number;
  readonly seq: bigint;
  readonly availableFrom: number;
  readonly availableUntil: number;
  readonly minLeaseHours: number;
  /**
   * The offer's pay-per-use floor, 0..100 (docs/LEASES.md): the share of a lease's GPU-seconds
   * it is paid for however few are used. A per-token inference bid needs a take-or-pay share at
   * least this (docs/MATCHING.md rule 4, `TAKE_OR_PAY`).
   */
  readonly payPerUseMinPercent: number;
  /**
   * What the offer's GPUs serve, by model id, as sizing trusts it (docs/INFERENCE.md "Inference
   * bids"); read only for markets with inference bids, absent or empty otherwise.
   */
  readonly serving?: Readonly<Record<string, OfferServing>>;
  /** The owner's stored reliability score (docs/RELIABILITY.md); absent: 80, a new provider's. */
  readonly providerScore?: number;
  /**
   * Recurring idle windows (docs/MATCHING.md rule 8): leases start only inside them. Absent: the
   * whole availability window, a lease starting at the match.
   */
  readonly idle?: IdleSchedule;
}

/** One model an offer serves: the effective figures (lower of declared and reference) per GPU. */
export interface OfferServing {
  readonly promptTokensPerSecondPerGpu: number;
  readonly outputTokensPerSecondPerGpu: number;
  readonly ttftP50Ms: number;
  readonly ttftP95Ms: number;
  readonly gpusPerReplica: number;
}

/** What an inference bid asks of the offers it may trade with (docs/INFERENCE.md "Inference bids"). */
export interface InferenceDemandTerms {
  readonly modelId: string;
  readonly outputTokensPerSecond: number;
  readonly promptTokensPerSecond: number;
  /** TTFT p95 SLO, ms. */
  readonly ttftP95Ms: number;
  /** GPUs the bid was sized into: an offer whose profile needs more for the demand is ineligible. */
  readonly sizedGpus: number;
  /**
   * The bid's take-or-pay share of per-token billing, 0..100 (docs/INFERENCE.md "Per-token
   * billing"): an offer whose pay-per-use floor is above it is ineligible (`TAKE_OR_PAY`).
   */
  readonly takeOrPayPercent: number;
  /**
   * The bid's replica size, its **lot** (docs/MATCHING.md "Lots"): every site gives it a whole
   * number of lots. Absent: 1 (a bid placed before lots).
   */
  readonly gpusPerReplica?: number;
}

export interface BookBid {
  readonly id: string;
  readonly organisationId: string;
  readonly verified: boolean;
  /** Maximum price per GPU-hour, minor units. */
  readonly price: bigint;
  /** GPUs still wanted. */
  readonly remaining: number;
  readonly seq: bigint;
  readonly durationHours: number;
  /** Allowed province codes; empty means anywhere. */
  readonly provinces: readonly string[];
  readonly minGpusPerSite: number;
  readonly partialAllowed: boolean;
  readonly expiresAt: number;
  /** Present on an inference bid only. */
  readonly inference?: InferenceDemandTerms;
  /** The lowest provider reliability score the bid accepts; absent: any. */
  readonly minProviderScore?: number;
  /** Accepts reclaim at an idle-window offer's notice, so may start in a window it does not fit whole. */
  readonly interruptible?: boolean;
}

export interface Fill {
  readonly bidId: string;
  readonly offerId: string;
  readonly siteId: string;
  readonly gpus: number;
  /** Trade price per GPU-hour: the price of the order with the lower seq. */
  readonly price: bigint;
}

export const HOUR_MS = 3_600_000;

/**
 * The GPUs a bid takes from a site come in whole multiples of this (docs/MATCHING.md "Lots"): an
 * inference bid's replica size, 1 for a GPU bid.
 */
export function lotOf(bid: Pick<BookBid, 'inference'>): number {
  const lot = bid.inference?.gpusPerReplica ?? 1;
  return Number.isSafeInteger(lot) && lot > 1 ? lot : 1;
}

/** `gpus` rounded down to whole lots. */
export function wholeLots(gpus: number, lot: number): number {
  return gpus - (gpus % lot);
}

/** `gpus` rounded up to whole lots. */
export function lotsCovering(gpus: number, lot: number): number {
  return Math.ceil(gpus / lot) * lot;
}
