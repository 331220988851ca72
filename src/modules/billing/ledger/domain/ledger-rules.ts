/**
 * The ledger's rules as plain code: which accounts a movement touches and by how much. Every
 * transfer built here balances to zero; the database refuses one that does not (triggers), so
 * these functions are the first check and the triggers the last.
 */

export type OrganisationAccountKind =
  | 'BUYER_AVAILABLE'
  | 'BUYER_HELD'
  | 'PROVIDER_EARNINGS'
  /** Minus what the provider owes (a penalty its earnings did not cover); never above zero. */
  | 'PROVIDER_RECEIVABLE';
export type SystemAccountKind =
  | 'PLATFORM_FEES'
  | 'EXTERNAL_FUNDING'
  | 'PAYOUT_CLEARING'
  /** Per-token periods' charge less payout (docs/LEDGER.md "The spread"). */
  | 'PLATFORM_SPREAD';
export type TransferKind =
  | 'TOPUP'
  | 'BID_HOLD'
  | 'LEASE_HOLD'
  | 'BID_RELEASE'
  | 'SETTLEMENT'
  | 'REFUND'
  | 'PAYOUT'
  | 'WITHDRAWAL'
  | 'CORRECTION'
  | 'PENALTY'
  | 'RECOVERY'
  | 'LEASE_EXTENSION'
  /** A missed SLO: part of a period's proceeds from the provider's earnings to the buyer (docs/SLO.md). */
  | 'SLO_CREDIT';

/** An account by its owner: an organisation's, or the platform's for a currency. */
export type AccountRef =
  | { readonly organisationId: string; readonly kind: OrganisationAccountKind }
  | { readonly organisationId: null; readonly kind: SystemAccountKind };

export interface EntryDraft {
  readonly account: AccountRef;
  /** Minor units; positive raises the account's balance. */
  readonly amount: bigint;
}

export interface TransferDraft {
  /** The business fact the transfer records; the database keeps each key once. */
  readonly key: string;
  readonly kind: TransferKind;
  readonly currency: string;
  readonly organisationId: string | null;
  readonly bidId?: string;
  readonly leaseId?: string;
  readonly topUpId?: string;
  readonly memo?: string;
  readonly entries: readonly EntryDraft[];
}

/** The largest amount a bigint column holds; anything larger is refused, never rounded. */
export const MAX_LEDGER_AMOUNT = 2n ** 63n - 1n;

export class LedgerRuleError extends Error {
  override readonly name = 'LedgerRuleError';
}

const available = (organisationId: string): AccountRef => ({ organisationId, kind: 'BUYER_AVAILABLE' });
const held = (organisationId: string): AccountRef => ({ organisationId, kind: 'BUYER_HELD' });
const FUNDING: AccountRef = { organisationId: null, kind: 'EXTERNAL_FUNDING' };

/** What a bid holds at placement: max price x GPUs x hours (DESIGN, Funds). */
export function bidHoldAmount(maxPricePerGpuHour: bigint, gpus: number, durationHours: number): bigint {
  assertCount(gpus, 'gpus');
  assertCount(durationHours, 'durationHours');
  if (maxPricePerGpuHour <= 0n) throw new LedgerRuleError('a bid holds a positive price');
  return checkedAmount(maxPricePerGpuHour * BigInt(gpus) * BigInt(durationHours));
}

/** Rejects a transfer that does not balance, moves nothing, or holds an amount out of range. */
export function assertBalanced(transfer: TransferDraft): void {
  if (transfer.entries.length < 2) throw new LedgerRuleError(`${transfer.key}: fewer than two entries`);
  let total = 0n;
  for (const entry of transfer.entries) {
    if (entry.amount === 0n) throw new LedgerRuleError(`${transfer.key}: an entry moves nothing`);
    checkedAmount(entry.amount < 0n ? -entry.amount : entry.amount);
    total += entry.amount;
  }
  if (total !== 0n) throw new LedgerRuleError(`${transfer.key}: entries sum to ${total}, not zero`);
}

