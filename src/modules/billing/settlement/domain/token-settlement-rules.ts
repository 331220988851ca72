import { costMinor } from '@/shared/money';
import type { Period } from '@/shared/periods';
import { tokensCost } from '@/modules/inference/domain/inference-pricing';
import type { TransferDraft } from '@/modules/billing/ledger/domain/ledger-rules';
import {
  cutByProvider,
  periodTransfer,
  reservedGpuSeconds,
  type PeriodCharge,
  type SettlingLease,
} from './settlement-rules';
import type { TokenBillingTerms, TokenPeriodFigures } from './token-billing';

export type { PayoutBasis, TokenBillingTerms, TokenPeriodFigures } from './token-billing';

/**
 * Per-token billing of inference leases as plain code (docs/INFERENCE.md "Per-token billing",
 * docs/LEDGER.md "The spread"): charge - payout goes to PLATFORM_SPREAD, nothing left to rounding.
 */

export interface TokenPeriodCharge extends PeriodCharge {
  tokens: TokenPeriodFigures;
}

/** Prompt and output tokens of one period. */
export interface StandingTokenCounts {
  promptTokens: bigint;
  outputTokens: bigint;
}

/** One source's counts of a period, as stored. */
export interface StatedCounts extends StandingTokenCounts {
  source: 'PROVIDER' | 'BUYER' | 'ADMIN';
}

/**
 * The counts that stand for a period (docs/USAGE.md, "For per-token billing"): an admin's
 * decision if there is one, else the provider's report unless a dispute about the period's usage
 * is open, else none. Per-token charges are computed from these, never from a raw report.
 */
export function standingCounts<T extends StatedCounts>(
  statements: readonly T[],
  disputeOpen: boolean,
): T | null {
  const decided = statements.find((s) => s.source === 'ADMIN');
  if (decided) return decided;
  if (disputeOpen) return null;
  return statements.find((s) => s.source === 'PROVIDER') ?? null;
}

/** Whether the lease bills per token: an inference lease that carries a take-or-pay minimum. */
export function isTokenBilled<T extends Pick<SettlingLease, 'tokenBilling'>>(
  lease: T,
): lease is T & { tokenBilling: TokenBillingTerms } {
  return lease.tokenBilling !== null && lease.tokenBilling !== undefined;
}

/** The tokens a period's sized throughput carries: (prompt + output tokens/s) x its whole seconds. */
export function capacityTokens(terms: TokenBillingTerms, period: Period): bigint {
  const seconds = BigInt(Math.floor((period.endsAt.getTime() - period.startsAt.getTime()) / 1000));
  return BigInt(terms.promptTokensPerSecond + terms.outputTokensPerSecond) * seconds;
}

/** The take-or-pay minimum of a period: its share of the capacity, rounded down. */
export function minimumTokens(terms: TokenBillingTerms, capacity: bigint): bigint {
  return (capacity * BigInt(terms.takeOrPayPercent)) / 100n;
}

/**
 * What one period of a token-billed lease charges the buyer and pays the provider, from the
 * counts that stand for it (null: none stand, the provider did not report).
 */
