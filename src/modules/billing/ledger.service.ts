import { Injectable } from '@nestjs/common';
import { Clock } from '../../infra/clock/clock';
import { DomainError } from '../../shared/domain-error';
import { formatMoney } from '../../shared/money';
import {
  bidHoldAmount,
  bidHoldTransfer,
  bidReleaseTransfer,
  leaseHoldTransfer,
  leaseRefundTransfer,
  payoutPaidTransfer,
  payoutRequestTransfer,
  payoutReturnTransfer,
  topUpTransfer,
  type PayoutMoney,
  type LeaseConversion,
  type TransferDraft,
} from './domain/ledger-rules';
import { LedgerOverdrawnError, LedgerRepository } from './ledger.repository';

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
 * Moves money by the ledger rules, always inside the caller's transaction so the movement
 * commits with the business change that causes it (a bid placed, a fill, a confirmed top-up).
 * Every movement has a business key, so a repeated call posts nothing twice.
 */
@Injectable()
export class LedgerService {
  constructor(
    private readonly ledger: LedgerRepository,
    private readonly clock: Clock,
  ) {}

  /** Placement: max price x GPUs x hours moves to held, or 402 when available does not cover it. */
  async holdBidFunds(bid: BidToHold): Promise<void> {
    const amount = bidHoldAmount(bid.maxPricePerGpuHour, bid.gpus, bid.durationHours);
    const balances = await this.ledger.lockBalances(bid.organisationId, bid.currency);
    const available = balances.find((b) => b.kind === 'BUYER_AVAILABLE')?.balance ?? 0n;
    if (available < amount) throw insufficientFunds(amount, available, bid.currency, bid.currencyScale);
    await this.post([bidHoldTransfer({ ...bid, amount })], () =>
      insufficientFunds(amount, null, bid.currency, bid.currencyScale),
    );
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
    const balances = await this.ledger.lockBalances(payout.organisationId, payout.currency);
    const balance = balances.find((b) => b.kind === payout.source)?.balance ?? 0n;
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
    if (balance < payout.amount) throw overdrawn();
    await this.post([payoutRequestTransfer(payout)], overdrawn);
  }

  /** The admin confirmed the transfer was sent (once per payout). */
  async completePayout(payout: PayoutMoney): Promise<void> {
    await this.post([payoutPaidTransfer(payout)]);
  }

  /** The admin refused the payout: its amount goes back (once per payout). */
  async returnPayout(payout: PayoutMoney): Promise<void> {
    await this.post([payoutReturnTransfer(payout)]);
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

  private async post(transfers: readonly TransferDraft[], overdrawn?: () => DomainError): Promise<void> {
    try {
      await this.ledger.postTransfers(transfers, this.clock.now());
    } catch (error) {
      // A release or conversion can only overdraw if holds were lost: a bug, never the payer's.
      if (error instanceof LedgerOverdrawnError && overdrawn) throw overdrawn();
      throw error;
    }
  }
}

const isTransfer = (transfer: TransferDraft | null): transfer is TransferDraft => transfer !== null;

function insufficientFunds(
  required: bigint,
  available: bigint | null,
  currency: string,
  scale: number,
): DomainError {
  const needed = `${formatMoney(required, scale)} ${currency}`;
  return new DomainError(
    'INSUFFICIENT_FUNDS',
    available === null
      ? `Available credit does not cover this bid's hold of ${needed}.`
      : `Available credit ${formatMoney(available, scale)} ${currency} does not cover this bid's hold of ${needed} (max price x GPUs x hours); top up or lower the bid.`,
    {
      required: formatMoney(required, scale),
      ...(available === null ? {} : { available: formatMoney(available, scale) }),
      currency,
    },
  );
}