/** Confirmed external money becomes the buyer's available credit. */
export function topUpTransfer(input: {
  topUpId: string;
  organisationId: string;
  amount: bigint;
  currency: string;
}): TransferDraft {
  return balanced({
    key: `topup:${input.topUpId}`,
    kind: 'TOPUP',
    currency: input.currency,
    organisationId: input.organisationId,
    topUpId: input.topUpId,
    entries: [
      { account: FUNDING, amount: -input.amount },
      { account: available(input.organisationId), amount: input.amount },
    ],
  });
}

/** Placement: the bid's whole possible cost moves from available to held. */
export function bidHoldTransfer(input: {
  bidId: string;
  organisationId: string;
  amount: bigint;
  currency: string;
}): TransferDraft {
  return balanced({
    key: `bid-hold:${input.bidId}`,
    kind: 'BID_HOLD',
    currency: input.currency,
    organisationId: input.organisationId,
    bidId: input.bidId,
    entries: [
      { account: available(input.organisationId), amount: -input.amount },
      { account: held(input.organisationId), amount: input.amount },
    ],
  });
}

/**
 * A buyer extends a lease: the added hours' cost at the trade price (price x GPUs x hours) moves
 * from available to held, as a bid's hold does; the lease's hold grows by exactly that.
 */
export function leaseExtensionTransfer(input: {
  leaseId: string;
  /** 1 for the lease's first extension, then 2, ...: one transfer per extension. */
  number: number;
  organisationId: string;
  amount: bigint;
  currency: string;
}): TransferDraft {
  assertCount(input.number, 'number');
  if (input.amount <= 0n)
    throw new LedgerRuleError(`lease ${input.leaseId}: an extension holds a positive amount`);
  return balanced({
    key: `lease-extend:${input.leaseId}:${input.number}`,
    kind: 'LEASE_EXTENSION',
    currency: input.currency,
    organisationId: input.organisationId,
    leaseId: input.leaseId,
    memo: `extension ${input.number}`,
    entries: [
      { account: available(input.organisationId), amount: -checkedAmount(input.amount) },
      { account: held(input.organisationId), amount: input.amount },
    ],
  });
}

export interface LeaseConversion {
  leaseId: string;
  bidId: string;
  organisationId: string;
  currency: string;
  gpus: number;
  durationHours: number;
  bidMaxPricePerGpuHour: bigint;
  tradePricePerGpuHour: bigint;
}

/**
 * At match the bid's hold for the leased GPUs becomes the lease's hold at the trade price; the
 * difference goes back to available. The held balance keeps the lease's cost, so nothing moves
 * when the trade price is the bid's own; the transfer is still written: it names the lease hold.
 */
export function leaseHoldAmounts(conversion: LeaseConversion): { leaseHold: bigint; released: bigint } {
  if (conversion.tradePricePerGpuHour > conversion.bidMaxPricePerGpuHour) {
    throw new LedgerRuleError(`lease ${conversion.leaseId}: trade price above the bid's cap`);
  }
  const bidPart = bidHoldAmount(conversion.bidMaxPricePerGpuHour, conversion.gpus, conversion.durationHours);
  const leaseHold = bidHoldAmount(conversion.tradePricePerGpuHour, conversion.gpus, conversion.durationHours);
  return { leaseHold, released: bidPart - leaseHold };
}

/** The conversion's transfer, or null when the trade price equals the cap and nothing moves. */
export function leaseHoldTransfer(conversion: LeaseConversion): TransferDraft | null {
  const { released } = leaseHoldAmounts(conversion);
  if (released === 0n) return null;
  return balanced({
    key: `lease-hold:${conversion.leaseId}`,
    kind: 'LEASE_HOLD',
    currency: conversion.currency,
    organisationId: conversion.organisationId,
    bidId: conversion.bidId,
    leaseId: conversion.leaseId,
    entries: [
      { account: held(conversion.organisationId), amount: -released },
      { account: available(conversion.organisationId), amount: released },
    ],
  });
}

