import { Injectable } from '@nestjs/common';
import { Clock } from '@/infra/clock/clock';
import { DomainError } from '@/shared/domain-error';
import { formatMoney } from '@/shared/money';
import type { NewEvent } from '@/infra/events/event-catalogue';
import { OutboxService } from '@/modules/events/outbox.service';
import { BillingLimitsRepository } from './billing-limits.repository';
import { Currencies } from '@/modules/billing/currencies/currencies.service';
import {
  committedSpend,
  crossedBelow,
  fitsSpendCap,
  spendPeriodOf,
  SPEND_PERIOD_TIME_ZONE,
} from './domain/billing-limits';
import {
  bidHoldAmount,
  bidHoldTransfer,
  bidReleaseTransfer,
  leaseExtensionTransfer,
  leaseHoldTransfer,
  leaseRefundTransfer,
  payoutPaidTransfer,
  payoutRequestTransfer,
  payoutReturnTransfer,
  penaltyTransfer,
  recoveryTransfer,
  topUpTransfer,
  type PayoutMoney,
  type LeaseConversion,
  type TransferDraft,
} from './domain/ledger-rules';
import {
  LedgerOverdrawnError,
  LedgerRepository,
  type LedgerPosting,
  type LockedBalances,
} from './ledger.repository';
import type { LockedFundsRow, SettledChargesRow } from '@/modules/markets/domain/placement-batch';

export interface BidToHold {
  bidId: string;
  organisationId: string;
  currency: string;
  currencyScale: number;
  maxPricePerGpuHour: bigint;
  gpus: number;
  durationHours: number;
}

export interface BidToRelease {
  bidId: string;
  organisationId: string;
  currency: string;
  maxPricePerGpuHour: bigint;
  durationHours: number;
  unfilledGpus: number;
  reason: 'cancelled' | 'expired';
}

/**
 * The buyer balances of a group commit's bids, locked until it commits: holds are decided in
 * turn against them (`reserveBidHold`), then posted together (`postBidHolds`).
 */
export interface BidFundsLock {
  /** Read-only outside LedgerService. */
  readonly reserved: number;
}

interface BuyerFunds {
  organisationId: string;
  currency: string;
  available: bigint;
  held: bigint;
  /** Before this batch's holds, for `balance.low`. */
  availableBefore: bigint;
  spendCap: bigint | null;
  threshold: bigint | null;
  settledInPeriod: bigint;
}

class LockedBidFunds implements BidFundsLock {
  readonly transfers: TransferDraft[] = [];

  constructor(readonly accounts: Map<string, BuyerFunds>) {}

  get reserved(): number {
    return this.transfers.length;
  }
}

/** An available balance read under its row lock before a posting, with its threshold. */
interface KnownAvailable {
  organisationId: string;
  currency: string;
  before: bigint;
  threshold: bigint | null;
}

/**
 * Moves money by the ledger rules, always inside the caller's transaction so the movement
 * commits with the business change that causes it (a bid placed, a fill, a confirmed top-up).
 * Every movement has a business key, so a repeated call posts nothing twice. Every posting that
 * lowers an available balance is checked here, once, for a crossing of the organisation's
 * low-balance threshold (`balance.low`, written in the same transaction).
 */
@Injectable()
export class LedgerService {
  constructor(
    private readonly ledger: LedgerRepository,
    private readonly limits: BillingLimitsRepository,
    private readonly outbox: OutboxService,
    private readonly currencies: Currencies,
    private readonly clock: Clock,
  ) {}

  /**
   * Placement: max price x GPUs x hours moves to held; 402 when available does not cover it, or
   * when it would take the month's committed spend past the organisation's cap. Both are read
   * under the account rows' lock, so concurrent bids of one organisation are checked in turn.
   */
  async holdBidFunds(bid: BidToHold): Promise<void> {
    const amount = bidHoldAmount(bid.maxPricePerGpuHour, bid.gpus, bid.durationHours);
    const locked = await this.ledger.lockBalances(bid.organisationId, bid.currency);
    const available = balanceOf(locked, 'BUYER_AVAILABLE');
    if (available < amount) throw insufficientFunds(amount, available, bid.currency, bid.currencyScale);
    if (locked.spendCap !== null) {
      const period = spendPeriodOf(this.clock.now());
      const settled = await this.limits.settledChargesSince(
        bid.organisationId,
        bid.currency,
        period.startsAt,
      );
      const committed = committedSpend(settled, balanceOf(locked, 'BUYER_HELD'));
      if (!fitsSpendCap(locked.spendCap, committed, amount)) {
        throw spendCapExceeded(locked.spendCap, committed, amount, bid.currency, bid.currencyScale);
      }
    }
    await this.post(
      [bidHoldTransfer({ ...bid, amount })],
      () => insufficientFunds(amount, null, bid.currency, bid.currencyScale),
      [knownAvailable(bid.organisationId, bid.currency, locked)],
    );
  }

