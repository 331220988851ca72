/**
 * The types per-token billing adds to a lease and to a settled period (docs/INFERENCE.md
 * "Per-token billing"); the rules are in token-settlement-rules.ts.
 */

/** What a token-billed lease carries (all from its match, docs/INFERENCE.md "What a lease carries"). */
export interface TokenBillingTerms {
  /** Minor units per million tokens, prompt and output alike. */
  pricePerMillionTokens: bigint;
  /** The lease's share of the bid's sized throughput. */
  promptTokensPerSecond: number;
  outputTokensPerSecond: number;
  /** Share of the period's sized capacity the buyer pays for whatever it uses (take-or-pay). */
  takeOrPayPercent: number;
  /** The offer's own ask per GPU-hour at match (at most the trade price): the provider is paid at it. */
  providerAskPerGpuHour: bigint;
}

/** USED: GPU-seconds the tokens took; FLOOR: the offer's minimum was more; CAPPED: cut to the charge. */
export type PayoutBasis = 'USED' | 'FLOOR' | 'CAPPED';

/** A token period's figures beside its PeriodCharge (whose `cost` is the buyer's charge). */
export interface TokenPeriodFigures {
  /** The standing counts (docs/USAGE.md), 0 and `reported: false` when none stand. */
  promptTokens: bigint;
  outputTokens: bigint;
  reported: boolean;
  /** The tokens the period's sized throughput could carry: (prompt + output tokens/s) x whole seconds. */
  capacityTokens: bigint;
  /** floor(capacity x take-or-pay % / 100); 0 in a period the provider cut short. */
  minimumTokens: bigint;
  /** What the buyer pays for: min(standing, capacity), raised to the minimum. */
  billedTokens: bigint;
  pricePerMillionTokens: bigint;
  /** GPUs x the period's length. */
  reservedGpuSeconds: bigint;
  /** The provider's payout before the fee: min(ask x GPU-seconds paid / 3600, charge). */
  payout: bigint;
  payoutBasis: PayoutBasis;
  /** charge - payout, to PLATFORM_SPREAD; never negative (the payout is capped by the charge). */
  spread: bigint;
}
