import type { BookOffer, InferenceDemandTerms } from '@/modules/matching/domain/book';
import type { BidTerms } from '@/modules/matching/domain/eligibility';
import { quoteBid, type Quote } from '@/modules/matching/domain/quote';
import {
  gpuHourCapOf,
  pricePerMillionTokensOf,
  tokensPerHour,
} from '@/modules/inference/domain/inference-pricing';
import { sizeDemand } from '@/modules/inference/domain/sizing';

/** An inference bid's own terms, validated (docs/INFERENCE.md "Inference bids"). */
export interface InferenceAsk {
  readonly modelId: string;
  readonly outputTokensPerSecond: number;
  readonly promptTokensPerSecond: number;
  /** TTFT p95 SLO, ms. */
  readonly ttftP95Ms: number;
  /** Minor units per million tokens. */
  readonly maxPricePerMillionTokens: bigint;
  /** The take-or-pay share of per-token billing (docs/INFERENCE.md): offers with a higher floor are ineligible. */
  readonly takeOrPayPercent: number;
}

/** The GPU-bid terms around it: who asks, for how long, where, and how it may split. */
export interface InferenceFrame {
  readonly organisationId: string;
  readonly durationHours: number;
  readonly provinces: readonly string[];
  /** The buyer's own co-location minimum; sizing raises it to a whole replica. */
  readonly minGpusPerSite: number;
  readonly partialAllowed: boolean;
  /** The lowest provider reliability score the buyer accepts; absent: any. */
  readonly minProviderScore?: number;
  /** Accepts reclaim at an idle-window offer's notice; absent: false. */
  readonly interruptible?: boolean;
}

export interface InferenceLimits {
  readonly maxGpus: number;
  /** The GPU-hour price cap of the market (minor units); a converted cap is clamped to it. */
  readonly maxPricePerGpuHour: bigint;
}

export type InferenceSizing =
  | {
      readonly kind: 'sized';
      /** GPUs the bid is sized into, and its co-location minimum (at least one replica). */
      readonly gpus: number;
      readonly minGpusPerSite: number;
      readonly gpusPerReplica: number;
      /** The GPU-hour cap the per-million-token cap implies on `gpus` GPUs. */
      readonly maxPricePerGpuHour: bigint;
      /** What the bid would fill now at that cap. */
      readonly quote: Quote;
      /** What it would fill at any price: the supply its other terms leave. */
      readonly supply: Quote;
      /** Price per million tokens at the quote's (or, when it fills nothing, the supply's) VWAP. */
      readonly expectedPricePerMillionTokens: bigint | null;
      readonly demand: InferenceDemandTerms;
    }
  | { readonly kind: 'not-served' }
  | { readonly kind: 'unreachable'; readonly largestSize: number | null };

const FOREVER = Number.MAX_SAFE_INTEGER;

/**
 * The GPUs an inference bid takes in one market (docs/INFERENCE.md "Sizing an inference bid").
 */
