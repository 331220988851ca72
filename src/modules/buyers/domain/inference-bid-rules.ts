import { DomainError } from '@/shared/domain-error';

/** Tokens/s a bid may ask for, prompt or output: 10 million, far beyond any one market today. */
export const MAX_INFERENCE_TOKENS_PER_SECOND = 10_000_000;
/** Prompt tokens per output token. */
export const MAX_PROMPT_TO_OUTPUT_RATIO = 1_000;
/** Ten minutes: the serving profiles' own TTFT bound. */
export const MAX_TTFT_SLO_MS = 600_000;
/** 1,000,000.00 in a 2-decimal currency, as the GPU-hour cap. */
export const MAX_PRICE_PER_MILLION_TOKENS_MINOR = 100_000_000n;

export interface InferenceShape {
  promptTokensPerSecond?: number;
  promptToOutputRatio?: number;
}

export interface GpuShape {
  gpus?: number;
  maxPricePerGpuHour?: string;
  billingMode?: string;
}

/**
 * An inference bid names its prompt rate one way, and leaves the GPU terms to the exchange,
 * which sizes them (docs/INFERENCE.md "Inference bids").
 */
export function assertInferenceShape(inference: InferenceShape, gpu: GpuShape): void {
  const given = [inference.promptTokensPerSecond, inference.promptToOutputRatio].filter(
    (v) => v !== undefined,
  );
  if (given.length !== 1) {
    throw new DomainError(
      'VALIDATION_FAILED',
      'Give exactly one of inference.promptTokensPerSecond and inference.promptToOutputRatio.',
      { field: 'inference.promptTokensPerSecond' },
    );
  }
  const sized = (['gpus', 'maxPricePerGpuHour', 'billingMode'] as const).filter((f) => gpu[f] !== undefined);
  if (sized.length > 0) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `An inference bid is sized by the exchange: omit ${sized.join(', ')}.`,
      { field: sized[0] },
    );
  }
}
