import { REVIEW_BAND, type ReviewState } from './declaration-review';
import { deriveReferenceProfile, type GpuSpec, type ModelSpec } from './reference-profile';

/** Throughput per GPU at one profile: what a second of one GPU serves of prompt or of output. */
export interface ServingRate {
  model: string;
  promptTokensPerSecondPerGpu: number;
  outputTokensPerSecondPerGpu: number;
}

/**
 * What an offer's GPUs can serve, for checking reported tokens (docs/USAGE.md). DECLARED: the
 * offer's serving profiles that an admin need not or did accept; REFERENCE: for every catalogue
 * model that fits the market's GPU, its compute ceiling; NONE: neither exists (a market without
 * GPU figures and an offer without usable profiles), so nothing bounds the counts.
 */
export interface ServingCapacity {
  basis: 'DECLARED' | 'REFERENCE' | 'NONE';
  rates: ServingRate[];
}

export interface DeclaredRate extends ServingRate {
  review: ReviewState;
}

/**
 * The capacity counts are checked against. Declarations pending review or rejected do not count:
 * a provider cannot widen its own bound by declaring more. Without a declaration, each model's
 * reference at concurrency 1 gives its compute ceiling, the prefill rate F x MFU / (2 x active
 * parameters): no token, prompt or output, is made faster than its FLOPs allow, whatever the
 * concurrency. It is widened by the review band (1.5x), the most a declaration may claim unseen.
 */
export function servingCapacity(
  declared: readonly DeclaredRate[],
  models: ReadonlyArray<ModelSpec & { slug: string }>,
  gpu: GpuSpec | null,
): ServingCapacity {
  const usable = declared.filter((rate) => rate.review === 'NOT_FLAGGED' || rate.review === 'ACCEPTED');
  if (usable.length > 0) {
    return {
      basis: 'DECLARED',
      rates: usable.map(({ model, promptTokensPerSecondPerGpu, outputTokensPerSecondPerGpu }) => ({
        model,
        promptTokensPerSecondPerGpu,
        outputTokensPerSecondPerGpu,
      })),
    };
  }
  if (gpu === null) return { basis: 'NONE', rates: [] };
  const rates: ServingRate[] = [];
  for (const model of models) {
    const reference = deriveReferenceProfile(model, gpu, 1);
    if (reference === null) continue;
    const ceiling = reference.promptTokensPerSecondPerGpu * REVIEW_BAND;
    rates.push({
      model: model.slug,
      promptTokensPerSecondPerGpu: ceiling,
      outputTokensPerSecondPerGpu: ceiling,
    });
  }
  return rates.length === 0 ? { basis: 'NONE', rates } : { basis: 'REFERENCE', rates };
}