  /**
   * A lease extension's hold (docs/LEASES.md "Extending a lease"): the added hours' cost at the
   * trade price moves to held, checked exactly as a bid's hold is (402 when available credit does
   * not cover it or when it would take the month's committed spend past the cap), under the same
   * lock of the buyer's account rows. Once per (lease, extension number).
   */
  async holdLeaseExtension(extension: {
    leaseId: string;
    number: number;
    organisationId: string;
    currency: string;
    currencyScale: number;
    amount: bigint;
  }): Promise<void> {
    const { amount, currency, currencyScale } = extension;
    const locked = await this.ledger.lockBalances(extension.organisationId, currency);
    const available = balanceOf(locked, 'BUYER_AVAILABLE');
    if (available < amount) throw insufficientFunds(amount, available, currency, currencyScale, 'extension');
    if (locked.spendCap !== null) {
      const period = spendPeriodOf(this.clock.now());
      const settled = await this.limits.settledChargesSince(
        extension.organisationId,
        currency,
        period.startsAt,
      );
      const committed = committedSpend(settled, balanceOf(locked, 'BUYER_HELD'));
      if (!fitsSpendCap(locked.spendCap, committed, amount)) {
        throw spendCapExceeded(locked.spendCap, committed, amount, currency, currencyScale, 'extension');
      }
    }
    await this.post(
      [leaseExtensionTransfer(extension)],
      () => insufficientFunds(amount, null, currency, currencyScale, 'extension'),
      [knownAvailable(extension.organisationId, currency, locked)],
    );
  }

  /** Where the spend cap's current period starts: a group commit reads settled charges from it. */
  spendPeriodStart(): Date {
    return spendPeriodOf(this.clock.now()).startsAt;
  }

  /**
   * `holdBidFunds` for the bids of a group commit, in three steps so that no refusal is an
   * error inside the transaction: the batch's read statement locks every buyer balance the bids
   * draw on and reads the capped ones' settled charges (`rows`, `settled`), taken in here; each
   * bid is decided in turn against what the earlier ones left (`reserveBidHold`); the accepted
   * holds are posted together in the batch's last statement (`bidHoldsPosting`).
   */
  bidFundsOf(
    bids: ReadonlyArray<{ organisationId: string; currency: string }>,
    rows: readonly LockedFundsRow[],
    settled: readonly SettledChargesRow[],
  ): BidFundsLock {
    const accounts = new Map<string, BuyerFunds>();
    for (const { organisationId, currency } of bids) {
      const key = accountKey({ organisationId, currency });
      if (accounts.has(key)) continue;
      const own = rows.filter((row) => accountKey(row) === key);
      const balance = (kind: string): bigint => BigInt(own.find((row) => row.kind === kind)?.balance ?? 0);
      const limit = (value: string | null | undefined): bigint | null =>
        value === null || value === undefined ? null : BigInt(value);
      accounts.set(key, {
        organisationId,
        currency,
        available: balance('BUYER_AVAILABLE'),
        availableBefore: balance('BUYER_AVAILABLE'),
        held: balance('BUYER_HELD'),
        spendCap: limit(own[0]?.spendCap),
        threshold: limit(own[0]?.lowBalanceThreshold),
        settledInPeriod: BigInt(settled.find((row) => accountKey(row) === key)?.total ?? 0),
      });
    }
    return new LockedBidFunds(accounts);
  }

