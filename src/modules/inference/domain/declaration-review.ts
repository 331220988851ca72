import type { ReferenceProfile, ServingFigures } from './reference-profile';

/**
 * How far a declaration may sit from its reference before an admin looks at it: throughput above
 * 1.5x the reference, or a TTFT below the reference divided by 1.5 (docs/INFERENCE.md).
 */
export const REVIEW_BAND = 1.5;

export type DeclarationFlag =
  | 'PROMPT_THROUGHPUT_ABOVE_REFERENCE'
  | 'OUTPUT_THROUGHPUT_ABOVE_REFERENCE'
  | 'TTFT_P50_BELOW_REFERENCE'
  | 'TTFT_P95_BELOW_REFERENCE'
  | 'MODEL_DOES_NOT_FIT'
  | 'NO_GPU_SPEC';

export type ReviewState = 'NOT_FLAGGED' | 'PENDING_REVIEW' | 'ACCEPTED' | 'REJECTED';

/**
 * What the exchange knows to compare a declaration with: the reference at the declared
 * concurrency, `null` when the model does not fit the market's GPUs, `undefined` when the market
 * has no GPU spec.
 */
export type ReferenceOutcome = ReferenceProfile | null | undefined;

/** The flags a declaration raises against its reference, in a fixed order. */
export function flagDeclaration(declared: ServingFigures, reference: ReferenceOutcome): DeclarationFlag[] {
  if (reference === undefined) return ['NO_GPU_SPEC'];
  if (reference === null) return ['MODEL_DOES_NOT_FIT'];
  const flags: DeclarationFlag[] = [];
  if (declared.promptTokensPerSecondPerGpu > REVIEW_BAND * reference.promptTokensPerSecondPerGpu) {
    flags.push('PROMPT_THROUGHPUT_ABOVE_REFERENCE');
  }
  if (declared.outputTokensPerSecondPerGpu > REVIEW_BAND * reference.outputTokensPerSecondPerGpu) {
    flags.push('OUTPUT_THROUGHPUT_ABOVE_REFERENCE');
  }
  if (declared.ttftP50Ms * REVIEW_BAND < reference.ttftP50Ms) flags.push('TTFT_P50_BELOW_REFERENCE');
  if (declared.ttftP95Ms * REVIEW_BAND < reference.ttftP95Ms) flags.push('TTFT_P95_BELOW_REFERENCE');
  return flags;
}

/** A declaration with flags waits for an admin; one without is usable as declared. */
export const reviewStateFor = (flags: readonly DeclarationFlag[]): ReviewState =>
  flags.length === 0 ? 'NOT_FLAGGED' : 'PENDING_REVIEW';

/** Profiles sizing may use: unflagged, or flagged and accepted by an admin. */
export const isUsableForSizing = (review: ReviewState): boolean =>
  review === 'NOT_FLAGGED' || review === 'ACCEPTED';

/** Two declarations state the same figures (a restated PUT keeps its review). */
export function sameDeclaration(
  a: ServingFigures & { concurrency: number },
  b: ServingFigures & { concurrency: number },
): boolean {
  return (
    a.concurrency === b.concurrency &&
    a.promptTokensPerSecondPerGpu === b.promptTokensPerSecondPerGpu &&
    a.outputTokensPerSecondPerGpu === b.outputTokensPerSecondPerGpu &&
    a.ttftP50Ms === b.ttftP50Ms &&
    a.ttftP95Ms === b.ttftP95Ms
  );
}
