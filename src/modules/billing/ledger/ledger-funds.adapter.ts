import { Injectable } from '@nestjs/common';
import { FundsPort, type BidRelease, type LeaseHold } from '@/modules/markets/domain/funds.port';
import { LedgerService } from './ledger.service';

/** Matching's funds port, served by the ledger. */
@Injectable()
export class LedgerFundsAdapter extends FundsPort {
  constructor(private readonly ledger: LedgerService) {
    super();
  }

  async convertBidHolds(leases: readonly LeaseHold[]): Promise<void> {
    await this.ledger.convertToLeaseHolds(
      leases.map((lease) => ({
        leaseId: lease.leaseId,
        bidId: lease.bidId,
        organisationId: lease.buyerOrganisationId,
        currency: lease.currency,
        gpus: lease.gpus,
        durationHours: lease.durationHours,
        bidMaxPricePerGpuHour: lease.bidMaxPricePerGpuHour,
        tradePricePerGpuHour: lease.pricePerGpuHour,
      })),
    );
  }

  async releaseBidHolds(bids: readonly BidRelease[]): Promise<void> {
    await this.ledger.releaseBidFunds(
      bids.map((bid) => ({ ...bid, organisationId: bid.buyerOrganisationId })),
    );
  }
}
