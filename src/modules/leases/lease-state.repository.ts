import { Injectable } from '@nestjs/common';
import { Tx } from '@/infra/prisma/tx';
import type { OutboxInsertion } from '@/modules/events/outbox.service';

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

  /**
   * One SCHEDULED lease per fill, stamped with the epoch of the commit that creates them, and the
   * commit's outbox events (`events`, a CTE of the same statement), in one statement: one round
   * trip of the run's commit. Raw SQL: every matching commit runs it, and Prisma's
   * `createManyAndReturn` compiled the whole row set on each call. Arrays, not a VALUES list, so
   * the text is the same for any number of leases and is prepared once; a nullable column's array
   * holds '' for null. `ids[i]` is `leases[i]`'s id, chosen by the caller (uuidV7) so that the
   * events of the same statement can name it.
   */
  async systemCreateLeases(
    marketId: string,
    epoch: bigint,
    ids: readonly string[],
    leases: readonly NewLease[],
    now: Date,
    events: OutboxInsertion,
  ): Promise<CreatedLease[]> {
    const column = <T>(of: (lease: NewLease) => T): T[] => leases.map(of);
    const text = (value: bigint | number | null | undefined): string =>
      value === null || value === undefined ? '' : value.toString();
    return this.tx.$queryRaw<CreatedLease[]>`
      WITH announced AS (${events.sql})
      INSERT INTO leases (
        id, market_id, offer_id, bid_id, provider_organisation_id, buyer_organisation_id, site_id,
        gpus, price_per_gpu_hour, provider_ask_per_gpu_hour, duration_hours, billing_mode, fee_bps,
        inference_model_id, inference_price_per_million_tokens, inference_output_tokens_per_second,
        inference_prompt_tokens_per_second, inference_take_or_pay_percent, billing_basis,
        pay_per_use_min_percent, status, match_epoch, provisioning_deadline, starts_at, reclaimable,
        created_at, updated_at)
      SELECT l.id, ${marketId}::uuid, l.offer_id, l.bid_id, l.provider_organisation_id,
             l.buyer_organisation_id, l.site_id, l.gpus, l.price_per_gpu_hour::bigint,
             l.provider_ask_per_gpu_hour::bigint, l.duration_hours, l.billing_mode::"BillingMode", l.fee_bps,
             nullif(l.inference_model_id, '')::uuid, nullif(l.inference_price, '')::bigint,
             nullif(l.inference_output, '')::int, nullif(l.inference_prompt, '')::int,
             nullif(l.inference_take_or_pay, '')::int,
             (CASE WHEN l.inference_model_id = '' THEN 'GPU_HOURS' ELSE 'PER_TOKEN' END)::"LeaseBillingBasis",
             l.pay_per_use_min_percent, 'SCHEDULED'::"LeaseStatus", ${epoch}, l.provisioning_deadline,
             nullif(l.starts_at, '')::timestamptz, l.reclaimable, ${now}, ${now}
      FROM unnest(
        ${ids}::uuid[], ${column((l) => l.offerId)}::uuid[],
        ${column((l) => l.bidId)}::uuid[], ${column((l) => l.providerOrganisationId)}::uuid[],
        ${column((l) => l.buyerOrganisationId)}::uuid[], ${column((l) => l.siteId)}::uuid[],
        ${column((l) => l.gpus)}::int[], ${column((l) => l.pricePerGpuHour.toString())}::text[],
        ${column((l) => l.providerAskPerGpuHour.toString())}::text[], ${column((l) => l.durationHours)}::int[],
        ${column((l) => l.billingMode)}::text[], ${column((l) => l.feeBps)}::int[],
        ${column((l) => l.inference?.modelId ?? '')}::text[],
        ${column((l) => text(l.inference?.pricePerMillionTokens))}::text[],
        ${column((l) => text(l.inference?.outputTokensPerSecond))}::text[],
        ${column((l) => text(l.inference?.promptTokensPerSecond))}::text[],
        ${column((l) => text(l.inference?.takeOrPayPercent))}::text[],
        ${column((l) => l.payPerUseMinPercent)}::int[],
        ${column((l) => new Date(l.provisioningDeadline).toISOString())}::timestamptz[],
        ${column((l) => (l.startsAt === null ? '' : new Date(l.startsAt).toISOString()))}::text[],
        ${column((l) => l.reclaimable)}::boolean[])
        AS l(id, offer_id, bid_id, provider_organisation_id, buyer_organisation_id, site_id, gpus,
             price_per_gpu_hour, provider_ask_per_gpu_hour, duration_hours, billing_mode, fee_bps,
             inference_model_id, inference_price, inference_output, inference_prompt,
             inference_take_or_pay, pay_per_use_min_percent, provisioning_deadline, starts_at, reclaimable)
      RETURNING id, bid_id AS "bidId", offer_id AS "offerId"`;
  }
}
