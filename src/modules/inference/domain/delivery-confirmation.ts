/**
 * Delivered usage confirms a serving declaration (docs/INFERENCE.md "Delivery confirms a
 * declaration"). Sizing trusts the lower of the declared and reference throughput; a period whose
 * token counts both sides agreed on (or an admin decided) shows what the leased GPUs actually
 * served, as a multiple of the reference: prompt / P_ref + output / D_ref reference GPU-seconds
 * of work done in the period's GPU-seconds. Once three periods each showed at least a multiple m,
 * sizing trusts the reference times m, up to the declaration.
 */

/** Periods a multiple must be shown in before sizing trusts it: one busy hour is not a record. */
export const CONFIRMING_PERIODS = 3;

export interface DeliveredCounts {
  readonly promptTokens: bigint;
  readonly outputTokens: bigint;
}

export interface ReferenceThroughput {
  readonly promptTokensPerSecondPerGpu: number;
  readonly outputTokensPerSecondPerGpu: number;
}

/**
 * The multiple of the reference the period's GPUs delivered: the reference GPU-seconds its
 * tokens take, over the GPU-seconds it had. Null when the period had no GPU time or the
 * reference has no throughput (nothing to measure against).
 */
export function deliveredScale(
  counts: DeliveredCounts,
  reference: ReferenceThroughput,
  gpuSeconds: number,
): number | null {
  const { promptTokensPerSecondPerGpu: p, outputTokensPerSecondPerGpu: d } = reference;
  if (!(gpuSeconds > 0) || !(p > 0) || !(d > 0)) return null;
  const work = Number(counts.promptTokens) / p + Number(counts.outputTokens) / d;
  return work / gpuSeconds;
}

/** A profile's record of delivery: its best periods, highest first, and the multiple they confirm. */
export interface DeliveryRecord {
  readonly deliveredScales: readonly number[];
  readonly confirmedScale: number;
}

/**
 * The record after one more confirmed period: its multiple joins the best CONFIRMING_PERIODS, and
 * the confirmed multiple is the lowest of them once there are that many, never below 1 (a quiet
 * period says the buyer sent little, not that the GPUs are slower than the reference).
 */
export function recordDelivery(record: DeliveryRecord, scale: number): DeliveryRecord {
  if (!Number.isFinite(scale) || scale < 0) throw new RangeError('a delivered multiple is finite and >= 0');
  const deliveredScales = [...record.deliveredScales, scale]
    .sort((a, b) => b - a)
    .slice(0, CONFIRMING_PERIODS);
  const confirmedScale =
    deliveredScales.length < CONFIRMING_PERIODS ? 1 : Math.max(1, deliveredScales[CONFIRMING_PERIODS - 1]!);
  return { deliveredScales, confirmedScale };
}

/** The throughput sizing trusts per figure: the declaration, capped by the confirmed reference multiple. */
export function trustedThroughput(declared: number, reference: number, confirmedScale: number): number {
  return Math.min(declared, reference * Math.max(1, confirmedScale));
}
