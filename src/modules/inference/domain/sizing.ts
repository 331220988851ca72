import { trustedThroughput } from './delivery-confirmation';
import type { ServingFigures } from './reference-profile';

/** Inference demand in the buyer's terms. Give `promptTokensPerSecond` or `promptToOutputRatio`. */
export interface InferenceDemand {
  outputTokensPerSecond: number;
  promptTokensPerSecond?: number;
  /** Prompt tokens per output token, e.g. 4 for 4:1. */
  promptToOutputRatio?: number;
  /** TTFT p95 SLO, milliseconds. */
  ttftP95Ms: number;
}

/** One serving profile as sizing sees it. */
export interface SizingProfile {
  /** What the provider declared; absent for a market-wide quote from the reference alone. */
  declared?: ServingFigures;
  /** The reference at the declared concurrency; null when there is none (no fit, no GPU spec). */
  reference: ServingFigures | null;
  gpusPerReplica: number;
  /**
   * The multiple of the reference throughput delivered usage confirmed (delivery-confirmation.ts);
   * absent or 1: none, and sizing takes the lower of declared and reference.
   */
  confirmedScale?: number;
}

export type SizingRefusal = 'NO_USABLE_FIGURES' | 'TTFT_SLO_NOT_MET';

export type SizingResult =
  | {
      feasible: true;
      gpus: number;
      replicas: number;
      /** The figures sizing used. */
      figures: ServingFigures;
      promptTokensPerSecond: number;
      /** GPU time the demand needs per GPU sized, 0..1 (the rest is rounding to replicas). */
      utilisation: number;
    }
  | { feasible: false; reason: SizingRefusal; figures: ServingFigures | null };

/**
 * The figures sizing trusts: per throughput, the declaration capped by the reference times the
 * multiple delivered usage confirmed (the lower of the two until then); the higher latencies of
 * declared and reference, since token counts say nothing of latency.
 */
export function effectiveFigures(profile: SizingProfile): ServingFigures | null {
  const { declared, reference } = profile;
  if (!reference) return null;
  if (!declared) return reference;
  const scale = profile.confirmedScale ?? 1;
  return {
    promptTokensPerSecondPerGpu: trustedThroughput(
      declared.promptTokensPerSecondPerGpu,
      reference.promptTokensPerSecondPerGpu,
      scale,
    ),
    outputTokensPerSecondPerGpu: trustedThroughput(
      declared.outputTokensPerSecondPerGpu,
      reference.outputTokensPerSecondPerGpu,
      scale,
    ),
    ttftP50Ms: Math.max(declared.ttftP50Ms, reference.ttftP50Ms),
    ttftP95Ms: Math.max(declared.ttftP95Ms, reference.ttftP95Ms),
  };
}

/** Prompt tokens/s of a demand: given directly, or output times the ratio. */
export function promptRate(demand: InferenceDemand): number {
  if (demand.promptTokensPerSecond !== undefined) return demand.promptTokensPerSecond;
  return demand.outputTokensPerSecond * (demand.promptToOutputRatio ?? 0);
}

/**
 * GPUs that sustain the demand on one profile under its TTFT p95 SLO. A GPU's second is shared
 * between prefill and decode, so the demand needs prompt/P + output/D GPU-seconds per second;
 * that rounds up to whole replicas of `gpusPerReplica` GPUs (docs/INFERENCE.md, "Sizing").
 */
export function sizeDemand(demand: InferenceDemand, profile: SizingProfile): SizingResult {
  if (!Number.isInteger(profile.gpusPerReplica) || profile.gpusPerReplica < 1) {
    throw new RangeError('gpusPerReplica must be a positive integer');
  }
  const figures = effectiveFigures(profile);
  if (!figures) return { feasible: false, reason: 'NO_USABLE_FIGURES', figures: null };
  if (figures.ttftP95Ms > demand.ttftP95Ms) return { feasible: false, reason: 'TTFT_SLO_NOT_MET', figures };
  const prompt = promptRate(demand);
  const gpuSeconds =
    prompt / figures.promptTokensPerSecondPerGpu +
    demand.outputTokensPerSecond / figures.outputTokensPerSecondPerGpu;
  // A hair above a whole number is that number: 2.0000000001 GPUs of float error is 2 GPUs.
  const gpusNeeded = Math.max(1, Math.ceil(gpuSeconds - 1e-9));
  const replicas = Math.ceil(gpusNeeded / profile.gpusPerReplica);
  const gpus = replicas * profile.gpusPerReplica;
  return {
    feasible: true,
    gpus,
    replicas,
    figures,
    promptTokensPerSecond: prompt,
    utilisation: gpuSeconds / gpus,
  };
}
