/**
 * Money of inference bids (docs/INFERENCE.md "Inference bids"): one price per million tokens,
 * prompt and output alike, against GPU-hours. Integer minor units throughout, so every rounding
 * is stated: the exchange rounds each conversion in the buyer's favour.
 */

const MILLION = 1_000_000n;
const SECONDS_PER_HOUR = 3_600n;

/**
 * The take-or-pay minimum of per-token billing (docs/INFERENCE.md "Per-token billing"): each
 * period the buyer pays for at least this share of the tokens its sized throughput could carry,
 * whatever it used. The default of a bid's own share; stated by the quote, copied onto every lease at match.
 */
export const TAKE_OR_PAY_PERCENT = 50;
/** The bounds of a bid's own take-or-pay share (`inference.takeOrPayPercent`). */
export const MIN_TAKE_OR_PAY_PERCENT = 0;
export const MAX_TAKE_OR_PAY_PERCENT = 100;

/** The tokens an hour the take-or-pay minimum charges for: its share of the hourly demand, rounded down. */
export function takeOrPayTokensPerHour(tokensHourly: bigint, takeOrPayPercent = TAKE_OR_PAY_PERCENT): bigint {
  return (tokensHourly * BigInt(takeOrPayPercent)) / 100n;
}

/** A charge for tokens at a price per million, rounded down (the buyer's way). */
export function tokensCost(tokens: bigint, pricePerMillionTokens: bigint): bigint {
  return (tokens * pricePerMillionTokens) / MILLION;
}

/** Tokens an hour of the demand: (prompt + output) tokens/s x 3,600. */
export function tokensPerHour(outputTokensPerSecond: number, promptTokensPerSecond: number): bigint {
  assertWhole(outputTokensPerSecond, 'outputTokensPerSecond');
  assertWhole(promptTokensPerSecond, 'promptTokensPerSecond');
  return BigInt(outputTokensPerSecond + promptTokensPerSecond) * SECONDS_PER_HOUR;
}

/**
 * The GPU-hour price cap a per-million-token cap implies on `gpus` GPUs: what `gpus` GPU-hours
 * may cost so that an hour of the demand costs at most the cap, rounded down (never above it).
 */
export function gpuHourCapOf(maxPricePerMillionTokens: bigint, tokensHourly: bigint, gpus: number): bigint {
  assertPositive(gpus, tokensHourly);
  return (maxPricePerMillionTokens * tokensHourly) / (MILLION * BigInt(gpus));
}

/**
 * The price per million tokens a trade price per GPU-hour implies for a bid sized into `gpus`
 * GPUs, rounded down: at full sized throughput the buyer pays at most the GPU-hours' cost.
 */
export function pricePerMillionTokensOf(pricePerGpuHour: bigint, tokensHourly: bigint, gpus: number): bigint {
  assertPositive(gpus, tokensHourly);
  return (pricePerGpuHour * BigInt(gpus) * MILLION) / tokensHourly;
}

/** A lease's share of the bid's sized throughput: `gpus` of `sizedGpus`, rounded down. */
export function throughputShare(tokensPerSecond: number, gpus: number, sizedGpus: number): number {
  assertWhole(tokensPerSecond, 'tokensPerSecond');
  return Math.floor((tokensPerSecond * gpus) / sizedGpus);
}

function assertWhole(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a whole number >= 0`);
}

function assertPositive(gpus: number, tokensHourly: bigint): void {
  if (!Number.isSafeInteger(gpus) || gpus < 1) throw new RangeError('gpus must be a positive integer');
  if (tokensHourly <= 0n) throw new RangeError('the demand must have tokens');
}