export function chargeTokenPeriod(
  lease: SettlingLease & { tokenBilling: TokenBillingTerms },
  period: Period,
  counts: StandingTokenCounts | null,
): TokenPeriodCharge {
  const terms = lease.tokenBilling;
  const promptTokens = counts?.promptTokens ?? 0n;
  const outputTokens = counts?.outputTokens ?? 0n;
  if (promptTokens < 0n || outputTokens < 0n) throw new RangeError(`period ${period.index}: negative tokens`);
  // The provider's own early end waives both minimums of the period it cut, as for pay-per-use.
  const cut = cutByProvider(lease, period);
  const capacity = capacityTokens(terms, period);
  const minimum = cut ? 0n : minimumTokens(terms, capacity);
  const served = promptTokens + outputTokens;
  const used = served < capacity ? served : capacity;
  const billedTokens = used > minimum ? used : minimum;
  const cost = tokensCost(billedTokens, terms.pricePerMillionTokens);

  const reserved = reservedGpuSeconds(lease, period);
  // The funds rule (docs/INFERENCE.md "Funds"): never above what the period's GPU-hours hold.
  if (cost > costMinor(lease.pricePerGpuHour, reserved)) {
    throw new Error(`period ${period.index}: token charge ${cost} above the period's GPU-hours`);
  }
  const usedGpuSeconds = capacity === 0n ? 0n : (reserved * used) / capacity;
  const floorGpuSeconds = cut ? 0n : (reserved * BigInt(lease.payPerUseMinPercent)) / 100n;
  const paidGpuSeconds = usedGpuSeconds >= floorGpuSeconds ? usedGpuSeconds : floorGpuSeconds;
  const atAsk = costMinor(terms.providerAskPerGpuHour, paidGpuSeconds);
  const payout = atAsk < cost ? atAsk : cost;
  const payoutBasis: TokenPeriodFigures['payoutBasis'] =
    atAsk > cost ? 'CAPPED' : usedGpuSeconds >= floorGpuSeconds ? 'USED' : 'FLOOR';
  const fee = (payout * BigInt(lease.feeBps)) / 10_000n;
  return {
    ...period,
    gpuSeconds: paidGpuSeconds,
    basis: billedTokens > used ? 'TAKE_OR_PAY' : 'TOKENS',
    cost,
    fee,
    tokens: {
      promptTokens,
      outputTokens,
      reported: counts !== null,
      capacityTokens: capacity,
      minimumTokens: minimum,
      billedTokens,
      pricePerMillionTokens: terms.pricePerMillionTokens,
      reservedGpuSeconds: reserved,
      payout,
      payoutBasis,
      spread: cost - payout,
    },
  };
}

/** What the provider's earnings gain from a period: its proceeds (the payout) less the fee. */
export function providerNet(charge: PeriodCharge): bigint {
  return charge.cost - (charge.tokens?.spread ?? 0n) - charge.fee;
}

/**
 * A token period's money: the buyer's held credit pays the charge; the provider's earnings get
 * the payout less the fee, the platform the fee, and PLATFORM_SPREAD the rest. Same key and kind
 * as any period's SETTLEMENT, so a period is charged once however it is billed.
 */
export function tokenPeriodTransfer(lease: SettlingLease, charge: TokenPeriodCharge): TransferDraft | null {
  if (charge.cost === 0n) return null;
  const net = providerNet(charge);
  const { spread } = charge.tokens;
  return {
    key: `settle:${lease.id}:${charge.index}`,
    kind: 'SETTLEMENT',
    currency: lease.currency,
    organisationId: lease.buyerOrganisationId,
    leaseId: lease.id,
    memo: `period ${charge.index + 1} (${charge.basis.toLowerCase()}, ${charge.tokens.billedTokens} tokens)`,
    entries: [
      { account: { organisationId: lease.buyerOrganisationId, kind: 'BUYER_HELD' }, amount: -charge.cost },
      ...(net > 0n
        ? [
            {
              account: { organisationId: lease.providerOrganisationId, kind: 'PROVIDER_EARNINGS' as const },
              amount: net,
            },
          ]
        : []),
      ...(charge.fee > 0n
        ? [{ account: { organisationId: null, kind: 'PLATFORM_FEES' as const }, amount: charge.fee }]
        : []),
      ...(spread !== 0n
        ? [{ account: { organisationId: null, kind: 'PLATFORM_SPREAD' as const }, amount: spread }]
        : []),
    ],
  };
}

/** The SETTLEMENT transfer of any period: per token when it carries token figures, else by GPU-seconds. */
export function settlementTransferOf(lease: SettlingLease, charge: PeriodCharge): TransferDraft | null {
  return charge.tokens === undefined
    ? periodTransfer(lease, charge)
    : tokenPeriodTransfer(lease, { ...charge, tokens: charge.tokens });
}
