import { Injectable, Logger } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { Clock } from '@/infra/clock/clock';
import type { NewEvent } from '@/infra/events/event-catalogue';
import { OutboxService } from '@/modules/events/outbox.service';
import { FundsPort } from '@/modules/markets/domain/funds.port';
import { OrderStateService, type ExpiredOrder } from '@/modules/markets/order-state.service';

const BATCH = 500;

export interface ExpiryReport {
  bids: number;
  offers: number;
}

/**
 * Expiry as an idempotent sweep(now) (DESIGN, Time): every live bid at or past its expiresAt
 * and every live offer at or past its availableUntil becomes EXPIRED, with its `order.expired`
 * event and the release of the bid's remaining hold in the same transaction. Delayed jobs only
 * bring a sweep forward; matching never fills an expired order, swept or not.
 */
@Injectable()
export class OrderExpiryService {
  private readonly logger = new Logger(OrderExpiryService.name);

  constructor(
    private readonly expiry: OrderStateService,
    private readonly outbox: OutboxService,
    private readonly funds: FundsPort,
    private readonly clock: Clock,
  ) {}

  async sweep(): Promise<ExpiryReport> {
    const now = this.clock.now();
    let bids = 0;
    let offers = 0;
    for (let expired = BATCH; expired === BATCH; bids += expired) expired = await this.expireBids(now);
    for (let expired = BATCH; expired === BATCH; offers += expired) expired = await this.expireOffers(now);
    if (bids + offers > 0) this.logger.log(`expired ${bids} bids and ${offers} offers`);
    return { bids, offers };
  }

  @Transactional()
  private async expireBids(now: Date): Promise<number> {
    const expired = await this.expiry.systemExpireBids(now, BATCH);
    await this.funds.releaseBidHolds(
      expired.map((bid) => ({
        bidId: bid.id,
        buyerOrganisationId: bid.organisationId,
        currency: bid.currency,
        maxPricePerGpuHour: bid.pricePerGpuHour,
        durationHours: bid.durationHours,
        unfilledGpus: bid.gpus - bid.taken,
        reason: 'expired' as const,
      })),
    );
    await this.outbox.recordMany(expired.map((bid) => orderExpired('bid', bid)));
    return expired.length;
  }

  @Transactional()
  private async expireOffers(now: Date): Promise<number> {
    const expired = await this.expiry.systemExpireOffers(now, BATCH);
    await this.outbox.recordMany(expired.map((offer) => orderExpired('offer', offer)));
    return expired.length;
  }
}

function orderExpired(orderType: 'bid' | 'offer', order: ExpiredOrder): NewEvent<'order.expired'> {
  return {
    type: 'order.expired',
    aggregateType: orderType,
    aggregateId: order.id,
    payload: {
      orderType,
      orderId: order.id,
      organisationId: order.organisationId,
      market: order.market,
      gpus: order.gpus,
      ...(orderType === 'bid' ? { filledGpus: order.taken } : { leasedGpus: order.taken }),
      expiredGpus: order.gpus - order.taken,
    },
  };
}
