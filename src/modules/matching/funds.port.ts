/** A lease a run created, with what its buyer will pay at most for it. */
export interface LeaseHold {
  leaseId: string;
  bidId: string;
  buyerOrganisationId: string;
  gpus: number;
  pricePerGpuHour: bigint;
  durationHours: number;
}

/** A bid that stopped trading with GPUs unfilled (expired). */
export interface BidRelease {
  bidId: string;
  buyerOrganisationId: string;
  unfilledGpus: number;
}

/**
 * How matching moves buyers' funds (DESIGN, Funds), called inside the transaction of the change
 * so money and orders commit together. At match the bid's hold for the filled GPUs becomes the
 * leases' holds at the trade price and the difference is released; at expiry the rest of the
 * bid's hold is released. Bound in one place (MatchingWorkerModule); the ledger implements it.
 */
export abstract class FundsPort {
  abstract convertBidHolds(leases: readonly LeaseHold[]): Promise<void>;
  abstract releaseBidHolds(bids: readonly BidRelease[]): Promise<void>;
}