  /**
   * Reserves one bid's hold against what the batch's earlier bids left, exactly as
   * `holdBidFunds` checks it; the refusal (402) when it does not fit, null when reserved.
   */
  reserveBidHold(lock: BidFundsLock, bid: BidToHold): DomainError | null {
    const funds = lock as LockedBidFunds;
    const account = funds.accounts.get(accountKey(bid));
    if (account === undefined) throw new Error('a bid hold reserved against balances not locked');
    const amount = bidHoldAmount(bid.maxPricePerGpuHour, bid.gpus, bid.durationHours);
    if (account.available < amount) {
      return insufficientFunds(amount, account.available, bid.currency, bid.currencyScale);
    }
    if (account.spendCap !== null) {
      const committed = committedSpend(account.settledInPeriod, account.held);
      if (!fitsSpendCap(account.spendCap, committed, amount)) {
        return spendCapExceeded(account.spendCap, committed, amount, bid.currency, bid.currencyScale);
      }
    }
    account.available -= amount;
    account.held += amount;
    funds.transfers.push(bidHoldTransfer({ ...bid, amount }));
    return null;
  }

  /**
   * The reserved holds as a posting for the batch's last statement to carry, with the
   * `balance.low` events they cause (every account they lower was read under its lock, so
   * nothing is read here). Each hold's key names a bid of this batch, so all of them post; the
   * caller checks that they did.
   */
  async bidHoldsPosting(lock: BidFundsLock): Promise<{ posting: LedgerPosting; events: NewEvent[] }> {
    const funds = lock as LockedBidFunds;
    const events = await this.lowBalanceEvents(
      funds.transfers,
      [...funds.accounts.values()].map((account) => ({
        organisationId: account.organisationId,
        currency: account.currency,
        before: account.availableBefore,
        threshold: account.threshold,
      })),
    );
    return { posting: this.ledger.postingOf(funds.transfers, this.clock.now()), events };
  }

  /** Cancel or expiry: the unfilled part's hold goes back to available (once per bid). */
  async releaseBidFunds(bids: readonly BidToRelease[]): Promise<void> {
    const transfers = bids.map((bid) => bidReleaseTransfer(bid)).filter(isTransfer);
    await this.post(transfers);
  }

  /** Match: the leased GPUs' hold is re-priced at the trade price, the difference released. */
  async convertToLeaseHolds(conversions: readonly LeaseConversion[]): Promise<void> {
    const transfers = conversions.map((conversion) => leaseHoldTransfer(conversion)).filter(isTransfer);
    await this.post(transfers);
  }

  /** Leases that never ran hand their whole hold back to their buyers (once per lease). */
  async refundLeases(
    leases: ReadonlyArray<{
      leaseId: string;
      buyerOrganisationId: string;
      currency: string;
      pricePerGpuHour: bigint;
      gpus: number;
      durationHours: number;
      reason: string;
    }>,
  ): Promise<void> {
    await this.post(
      leases.map((lease) => leaseRefundTransfer({ ...lease, organisationId: lease.buyerOrganisationId })),
    );
  }

  /** A payout asked for moves its amount to clearing, or 402 when the account does not hold it. */
  async reservePayout(payout: PayoutMoney, currencyScale: number): Promise<void> {
    const locked = await this.ledger.lockBalances(payout.organisationId, payout.currency);
    const balance = balanceOf(locked, payout.source);
    const needed = `${formatMoney(payout.amount, currencyScale)} ${payout.currency}`;
    const overdrawn = (): DomainError =>
      new DomainError(
        'INSUFFICIENT_FUNDS',
        `The ${payout.source === 'PROVIDER_EARNINGS' ? 'earnings' : 'available credit'} of ${formatMoney(balance, currencyScale)} ${payout.currency} do not cover a payout of ${needed}.`,
        {
          required: formatMoney(payout.amount, currencyScale),
          available: formatMoney(balance, currencyScale),
          currency: payout.currency,
        },
      );
    // A provider that owes a penalty is paid nothing until later proceeds have netted it.
    const owed = -balanceOf(locked, 'PROVIDER_RECEIVABLE');
    if (payout.source === 'PROVIDER_EARNINGS' && owed > 0n) {
      throw new DomainError(
        'RECEIVABLE_OPEN',
        `A penalty of ${formatMoney(owed, currencyScale)} ${payout.currency} is still owed; payouts wait until settlement has netted it from your proceeds.`,
        { owed: formatMoney(owed, currencyScale), currency: payout.currency },
      );
    }
    if (balance < payout.amount) throw overdrawn();
    await this.post([payoutRequestTransfer(payout)], overdrawn, [
      knownAvailable(payout.organisationId, payout.currency, locked),
    ]);
  }

  /** The admin confirmed the transfer was sent (once per payout). */
  async completePayout(payout: PayoutMoney): Promise<void> {
    await this.post([payoutPaidTransfer(payout)]);
  }

