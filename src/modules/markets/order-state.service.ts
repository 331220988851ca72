import { Injectable } from '@nestjs/common';
import {
  OrderStateRepository,
  type ExpiredOrder,
  type FilledOrder,
  type HoldPosting,
  type NewOffer,
  type OfferAmendment,
  type OfferPlacement,
  type OrderIncrement,
  type PlacementWrites,
} from './order-state.repository';
import type { OutboxInsertion, RecordsInsertion } from '@/modules/events/outbox.service';

export type {
  ExpiredOrder,
  FilledOrder,
  HoldPosting,
  NewBidRow,
  NewPlanRow,
  NewOffer,
  OfferAmendment,
  OfferPlacement,
  OfferRecord,
  OrderIncrement,
  OrderState,
  PlacementWrites,
  UsedPlanRow,
} from './order-state.repository';

/**
 * The one home of bid and offer state (docs/ARCHITECTURE.md "State machine homes"): buyers,
 * providers, matching and leases move orders only through these transitions, in the caller's
 * transaction.
 */
@Injectable()
export class OrderStateService {
  constructor(private readonly orders: OrderStateRepository) {}

  /**
   * Place: a group commit's last statement, its bid lane's rows (plans, bids decided OPEN, their
   * holds) with its events and idempotency records.
   */
  writePlacements(
    writes: PlacementWrites,
    holds: HoldPosting,
    events: OutboxInsertion,
    records: RecordsInsertion,
    at: Date,
  ): Promise<{ held: number; stored: Set<string> }> {
    return this.orders.writePlacements(writes, holds, events, records, at);
  }

  /** Place: a group commit's offers, each checked against its site and the live-order cap. */
  placeOffers(
    offers: ReadonlyArray<NewOffer & { organisationId: string }>,
    maxLive: number,
  ): Promise<OfferPlacement[]> {
    return this.orders.placeOffers(offers, maxLive);
  }

  /** Amend: a live offer's size, ask and status. */
  amendOffer(organisationId: string, offerId: string, amendment: OfferAmendment): Promise<boolean> {
    return this.orders.amendOffer(organisationId, offerId, amendment);
  }

  /** Cancel: the live ones of these bids; the `ownedKey`s moved. */
  cancelBids(
    cancels: ReadonlyArray<{ organisationId: string; bidId: string; at: Date }>,
  ): Promise<Set<string>> {
    return this.orders.cancelBids(cancels);
  }

  /** Cancel: the live ones of these offers; the `ownedKey`s moved. */
  cancelOffers(
    cancels: ReadonlyArray<{ organisationId: string; offerId: string; at: Date }>,
  ): Promise<Set<string>> {
    return this.orders.cancelOffers(cancels);
  }

  /** Cancel: every live bid of a suspended organisation; their ids. */
  cancelLiveBids(organisationId: string, at: Date): Promise<string[]> {
    return this.orders.cancelLiveBids(organisationId, at);
  }

  /** Cancel: every live offer of a suspended organisation; their ids. */
  cancelLiveOffers(organisationId: string, at: Date): Promise<string[]> {
    return this.orders.cancelLiveOffers(organisationId, at);
  }

  /** Fill: a matching run's bid fills and leased offer GPUs in one statement, guarded by the seqs it read. */
  systemFillRun(
    bids: readonly OrderIncrement[],
    offers: readonly OrderIncrement[],
    now: Date,
  ): Promise<{ bids: FilledOrder[]; offers: FilledOrder[] }> {
    return this.orders.systemFillRun(bids, offers, now);
  }

  /** Expire: live bids past their expiry, at most `limit`. */
  systemExpireBids(now: Date, limit: number): Promise<ExpiredOrder[]> {
    return this.orders.systemExpireBids(now, limit);
  }

  /** Expire: live offers whose window closed, at most `limit`. */
  systemExpireOffers(now: Date, limit: number): Promise<ExpiredOrder[]> {
    return this.orders.systemExpireOffers(now, limit);
  }

  /** Return capacity: closed leases' GPUs back to their offers. */
  systemReturnGpus(leases: ReadonlyArray<{ offerId: string; gpus: number }>, now: Date): Promise<void> {
    return this.orders.systemReturnGpus(leases, now);
  }
}