/** Cancel or expiry: what the bid still holds for its unfilled GPUs goes back to available. */
export function bidReleaseTransfer(input: {
  bidId: string;
  organisationId: string;
  currency: string;
  maxPricePerGpuHour: bigint;
  unfilledGpus: number;
  durationHours: number;
  reason: 'cancelled' | 'expired';
}): TransferDraft | null {
  if (input.unfilledGpus === 0) return null;
  const amount = bidHoldAmount(input.maxPricePerGpuHour, input.unfilledGpus, input.durationHours);
  return balanced({
    key: `bid-release:${input.bidId}`,
    kind: 'BID_RELEASE',
    currency: input.currency,
    organisationId: input.organisationId,
    bidId: input.bidId,
    memo: `bid ${input.reason}`,
    entries: [
      { account: held(input.organisationId), amount: -amount },
      { account: available(input.organisationId), amount },
    ],
  });
}

/**
 * A lease that never ran (terminated before access was handed over) gives its whole hold back:
 * price x GPUs x hours at the trade price, which is all the lease held.
 */
export function leaseRefundTransfer(input: {
  leaseId: string;
  organisationId: string;
  currency: string;
  pricePerGpuHour: bigint;
  gpus: number;
  durationHours: number;
  reason: string;
}): TransferDraft {
  const amount = bidHoldAmount(input.pricePerGpuHour, input.gpus, input.durationHours);
  return balanced({
    key: `lease-release:${input.leaseId}`,
    kind: 'REFUND',
    currency: input.currency,
    organisationId: input.organisationId,
    leaseId: input.leaseId,
    memo: input.reason,
    entries: [
      { account: held(input.organisationId), amount: -amount },
      { account: available(input.organisationId), amount },
    ],
  });
}

export type PayoutSource = 'PROVIDER_EARNINGS' | 'BUYER_AVAILABLE';

export interface PayoutMoney {
  payoutId: string;
  organisationId: string;
  source: PayoutSource;
  amount: bigint;
  currency: string;
}

const CLEARING: AccountRef = { organisationId: null, kind: 'PAYOUT_CLEARING' };
const sourceOf = (payout: PayoutMoney): AccountRef => ({
  organisationId: payout.organisationId,
  kind: payout.source,
});

/** A payout asked for: the amount leaves the organisation's account for clearing at once. */
export function payoutRequestTransfer(payout: PayoutMoney): TransferDraft {
  return balanced({
    key: `payout-request:${payout.payoutId}`,
    kind: 'PAYOUT',
    currency: payout.currency,
    organisationId: payout.organisationId,
    memo: 'payout requested',
    entries: [
      { account: sourceOf(payout), amount: -payout.amount },
      { account: CLEARING, amount: payout.amount },
    ],
  });
}

/** The bank transfer was sent: the money has left the exchange. */
export function payoutPaidTransfer(payout: PayoutMoney): TransferDraft {
  return balanced({
    key: `payout:${payout.payoutId}`,
    kind: payout.source === 'BUYER_AVAILABLE' ? 'WITHDRAWAL' : 'PAYOUT',
    currency: payout.currency,
    organisationId: payout.organisationId,
    memo: 'payout paid',
    entries: [
      { account: CLEARING, amount: -payout.amount },
      { account: FUNDING, amount: payout.amount },
    ],
  });
}

/** The payout was refused: the amount returns to the account it came from. */
export function payoutReturnTransfer(payout: PayoutMoney): TransferDraft {
  return balanced({
    key: `payout-return:${payout.payoutId}`,
    kind: 'CORRECTION',
    currency: payout.currency,
    organisationId: payout.organisationId,
    memo: 'payout rejected',
    entries: [
      { account: CLEARING, amount: -payout.amount },
      { account: sourceOf(payout), amount: payout.amount },
    ],
  });
}

const earnings = (organisationId: string): AccountRef => ({ organisationId, kind: 'PROVIDER_EARNINGS' });
const receivable = (organisationId: string): AccountRef => ({ organisationId, kind: 'PROVIDER_RECEIVABLE' });