export function sizeInferenceBid(
  ask: InferenceAsk,
  frame: InferenceFrame,
  offers: readonly BookOffer[],
  now: number,
  limits: InferenceLimits,
): InferenceSizing {
  const sizes = new Map<number, number>();
  for (const offer of offers) {
    const serving = offer.serving?.[ask.modelId];
    if (serving === undefined || !offer.verified || offer.organisationId === frame.organisationId) continue;
    if (frame.provinces.length > 0 && !frame.provinces.includes(offer.province)) continue;
    const sized = sizeDemand(ask, { reference: serving, gpusPerReplica: serving.gpusPerReplica });
    if (!sized.feasible) continue;
    sizes.set(sized.gpus, Math.max(sizes.get(sized.gpus) ?? 0, serving.gpusPerReplica));
  }
  if (sizes.size === 0) return { kind: 'not-served' };
  const candidates = wholeReplicaSizes(sizes);
  const within = candidates.filter(({ gpus }) => gpus <= limits.maxGpus);
  if (within.length === 0) return { kind: 'unreachable', largestSize: null };

  const hourly = tokensPerHour(ask.outputTokensPerSecond, ask.promptTokensPerSecond);
  const tried = within.map(({ gpus, replica }) => {
    // The bid trades in whole replicas, its lots (docs/MATCHING.md "Lots").
    const demand: InferenceDemandTerms = { ...ask, sizedGpus: gpus, gpusPerReplica: replica };
    const minGpusPerSite = Math.min(gpus, Math.max(frame.minGpusPerSite, replica));
    const cap = clamp(gpuHourCapOf(ask.maxPricePerMillionTokens, hourly, gpus), limits.maxPricePerGpuHour);
    const terms = (price: bigint): BidTerms => ({
      organisationId: frame.organisationId,
      verified: true,
      price,
      remaining: gpus,
      durationHours: frame.durationHours,
      provinces: frame.provinces,
      minGpusPerSite,
      partialAllowed: frame.partialAllowed,
      expiresAt: FOREVER,
      inference: demand,
      ...(frame.minProviderScore === undefined ? {} : { minProviderScore: frame.minProviderScore }),
      ...(frame.interruptible === true ? { interruptible: true } : {}),
    });
    const quote = cap > 0n ? quoteBid(terms(cap), offers, now) : quoteBid(terms(0n), [], now);
    const supply = quoteBid({ ...terms(limits.maxPricePerGpuHour), partialAllowed: true }, offers, now);
    return { gpus, minGpusPerSite, replica, cap, quote, supply, demand };
  });
  const chosen =
    tried.find((t) => t.quote.fillableGpus === t.gpus) ??
    tried.find((t) => t.supply.fillableGpus === t.gpus) ??
    (frame.partialAllowed ? mostSupplied(tried) : undefined);
  if (chosen === undefined) return { kind: 'unreachable', largestSize: within.at(-1)?.gpus ?? null };
  const vwap = chosen.quote.vwap ?? chosen.supply.vwap;
  return {
    kind: 'sized',
    gpus: chosen.gpus,
    minGpusPerSite: chosen.minGpusPerSite,
    gpusPerReplica: chosen.replica,
    maxPricePerGpuHour: chosen.cap,
    quote: chosen.quote,
    supply: chosen.supply,
    expectedPricePerMillionTokens: vwap === null ? null : pricePerMillionTokensOf(vwap, hourly, chosen.gpus),
    demand: chosen.demand,
  };
}

/**
 * The candidate sizes, smallest first, each with its replica size: a size admits every offer of a
 * smaller size too, and the largest of their replicas is the bid's lot, so a size is rounded up to
 * whole lots (which may admit more offers, and a larger replica, until it holds).
 */
function wholeReplicaSizes(sizes: ReadonlyMap<number, number>): Array<{ gpus: number; replica: number }> {
  const sorted = [...sizes.keys()].sort((a, b) => a - b);
  const replicaUpTo = (gpus: number): number =>
    sorted.reduce((largest, size) => (size <= gpus ? Math.max(largest, sizes.get(size) ?? 1) : largest), 1);
  const found = new Map<number, number>();
  for (const size of sorted) {
    let gpus = size;
    let replica = replicaUpTo(gpus);
    while (gpus % replica !== 0) {
      gpus = Math.ceil(gpus / replica) * replica;
      replica = replicaUpTo(gpus);
    }
    found.set(gpus, replica);
  }
  return [...found].map(([gpus, replica]) => ({ gpus, replica })).sort((a, b) => a.gpus - b.gpus);
}

function mostSupplied<T extends { supply: Quote }>(tried: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const t of tried) {
    if (t.supply.fillableGpus > 0 && (best === undefined || t.supply.fillableGpus > best.supply.fillableGpus))
      best = t;
  }
  return best;
}

function clamp(price: bigint, max: bigint): bigint {
  return price > max ? max : price;
}

/**
 * Prompt tokens/s from a prompt:output ratio given to 2 decimals: output x ratio, rounded up
 * (sizing for a hair more demand, never less).
 */
export function promptFromRatio(outputTokensPerSecond: number, ratio: number): number {
  const hundredths = Math.round(ratio * 100);
  return Math.ceil((outputTokensPerSecond * hundredths) / 100);
}