  /** The admin refused the payout: its amount goes back (once per payout). */
  async returnPayout(payout: PayoutMoney): Promise<void> {
    await this.post([payoutReturnTransfer(payout)]);
  }

  /**
   * A provider's early end without notice: the buyer is credited the whole penalty now; the
   * provider's earnings pay what they hold of it and the rest becomes its receivable (once per
   * lease). Returns the part owed, which blocks payouts until settlement nets it.
   */
  async chargePenalty(penalty: {
    leaseId: string;
    buyerOrganisationId: string;
    providerOrganisationId: string;
    currency: string;
    amount: bigint;
  }): Promise<bigint> {
    const locked = await this.ledger.lockBalances(penalty.providerOrganisationId, penalty.currency);
    const earnings = balanceOf(locked, 'PROVIDER_EARNINGS');
    await this.post([penaltyTransfer({ ...penalty, earnings })]);
    return penalty.amount > earnings ? penalty.amount - earnings : 0n;
  }

  /**
   * The provider's balances locked before a settlement posts its proceeds: settlement then nets
   * any open receivable from them (`recoverReceivable`), and the lock keeps a concurrent penalty
   * or payout of the same provider from reading them in between.
   */
  async lockProviderBalances(
    providerOrganisationId: string,
    currency: string,
  ): Promise<{ earnings: bigint; receivable: bigint }> {
    const locked = await this.ledger.lockBalances(providerOrganisationId, currency);
    return {
      earnings: balanceOf(locked, 'PROVIDER_EARNINGS'),
      receivable: balanceOf(locked, 'PROVIDER_RECEIVABLE'),
    };
  }

  /**
   * Nets an open receivable from earnings that now hold `earnings` (the balance read under
   * `lockProviderBalances` plus the proceeds just posted); once per `key`.
   */
  async recoverReceivable(input: {
    key: string;
    leaseId: string;
    providerOrganisationId: string;
    currency: string;
    receivable: bigint;
    earnings: bigint;
  }): Promise<void> {
    const transfer = recoveryTransfer(input);
    if (transfer !== null) await this.post([transfer]);
  }

  /** Settlement's transfers (periods, the final release), built by settlement-rules; once per key. */
  async postSettlement(transfers: readonly TransferDraft[]): Promise<void> {
    await this.post(transfers);
  }

  /** A confirmed top-up becomes available credit (once per top-up). */
  async creditTopUp(topUp: {
    topUpId: string;
    organisationId: string;
    amount: bigint;
    currency: string;
  }): Promise<void> {
    await this.post([topUpTransfer(topUp)]);
  }

  private async post(
    transfers: readonly TransferDraft[],
    overdrawn?: () => DomainError,
    known: readonly KnownAvailable[] = [],
  ): Promise<void> {
    let posted: string[];
    try {
      posted = await this.ledger.postTransfers(transfers, this.clock.now());
    } catch (error) {
      // A release or conversion can only overdraw if holds were lost: a bug, never the payer's.
      if (error instanceof LedgerOverdrawnError && overdrawn) throw overdrawn();
      throw error;
    }
    const keys = new Set(posted);
    await this.noticeLowBalances(
      transfers.filter((t) => keys.has(t.key)),
      known,
    );
  }

  /**
   * One `balance.low` per available balance that this posting took from at or above its
   * threshold to below it. Balances only go down by postings that lock them first (holds,
   * payouts), so before = after - change is exact; a caller that read the balance under that
   * lock passes it in and spares the query.
   */
  private async noticeLowBalances(
    posted: readonly TransferDraft[],
    known: readonly KnownAvailable[],
  ): Promise<void> {
    const events = await this.lowBalanceEvents(posted, known);
    if (events.length > 0) await this.outbox.recordMany(events);
  }

