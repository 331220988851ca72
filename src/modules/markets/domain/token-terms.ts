/**
 * GPU supply restated in inference terms for market data (docs/INFERENCE.md "Market data in
 * inference terms"): the tokens/s free GPUs sustain on a profile and what an ask per GPU-hour
 * costs per million tokens. Pure; every rounding is stated and goes against the supply, so a
 * figure shown is one a buyer can count on.
 */

/**
 * Prompt tokens per output token that token figures are stated at: the reference workload's
 * 1,024 prompt and 256 output tokens (docs/INFERENCE.md "The reference workload").
 */
export const MARKET_PROMPT_TO_OUTPUT_RATIO = 4;

const MILLION = 1_000_000n;
const SECONDS_PER_HOUR = 3_600;
/** Rounds down, but a hair below a whole number is that number: float error must not lose a token. */
const floorWhole = (value: number): number => Math.floor(value + Math.max(1e-9, Math.abs(value) * 1e-12));

/** Throughput per GPU of one profile, as sizing trusts it (the lower of declared and reference). */
export interface TokenRates {
  promptTokensPerSecondPerGpu: number;
  outputTokensPerSecondPerGpu: number;
}

/**
 * Output tokens/s one GPU sustains at `ratio` prompt tokens per output token. A GPU's second is
 * shared between prefill and decode (docs/INFERENCE.md "Sizing"): each output token with its
 * prompt takes ratio/P + 1/D GPU-seconds. Zero when a rate is not positive.
 */
export function outputRatePerGpu(rates: TokenRates, ratio: number = MARKET_PROMPT_TO_OUTPUT_RATIO): number {
  const { promptTokensPerSecondPerGpu: p, outputTokensPerSecondPerGpu: d } = rates;
  if (!(d > 0) || !(ratio >= 0) || (ratio > 0 && !(p > 0))) return 0;
  return 1 / (ratio / (ratio === 0 ? 1 : p) + 1 / d);
}

/** Prompt and output tokens one GPU-hour serves at the mix, rounded down to whole tokens. */
export function tokensPerGpuHour(rates: TokenRates, ratio: number = MARKET_PROMPT_TO_OUTPUT_RATIO): bigint {
  const perHour = outputRatePerGpu(rates, ratio) * (1 + ratio) * SECONDS_PER_HOUR;
  return BigInt(floorWhole(perHour));
}

/**
 * What an ask per GPU-hour costs per million tokens at the mix with the GPU fully used, rounded
 * up: the lowest cap per million tokens an inference bid of that mix needs to reach this ask
 * (its GPU-hour cap, cap x tokens / 1,000,000 per GPU-hour, rounds down). Null when the profile
 * serves no tokens.
 */
export function pricePerMillionTokensAtAsk(
  askPerGpuHour: bigint,
  rates: TokenRates,
  ratio: number = MARKET_PROMPT_TO_OUTPUT_RATIO,
): bigint | null {
  const tokens = tokensPerGpuHour(rates, ratio);
  if (tokens <= 0n) return null;
  return (askPerGpuHour * MILLION + tokens - 1n) / tokens;
}

export interface TokenCapacity {
  /** Whole replicas the free GPUs hold. */
  replicas: number;
  /** GPUs in those replicas: the rest of the free GPUs serve the model nothing. */
  gpus: number;
  /** Sustained output tokens/s of those GPUs at the mix, rounded down. */
  outputTokensPerSecond: number;
  /** Sustained prompt tokens/s alongside, rounded down. */
  promptTokensPerSecond: number;
  /** Both. */
  tokensPerSecond: number;
}

/** What `freeGpus` GPUs sustain on a profile in whole replicas of `gpusPerReplica`, at the mix. */
export function tokenCapacity(
  freeGpus: number,
  gpusPerReplica: number,
  rates: TokenRates,
  ratio: number = MARKET_PROMPT_TO_OUTPUT_RATIO,
): TokenCapacity {
  if (!Number.isSafeInteger(freeGpus) || freeGpus < 0)
    throw new RangeError('freeGpus must be a whole number');
  if (!Number.isSafeInteger(gpusPerReplica) || gpusPerReplica < 1) {
    throw new RangeError('gpusPerReplica must be a positive integer');
  }
  const replicas = Math.floor(freeGpus / gpusPerReplica);
  const gpus = replicas * gpusPerReplica;
  const output = outputRatePerGpu(rates, ratio) * gpus;
  const outputTokensPerSecond = floorWhole(output);
  const promptTokensPerSecond = floorWhole(output * ratio);
  return {
    replicas,
    gpus,
    outputTokensPerSecond,
    promptTokensPerSecond,
    tokensPerSecond: outputTokensPerSecond + promptTokensPerSecond,
  };
}