export interface PenaltyMoney {
  leaseId: string;
  buyerOrganisationId: string;
  providerOrganisationId: string;
  currency: string;
  /** What the buyer is owed, minor units, > 0. */
  amount: bigint;
  /** The provider's earnings balance, read under its lock. */
  earnings: bigint;
}

/**
 * A provider's early end without notice (docs/LEDGER.md, "Receivables"): the buyer's available
 * credit gains the whole penalty at once; the provider's earnings pay what they hold of it, and
 * the rest becomes a receivable (the account goes below zero by it), netted from later proceeds.
 */
export function penaltyTransfer(penalty: PenaltyMoney): TransferDraft {
  if (penalty.amount <= 0n) throw new LedgerRuleError(`lease ${penalty.leaseId}: a penalty is positive`);
  const fromEarnings = penalty.earnings < penalty.amount ? penalty.earnings : penalty.amount;
  const owed = penalty.amount - fromEarnings;
  const provider = penalty.providerOrganisationId;
  return balanced({
    key: `penalty:${penalty.leaseId}`,
    kind: 'PENALTY',
    currency: penalty.currency,
    organisationId: provider,
    leaseId: penalty.leaseId,
    memo: 'provider ended the lease without notice',
    entries: [
      { account: available(penalty.buyerOrganisationId), amount: penalty.amount },
      ...(fromEarnings > 0n ? [{ account: earnings(provider), amount: -fromEarnings }] : []),
      ...(owed > 0n ? [{ account: receivable(provider), amount: -owed }] : []),
    ],
  });
}

/**
 * Settlement nets an open receivable from the provider's earnings, as much as they hold; null
 * when nothing is owed or nothing is there. `key` names the settlement that brought the proceeds.
 */
export function recoveryTransfer(input: {
  key: string;
  leaseId: string;
  providerOrganisationId: string;
  currency: string;
  /** The receivable's balance (<= 0) and the earnings (>= 0), read under their lock. */
  receivable: bigint;
  earnings: bigint;
}): TransferDraft | null {
  const owed = -input.receivable;
  const amount = owed < input.earnings ? owed : input.earnings;
  if (amount <= 0n) return null;
  return balanced({
    key: input.key,
    kind: 'RECOVERY',
    currency: input.currency,
    organisationId: input.providerOrganisationId,
    leaseId: input.leaseId,
    memo: 'receivable netted from proceeds',
    entries: [
      { account: earnings(input.providerOrganisationId), amount: -amount },
      { account: receivable(input.providerOrganisationId), amount },
    ],
  });
}

/**
 * A missed SLO credits the buyer's available credit from the provider's earnings, which the
 * period's own proceeds (posted just before, in the same transaction) cover: the credit is at
 * most those proceeds (docs/SLO.md). Once per lease period.
 */
export function sloCreditTransfer(credit: {
  leaseId: string;
  periodIndex: number;
  buyerOrganisationId: string;
  providerOrganisationId: string;
  currency: string;
  amount: bigint;
  memo: string;
}): TransferDraft {
  if (credit.amount <= 0n) throw new LedgerRuleError(`lease ${credit.leaseId}: an SLO credit is positive`);
  return balanced({
    key: `slo-credit:${credit.leaseId}:${credit.periodIndex}`,
    kind: 'SLO_CREDIT',
    currency: credit.currency,
    organisationId: credit.buyerOrganisationId,
    leaseId: credit.leaseId,
    memo: credit.memo.slice(0, 500),
    entries: [
      { account: available(credit.buyerOrganisationId), amount: checkedAmount(credit.amount) },
      { account: earnings(credit.providerOrganisationId), amount: -credit.amount },
    ],
  });
}

function balanced(transfer: TransferDraft): TransferDraft {
  assertBalanced(transfer);
  return transfer;
}

function checkedAmount(amount: bigint): bigint {
  if (amount > MAX_LEDGER_AMOUNT) throw new LedgerRuleError(`amount ${amount} exceeds the ledger's range`);
  return amount;
}

function assertCount(value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new LedgerRuleError(`${field} must be a positive integer`);
}