  /** The `balance.low` events of a posting (see `noticeLowBalances`). */
  private async lowBalanceEvents(
    posted: readonly TransferDraft[],
    known: readonly KnownAvailable[],
  ): Promise<NewEvent[]> {
    const lowered = availableChanges(posted).filter((change) => change.delta < 0n);
    if (lowered.length === 0) return [];
    const startOf = new Map<string, { before: bigint; threshold: bigint | null }>();
    for (const account of known) startOf.set(accountKey(account), account);
    const unread = lowered.filter((change) => !startOf.has(accountKey(change)));
    for (const row of await this.ledger.availableWithThresholds(unread)) {
      const change = lowered.find((c) => accountKey(c) === accountKey(row));
      if (change)
        startOf.set(accountKey(row), { before: row.balance - change.delta, threshold: row.threshold });
    }
    const events: NewEvent[] = [];
    for (const change of lowered) {
      const start = startOf.get(accountKey(change));
      if (start === undefined || start.threshold === null) continue;
      const after = start.before + change.delta;
      if (!crossedBelow(start.threshold, start.before, after)) continue;
      const scale = await this.currencies.scaleOf(change.currency);
      events.push({
        type: 'balance.low',
        aggregateType: 'organisation',
        aggregateId: change.organisationId,
        payload: {
          organisationId: change.organisationId,
          currency: change.currency,
          available: formatMoney(after, scale),
          threshold: formatMoney(start.threshold, scale),
          cause: change.cause,
        },
      });
    }
    return events;
  }
}

const accountKey = (account: { organisationId: string; currency: string }): string =>
  `${account.organisationId}|${account.currency}`;

/** Net change per organisation available account across posted transfers, with the first lowering kind. */
function availableChanges(
  transfers: readonly TransferDraft[],
): Array<{ organisationId: string; currency: string; delta: bigint; cause: string }> {
  const changes = new Map<
    string,
    { organisationId: string; currency: string; delta: bigint; cause: string }
  >();
  for (const transfer of transfers) {
    for (const entry of transfer.entries) {
      const { organisationId, kind } = entry.account;
      if (organisationId === null || kind !== 'BUYER_AVAILABLE') continue;
      const key = accountKey({ organisationId, currency: transfer.currency });
      const change = changes.get(key) ?? {
        organisationId,
        currency: transfer.currency,
        delta: 0n,
        cause: '',
      };
      change.delta += entry.amount;
      if (entry.amount < 0n && change.cause === '') change.cause = transfer.kind;
      changes.set(key, change);
    }
  }
  return [...changes.values()];
}

const balanceOf = (locked: LockedBalances, kind: string): bigint =>
  locked.balances.find((b) => b.kind === kind)?.balance ?? 0n;

const knownAvailable = (
  organisationId: string,
  currency: string,
  locked: LockedBalances,
): KnownAvailable => ({
  organisationId,
  currency,
  before: balanceOf(locked, 'BUYER_AVAILABLE'),
  threshold: locked.lowBalanceThreshold,
});

const isTransfer = (transfer: TransferDraft | null): transfer is TransferDraft => transfer !== null;

function insufficientFunds(
  required: bigint,
  available: bigint | null,
  currency: string,
  scale: number,
  what: 'bid' | 'extension' = 'bid',
): DomainError {
  const needed = `${formatMoney(required, scale)} ${currency}`;
  return new DomainError(
    'INSUFFICIENT_FUNDS',
    available === null
      ? `Available credit does not cover this ${what}'s hold of ${needed}.`
      : what === 'bid'
        ? `Available credit ${formatMoney(available, scale)} ${currency} does not cover this bid's hold of ${needed} (max price x GPUs x hours); top up or lower the bid.`
        : `Available credit ${formatMoney(available, scale)} ${currency} does not cover this extension's hold of ${needed} (the lease's price x GPUs x hours); top up or extend by fewer hours.`,
    {
      required: formatMoney(required, scale),
      ...(available === null ? {} : { available: formatMoney(available, scale) }),
      currency,
    },
  );
}

function spendCapExceeded(
  cap: bigint,
  committed: bigint,
  required: bigint,
  currency: string,
  scale: number,
  what: 'bid' | 'extension' = 'bid',
): DomainError {
  const money = (minor: bigint): string => formatMoney(minor, scale);
  return new DomainError(
    'SPEND_CAP_EXCEEDED',
    `This ${what}'s hold of ${money(required)} ${currency} would take this month's committed spend of ${money(committed)} ${currency} past your spend cap of ${money(cap)} ${currency}; raise the cap (PUT /v1/billing/spend-cap) or ${what === 'bid' ? 'lower the bid' : 'extend by fewer hours'}.`,
    {
      cap: money(cap),
      committed: money(committed),
      required: money(required),
      remaining: money(cap > committed ? cap - committed : 0n),
      currency,
      period: 'CALENDAR_MONTH',
      timeZone: SPEND_PERIOD_TIME_ZONE,
    },
  );
}
