/**
 * Reference serving profiles derived from first principles: decode from memory bandwidth over the
 * bytes a decode step reads, prefill from FLOPs over the GPU's peak, at stated efficiency factors.
 * Every constant and formula is documented, with worked figures, in docs/INFERENCE.md.
 */

export type Quantisation = 'BF16' | 'FP16' | 'FP8' | 'INT8' | 'INT4';

export const QUANTISATIONS: readonly Quantisation[] = ['BF16', 'FP16', 'FP8', 'INT8', 'INT4'];

/** What sizing needs to know of a model. */
export interface ModelSpec {
  parameters: number;
  /** Parameters each token passes through (= parameters for a dense model). */
  activeParameters: number;
  quantisation: Quantisation;
  bytesPerParameter: number;
  contextLength: number;
  kvCacheBytesPerToken: number;
}

/** Spec-sheet figures of one GPU, dense (no sparsity). */
export interface GpuSpec {
  memoryGb: number;
  memoryBandwidthGbPerS: number;
  fp16Tflops: number;
  /** Null: no FP8 tensor cores. */
  fp8Tflops: number | null;
  int8Tops: number;
}

/** Serving figures per GPU: what a declaration states and a reference derives. */
export interface ServingFigures {
  promptTokensPerSecondPerGpu: number;
  outputTokensPerSecondPerGpu: number;
  ttftP50Ms: number;
  ttftP95Ms: number;
}

export interface ReferenceProfile extends ServingFigures {
  /** Concurrent requests per GPU the figures hold at. */
  concurrency: number;
  /** GPUs one copy of the model needs (tensor parallel), a power of two. */
  gpusPerReplica: number;
}

/** Model bandwidth utilisation: the share of peak memory bandwidth a decode step achieves. */
export const MBU = 0.6;
/** Model FLOPs utilisation: the share of peak tensor FLOPs prefill (and compute-bound decode) achieves. */
export const MFU = 0.4;
/** Share of GPU memory for weights and KV cache; the rest is runtime, activations, fragmentation. */
export const USABLE_MEMORY_FRACTION = 0.9;
/** The reference workload every figure, declared or derived, is stated for. */
export const REFERENCE_PROMPT_TOKENS = 1024;
export const REFERENCE_OUTPUT_TOKENS = 256;
/** Largest replica the reference considers: eight 8-GPU servers. */
export const MAX_GPUS_PER_REPLICA = 64;
export const MAX_CONCURRENCY = 1024;

/**
 * Peak FLOP/s the model's matrix multiplications run at on this GPU. Weight-only 4-bit (AWQ,
 * GPTQ) dequantises its weights and multiplies at 16 bits; FP8 without FP8 tensor cores too.
 */
export function peakFlops(quantisation: Quantisation, gpu: GpuSpec): number {
  switch (quantisation) {
    case 'BF16':
    case 'FP16':
    case 'INT4':
      return gpu.fp16Tflops * 1e12;
    case 'FP8':
      return (gpu.fp8Tflops ?? gpu.fp16Tflops) * 1e12;
    case 'INT8':
      return gpu.int8Tops * 1e12;
  }
}

/**
 * GPUs one replica needs: the smallest power of two whose memory holds its share of the weights
 * plus the KV cache of `concurrency` full-length reference requests per GPU; null if none up to
 * MAX_GPUS_PER_REPLICA does.
 */
export function gpusPerReplica(model: ModelSpec, gpu: GpuSpec, concurrency: number): number | null {
  const usable = gpu.memoryGb * 1e9 * USABLE_MEMORY_FRACTION;
  const kvPerGpu = concurrency * sequenceTokens(model) * model.kvCacheBytesPerToken;
  const weights = model.parameters * model.bytesPerParameter;
  for (let n = 1; n <= MAX_GPUS_PER_REPLICA; n *= 2) {
    if (weights / n + kvPerGpu <= usable) return n;
  }
  return null;
}

/**
 * The reference profile of `model` on `gpu` at `concurrency` requests per GPU, or null when the
 * model does not fit. Throughputs are floored and latencies ceiled, to 0.1 token/s and 1 ms.
 */
export function deriveReferenceProfile(
  model: ModelSpec,
  gpu: GpuSpec,
  concurrency: number,
): ReferenceProfile | null {
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw new RangeError(`concurrency must be an integer in 1..${MAX_CONCURRENCY}`);
  }
  const n = gpusPerReplica(model, gpu, concurrency);
  if (n === null) return null;
  const flops = peakFlops(model.quantisation, gpu) * MFU;
  const bandwidth = gpu.memoryBandwidthGbPerS * 1e9 * MBU;
  const requests = concurrency * n;
  const step = decodeStepSeconds(model, n, requests, bandwidth, flops);
  const prefillSeconds = (2 * model.activeParameters * REFERENCE_PROMPT_TOKENS) / (n * flops);
  return {
    concurrency,
    gpusPerReplica: n,
    promptTokensPerSecondPerGpu: floorTenth(flops / (2 * model.activeParameters)),
    outputTokensPerSecondPerGpu: floorTenth(concurrency / step),
    // The prompt's own prefill over the replica, then the decode step that emits the first token.
    ttftP50Ms: ceilMs(prefillSeconds + step),
    // A request arriving during another's prefill waits for it first.
    ttftP95Ms: ceilMs(2 * prefillSeconds + step),
  };
}

/**
 * One decode step of a replica of `n` GPUs serving `requests` sequences: it reads the weights the
 * batch touches (a mixture of experts at most `activeParameters` per sequence) and every
 * sequence's KV cache at the mean reference context, bounded below by its FLOPs.
 */
function decodeStepSeconds(
  model: ModelSpec,
  n: number,
  requests: number,
  bandwidth: number,
  flops: number,
): number {
  const weightBytes = Math.min(model.parameters, model.activeParameters * requests) * model.bytesPerParameter;
  const kvBytes = requests * meanDecodeContext(model) * model.kvCacheBytesPerToken;
  const memorySeconds = (weightBytes + kvBytes) / (n * bandwidth);
  const computeSeconds = (2 * model.activeParameters * requests) / (n * flops);
  return Math.max(memorySeconds, computeSeconds);
}

/** Tokens a reference request holds at its end: prompt plus output, within the context length. */
function sequenceTokens(model: ModelSpec): number {
  return Math.min(REFERENCE_PROMPT_TOKENS + REFERENCE_OUTPUT_TOKENS, model.contextLength);
}

/** Mean context over a reference request's decode: the prompt plus half the output. */
function meanDecodeContext(model: ModelSpec): number {
  return Math.min(REFERENCE_PROMPT_TOKENS + REFERENCE_OUTPUT_TOKENS / 2, model.contextLength);
}

// A hair below the boundary is the boundary: 419.99999999 tokens/s is 420.0, not 419.9.
const floorTenth = (value: number): number => Math.floor(value * 10 + 1e-9) / 10;
const ceilMs = (seconds: number): number => Math.ceil(seconds * 1000 - 1e-9);
