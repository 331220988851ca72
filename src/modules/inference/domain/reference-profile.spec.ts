import {
  deriveReferenceProfile,
  gpusPerReplica,
  peakFlops,
  type GpuSpec,
  type ModelSpec,
} from './reference-profile';

// Spec sheets and catalogue models as the migration seeds them (docs/INFERENCE.md).
const GPUS = {
  h100: { memoryGb: 80, memoryBandwidthGbPerS: 3350, fp16Tflops: 989.4, fp8Tflops: 1978.9, int8Tops: 1978.9 },
  h20: { memoryGb: 96, memoryBandwidthGbPerS: 4000, fp16Tflops: 148, fp8Tflops: 296, int8Tops: 296 },
  a100: { memoryGb: 80, memoryBandwidthGbPerS: 2039, fp16Tflops: 312, fp8Tflops: null, int8Tops: 624 },
  rtx4090: {
    memoryGb: 24,
    memoryBandwidthGbPerS: 1008,
    fp16Tflops: 165.2,
    fp8Tflops: 330.3,
    int8Tops: 660.6,
  },
} satisfies Record<string, GpuSpec>;

const MODELS = {
  qwen25_7b: {
    parameters: 7_615_616_512,
    activeParameters: 7_615_616_512,
    quantisation: 'BF16',
    bytesPerParameter: 2,
    contextLength: 32_768,
    kvCacheBytesPerToken: 57_344,
  },
  llama33_70b: {
    parameters: 70_553_706_496,
    activeParameters: 70_553_706_496,
    quantisation: 'BF16',
    bytesPerParameter: 2,
    contextLength: 131_072,
    kvCacheBytesPerToken: 327_680,
  },
  qwen3_30b_a3b: {
    parameters: 30_532_122_624,
    activeParameters: 3_300_000_000,
    quantisation: 'BF16',
    bytesPerParameter: 2,
    contextLength: 32_768,
    kvCacheBytesPerToken: 98_304,
  },
  deepseek_v3: {
    parameters: 671_000_000_000,
    activeParameters: 37_000_000_000,
    quantisation: 'FP8',
    bytesPerParameter: 1,
    contextLength: 131_072,
    kvCacheBytesPerToken: 70_272,
  },
} satisfies Record<string, ModelSpec>;

// The worked examples of docs/INFERENCE.md, "Worked examples", figures computed by hand there.
describe('deriveReferenceProfile', () => {
  it('example 1: Llama 3.3 70B BF16 on H100 at 8 per GPU, memory-bound, 4-GPU replicas', () => {
    expect(deriveReferenceProfile(MODELS.llama33_70b, GPUS.h100, 8)).toEqual({
      concurrency: 8,
      gpusPerReplica: 4,
      promptTokensPerSecondPerGpu: 2804.6,
      outputTokensPerSecondPerGpu: 419.8,
      ttftP50Ms: 111,
      ttftP95Ms: 202,
    });
  });

  it('example 2: Qwen2.5 7B BF16 on RTX 4090 at 8 per GPU, one GPU, FP16 peak with FP32 accumulate', () => {
    expect(deriveReferenceProfile(MODELS.qwen25_7b, GPUS.rtx4090, 8)).toEqual({
      concurrency: 8,
      gpusPerReplica: 1,
      promptTokensPerSecondPerGpu: 4338.4,
      outputTokensPerSecondPerGpu: 307.0,
      ttftP50Ms: 263,
      ttftP95Ms: 499,
    });
  });

  it('example 3: DeepSeek-V3 FP8 on H20 at 4 per GPU: 8-GPU replicas, every expert read per step, FP8 peak', () => {
    expect(deriveReferenceProfile(MODELS.deepseek_v3, GPUS.h20, 4)).toEqual({
      concurrency: 4,
      gpusPerReplica: 8,
      promptTokensPerSecondPerGpu: 1600.0,
      outputTokensPerSecondPerGpu: 114.0,
      ttftP50Ms: 116,
      ttftP95Ms: 196,
    });
  });

  it('example 4: Qwen2.5 7B on H20 at 256 per GPU turns compute-bound: decode equals the prefill rate', () => {
    const profile = deriveReferenceProfile(MODELS.qwen25_7b, GPUS.h20, 256);
    expect(profile).toEqual({
      concurrency: 256,
      gpusPerReplica: 1,
      promptTokensPerSecondPerGpu: 3886.7,
      outputTokensPerSecondPerGpu: 3886.7,
      ttftP50Ms: 330,
      ttftP95Ms: 593,
    });
  });

  it('example 5: a mixture of experts at one request per GPU reads only its active experts', () => {
    // Qwen3-30B-A3B on H100: 3.3e9 active x 2 B + 1152 x 98,304 B of KV per step.
    expect(deriveReferenceProfile(MODELS.qwen3_30b_a3b, GPUS.h100, 1)).toEqual({
      concurrency: 1,
      gpusPerReplica: 1,
      promptTokensPerSecondPerGpu: 59963.6,
      outputTokensPerSecondPerGpu: 299.4,
      ttftP50Ms: 21,
      ttftP95Ms: 38,
    });
  });

  it('example 6: no replica up to 64 GPUs holds Llama 3.3 70B with 1,024 requests per 24 GB GPU', () => {
    expect(gpusPerReplica(MODELS.llama33_70b, GPUS.rtx4090, 1024)).toBeNull();
    expect(deriveReferenceProfile(MODELS.llama33_70b, GPUS.rtx4090, 1024)).toBeNull();
  });

  it('replica size: the KV cache of more requests can double it (70B on H100: 4 GPUs at 8, 8 at 128)', () => {
    expect(gpusPerReplica(MODELS.llama33_70b, GPUS.h100, 1)).toBe(2);
    expect(gpusPerReplica(MODELS.llama33_70b, GPUS.h100, 8)).toBe(4);
    expect(gpusPerReplica(MODELS.llama33_70b, GPUS.h100, 128)).toBe(8);
  });

  it('compute precision follows the weights: FP8 falls back to FP16 without FP8 tensor cores; INT4 is weight-only', () => {
    expect(peakFlops('FP8', GPUS.h100)).toBeCloseTo(1978.9e12);
    expect(peakFlops('FP8', GPUS.a100)).toBeCloseTo(312e12);
    expect(peakFlops('INT8', GPUS.a100)).toBeCloseTo(624e12);
    expect(peakFlops('INT4', GPUS.h100)).toBeCloseTo(989.4e12);
    expect(peakFlops('BF16', GPUS.rtx4090)).toBeCloseTo(165.2e12);
  });

  it('more requests per GPU on the same replica: more output per GPU, less per request', () => {
    let previous = deriveReferenceProfile(MODELS.llama33_70b, GPUS.h100, 8);
    for (const concurrency of [16, 32, 64]) {
      const next = deriveReferenceProfile(MODELS.llama33_70b, GPUS.h100, concurrency);
      if (!previous || !next) throw new Error('70B fits an H100 replica at these concurrencies');
      expect(next.gpusPerReplica).toBe(4);
      expect(next.outputTokensPerSecondPerGpu).toBeGreaterThan(previous.outputTokensPerSecondPerGpu);
      expect(next.outputTokensPerSecondPerGpu / concurrency).toBeLessThan(
        previous.outputTokensPerSecondPerGpu / previous.concurrency,
      );
      previous = next;
    }
  });

  it('refuses a concurrency outside 1..1024', () => {
    for (const concurrency of [0, -1, 1.5, 1025, Number.NaN]) {
      expect(() => deriveReferenceProfile(MODELS.qwen25_7b, GPUS.h100, concurrency)).toThrow(RangeError);
    }
  });
});
