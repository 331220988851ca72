/** A lease a run created, with what its buyer will pay at most for it. */
export interface LeaseHold {
  leaseId: string;
  bidId: string;
  buyerOrganisationId: string;
  currency: string;
  gpus: number;
  /** The trade price, which the lease holds at. */
  pricePerGpuHour: bigint;
  /** The bid's cap, which its hold was taken at. */
  bidMaxPricePerGpuHour: bigint;
  durationHours: number;
}

/** A bid that stopped trading (cancelled or expired) with GPUs unfilled. */
export interface BidRelease {
  bidId: string;
  buyerOrganisationId: string;
  currency: string;
  maxPricePerGpuHour: bigint;
  durationHours: number;
  unfilledGpus: number;
  reason: 'cancelled' | 'expired';
}

/**
 * How matching moves buyers' funds (DESIGN, Funds), called inside the transaction of the change
 * so money and orders commit together. At match the bid's hold for the filled GPUs becomes the
 * leases' holds at the trade price and the difference is released; at expiry the rest of the
 * bid's hold is released. Bound in one place (the composition root, AppModule) to the ledger's adapter.
 */
export abstract class FundsPort {
  abstract convertBidHolds(leases: readonly LeaseHold[]): Promise<void>;
  abstract releaseBidHolds(bids: readonly BidRelease[]): Promise<void>;
}
