import { servingCapacity } from './serving-capacity';

// H100 (docs/INFERENCE.md) and Llama 3.3 70B BF16: reference prompt 2,804.6 tokens/s per GPU.
const H100 = {
  memoryGb: 80,
  memoryBandwidthGbPerS: 3350,
  fp16Tflops: 989.4,
  fp8Tflops: 1978.9,
  int8Tops: 1978.9,
};
const LLAMA = {
  slug: 'llama-3.3-70b-instruct',
  parameters: 70_553_706_496,
  activeParameters: 70_553_706_496,
  quantisation: 'BF16' as const,
  bytesPerParameter: 2,
  contextLength: 131_072,
  kvCacheBytesPerToken: 327_680,
};
const declared = (review: 'NOT_FLAGGED' | 'PENDING_REVIEW' | 'ACCEPTED' | 'REJECTED') => ({
  model: LLAMA.slug,
  promptTokensPerSecondPerGpu: 2600,
  outputTokensPerSecondPerGpu: 400,
  review,
});

describe('servingCapacity', () => {
  it('takes usable declarations as declared', () => {
    expect(
      servingCapacity([declared('NOT_FLAGGED'), { ...declared('ACCEPTED'), model: 'x' }], [LLAMA], H100),
    ).toEqual({
      basis: 'DECLARED',
      rates: [
        { model: LLAMA.slug, promptTokensPerSecondPerGpu: 2600, outputTokensPerSecondPerGpu: 400 },
        { model: 'x', promptTokensPerSecondPerGpu: 2600, outputTokensPerSecondPerGpu: 400 },
      ],
    });
  });

  it('falls back to the reference compute ceiling x 1.5 when no declaration is usable', () => {
    const capacity = servingCapacity([declared('PENDING_REVIEW'), declared('REJECTED')], [LLAMA], H100);
    expect(capacity.basis).toBe('REFERENCE');
    expect(capacity.rates).toEqual([
      {
        model: LLAMA.slug,
        promptTokensPerSecondPerGpu: 2804.6 * 1.5,
        outputTokensPerSecondPerGpu: 2804.6 * 1.5,
      },
    ]);
  });

  it('bounds nothing without a declaration or GPU figures, or when no model fits', () => {
    expect(servingCapacity([], [LLAMA], null)).toEqual({ basis: 'NONE', rates: [] });
    const tiny = { ...H100, memoryGb: 1 };
    expect(servingCapacity([], [LLAMA], tiny)).toEqual({ basis: 'NONE', rates: [] });
  });
});
