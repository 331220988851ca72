import { Injectable } from '@nestjs/common';
import { Tx } from '@/infra/prisma/tx';

// The writer of a lease's creation (docs/ARCHITECTURE.md "State machine homes"); its lifecycle
// is in LeasesRepository, settlement's own columns in SettlementRepository.

/** A lease a matching run's commit creates (matching's LeaseTerms fits it). */
export interface NewLease {
  readonly bidId: string;
  readonly offerId: string;
  readonly buyerOrganisationId: string;
  readonly providerOrganisationId: string;
  readonly siteId: string;
  readonly gpus: number;
  readonly pricePerGpuHour: bigint;
  /** The offer's own ask at match (docs/INFERENCE.md "Per-token billing"). */
  readonly providerAskPerGpuHour: bigint;
  readonly durationHours: number;
  readonly billingMode: 'RESERVED' | 'PAY_PER_USE';
  readonly feeBps: number;
  readonly payPerUseMinPercent: number;
  /** Epoch ms. */
  readonly provisioningDeadline: number;
  /** Epoch ms, or null: starts at once. */
  readonly startsAt: number | null;
  readonly reclaimable: boolean;
  readonly inference: {
    readonly modelId: string;
    readonly pricePerMillionTokens: bigint;
    readonly outputTokensPerSecond: number;
    readonly promptTokensPerSecond: number;
    readonly takeOrPayPercent: number;
  } | null;
}

export interface CreatedLease {
  id: string;
  bidId: string;
  offerId: string;
}

/** Lease creation: the SCHEDULED leases of a matching run's commit, in its transaction. */
@Injectable()
export class LeaseStateRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  /** One SCHEDULED lease per fill, stamped with the epoch of the commit that creates them. */
  async systemCreateLeases(
    marketId: string,
    epoch: bigint,
    leases: readonly NewLease[],
    now: Date,
  ): Promise<CreatedLease[]> {
    return this.tx.lease.createManyAndReturn({
      data: leases.map((lease) => ({
        marketId,
        offerId: lease.offerId,
        bidId: lease.bidId,
        providerOrganisationId: lease.providerOrganisationId,
        buyerOrganisationId: lease.buyerOrganisationId,
        siteId: lease.siteId,
        gpus: lease.gpus,
        pricePerGpuHour: lease.pricePerGpuHour,
        providerAskPerGpuHour: lease.providerAskPerGpuHour,
        durationHours: lease.durationHours,
        billingMode: lease.billingMode,
        feeBps: lease.feeBps,
        inferenceModelId: lease.inference?.modelId ?? null,
        inferencePricePerMillionTokens: lease.inference?.pricePerMillionTokens ?? null,
        inferenceOutputTokensPerSecond: lease.inference?.outputTokensPerSecond ?? null,
        inferencePromptTokensPerSecond: lease.inference?.promptTokensPerSecond ?? null,
        inferenceTakeOrPayPercent: lease.inference?.takeOrPayPercent ?? null,
        // Fixed here for the lease's life (docs/INFERENCE.md "Billing basis").
        billingBasis: lease.inference === null ? 'GPU_HOURS' : 'PER_TOKEN',
        payPerUseMinPercent: lease.payPerUseMinPercent,
        status: 'SCHEDULED',
        matchEpoch: epoch,
        provisioningDeadline: new Date(lease.provisioningDeadline),
        startsAt: lease.startsAt === null ? null : new Date(lease.startsAt),
        reclaimable: lease.reclaimable,
        createdAt: now,
        updatedAt: now,
      })),
      select: { id: true, bidId: true, offerId: true },
    });
  }
}
