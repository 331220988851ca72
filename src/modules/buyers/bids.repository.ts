import { Injectable } from '@nestjs/common';
import type { BillingMode, OrderStatus } from '@/generated/prisma/enums';
import { afterPosition, NEWEST_FIRST, type KeysetPosition } from '@/infra/pagination/cursor-codec';
import { Tx } from '@/infra/prisma/tx';
import type { Prisma } from '@/generated/prisma/client';
import { ownedKey } from '@/shared/owned-key';

export interface BidRecord {
  id: string;
  organisationId: string;
  market: { slug: string; currency: string; currencyScale: number };
  gpus: number;
  filledGpus: number;
  maxPricePerGpuHour: bigint;
  durationHours: number;
  provinces: string[];
  minGpusPerSite: number;
  partialAllowed: boolean;
  billingMode: BillingMode;
  expiresAt: Date;
  status: OrderStatus;
  seq: bigint;
  createdAt: Date;
  updatedAt: Date;
  cancelledAt: Date | null;
  /** An inference bid's own terms (docs/INFERENCE.md "Inference bids"); null on a GPU bid. */
  inference: BidInferenceTerms | null;
  /** The lowest provider reliability score the bid accepts; null: any. */
  minProviderScore: number | null;
  /** Its automatic re-placement plan (docs/LEASES.md "Re-placing a bid automatically"); null: none. */
  replacementPlanId: string | null;
  /** A re-placement: the lease whose end placed it. */
  replacesLeaseId: string | null;
  /** Accepts being reclaimed at an idle-window offer's notice (docs/LEASES.md "Idle windows"). */
  interruptible: boolean;
}

/** A plan as the group commit reads it, locked, and moves it. */
export interface ReplacementPlanRecord {
  id: string;
  organisationId: string;
  currency: string;
  maxCount: number;
  budget: bigint;
  usedCount: number;
  usedBudget: bigint;
  stoppedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The ended lease a re-placement is made from, with the bid that made it and its plan. */
export interface ReplacementSource {
  leaseId: string;
  leaseGpus: number;
  /** Why it ended: null when it ran to its term, or the buyer's own early end (`buyerEnded`). */
  terminationReason: string | null;
  buyerEnded: boolean;
  bid: BidRecord & { marketId: string };
  plan: ReplacementPlanRecord;
  /** A bid that re-placed this lease already (a repeated delivery). */
  replacedBy: string | null;
}

export interface BidInferenceTerms {
  modelId: string;
  model: string;
  outputTokensPerSecond: number;
  promptTokensPerSecond: number;
  ttftP95Ms: number;
  maxPricePerMillionTokens: bigint;
  /** Per-token billing's take-or-pay share, 0..100 (docs/INFERENCE.md "Per-token billing"). */
  takeOrPayPercent: number;
  /** Replica size, the bid's lot (docs/MATCHING.md "Lots"); null on a bid placed before lots. */
  gpusPerReplica: number | null;
}

export interface NewBid {
  marketId: string;
  /** The market as the caller resolved it; echoed into the record without reading it back. */
  market: BidRecord['market'];
  gpus: number;
  maxPricePerGpuHour: bigint;
  durationHours: number;
  provinces: string[];
  minGpusPerSite: number;
  partialAllowed: boolean;
  billingMode: BillingMode;
  expiresAt: Date;
  inference: BidInferenceTerms | null;
  minProviderScore: number | null;
  /**
   * Automatic re-placement: a new plan asked with the bid (`plan`), or a re-placement under an
   * existing one (`replacesLeaseId`); null: neither.
   */
  replacement: {
    planId: string;
    plan: { maxCount: number; budget: bigint } | null;
    replacesLeaseId: string | null;
  } | null;
  interruptible: boolean;
  seq: bigint;
  at: Date;
}

export interface BidFilter {
  marketId?: string;
  status?: OrderStatus;
}

const BID_SELECT = {
  id: true,
  organisationId: true,
  market: { select: { slug: true, currency: true, currencyScale: true } },
  gpus: true,
  filledGpus: true,
  maxPricePerGpuHour: true,
  durationHours: true,
  provinces: true,
  minGpusPerSite: true,
  partialAllowed: true,
  billingMode: true,
  expiresAt: true,
  status: true,
  seq: true,
  createdAt: true,
  updatedAt: true,
  cancelledAt: true,
  inferenceModelId: true,
  inferenceModel: { select: { slug: true } },
  inferenceOutputTokensPerSecond: true,
  inferencePromptTokensPerSecond: true,
  inferenceTtftP95Ms: true,
  inferenceMaxPricePerMillionTokens: true,
  inferenceTakeOrPayPercent: true,
  inferenceGpusPerReplica: true,
  minProviderScore: true,
  replacementPlanId: true,
  replacesLeaseId: true,
  interruptible: true,
} as const;

type BidRow = Prisma.BidGetPayload<{ select: typeof BID_SELECT }>;

/** A bid's inference columns as read, the model by its slug. */
interface InferenceColumns {
  inferenceModelId: string | null;
  inferenceModelSlug: string | null;
  inferenceOutputTokensPerSecond: number | null;
  inferencePromptTokensPerSecond: number | null;
  inferenceTtftP95Ms: number | null;
  inferenceMaxPricePerMillionTokens: bigint | null;
  inferenceTakeOrPayPercent: number | null;
  inferenceGpusPerReplica: number | null;
}

/** The terms of an inference bid; null on a GPU bid (the database keeps the set whole or empty). */
function inferenceOf(c: InferenceColumns): BidInferenceTerms | null {
  return c.inferenceModelId === null ||
    c.inferenceModelSlug === null ||
    c.inferenceOutputTokensPerSecond === null ||
    c.inferencePromptTokensPerSecond === null ||
    c.inferenceTtftP95Ms === null ||
    c.inferenceMaxPricePerMillionTokens === null ||
    c.inferenceTakeOrPayPercent === null
    ? null
    : {
        modelId: c.inferenceModelId,
        model: c.inferenceModelSlug,
        outputTokensPerSecond: c.inferenceOutputTokensPerSecond,
        promptTokensPerSecond: c.inferencePromptTokensPerSecond,
        ttftP95Ms: c.inferenceTtftP95Ms,
        maxPricePerMillionTokens: c.inferenceMaxPricePerMillionTokens,
        takeOrPayPercent: c.inferenceTakeOrPayPercent,
        gpusPerReplica: c.inferenceGpusPerReplica,
      };
}

function toRecord(row: BidRow): BidRecord {
  const {
    inferenceModelId,
    inferenceModel,
    inferenceOutputTokensPerSecond,
    inferencePromptTokensPerSecond,
    inferenceTtftP95Ms,
    inferenceMaxPricePerMillionTokens,
    inferenceTakeOrPayPercent,
    inferenceGpusPerReplica,
    ...bid
  } = row;
  const inference = inferenceOf({
    inferenceModelId,
    inferenceModelSlug: inferenceModel?.slug ?? null,
    inferenceOutputTokensPerSecond,
    inferencePromptTokensPerSecond,
    inferenceTtftP95Ms,
    inferenceMaxPricePerMillionTokens,
    inferenceTakeOrPayPercent,
    inferenceGpusPerReplica,
  });
  return { ...bid, inference };
}

/** Buyers' bids. Every method takes the owning organisation's id. */
@Injectable()
export class BidsRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  async listBids(
    organisationId: string,
    filter: BidFilter,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<BidRecord[]> {
    const rows = await this.tx.bid.findMany({
      where: {
        organisationId,
        ...(filter.marketId === undefined ? {} : { marketId: filter.marketId }),
        ...(filter.status === undefined ? {} : { status: filter.status }),
        ...afterPosition(after),
      },
      select: BID_SELECT,
      orderBy: NEWEST_FIRST,
      take: limit + 1,
    });
    return rows.map(toRecord);
  }

  async findBid(organisationId: string, bidId: string): Promise<BidRecord | null> {
    const row = await this.tx.bid.findFirst({ where: { id: bidId, organisationId }, select: BID_SELECT });
    return row === null ? null : toRecord(row);
  }

  /** These bids as they are now, each only if it is its organisation's; by `ownedKey`; missing ones absent. */
  async findBids(
    wanted: ReadonlyArray<{ organisationId: string; bidId: string }>,
  ): Promise<Map<string, BidRecord>> {
    if (wanted.length === 0) return new Map();
    const rows = await this.tx.$queryRaw<
      Array<
        Omit<BidRecord, 'market' | 'inference'> &
          InferenceColumns & { slug: string; currency: string; currencyScale: number }
      >
    >`
      SELECT b.id::text, b.organisation_id::text AS "organisationId", m.slug, m.currency,
             m.currency_scale AS "currencyScale", b.gpus, b.filled_gpus AS "filledGpus",
             b.max_price_per_gpu_hour AS "maxPricePerGpuHour", b.duration_hours AS "durationHours",
             b.provinces, b.min_gpus_per_site AS "minGpusPerSite", b.partial_allowed AS "partialAllowed",
             b.billing_mode::text AS "billingMode", b.expires_at AS "expiresAt", b.status::text AS status,
             b.seq, b.created_at AS "createdAt", b.updated_at AS "updatedAt", b.cancelled_at AS "cancelledAt",
             b.inference_model_id::text AS "inferenceModelId", im.slug AS "inferenceModelSlug",
             b.inference_output_tokens_per_second AS "inferenceOutputTokensPerSecond",
             b.inference_prompt_tokens_per_second AS "inferencePromptTokensPerSecond",
             b.inference_ttft_p95_ms AS "inferenceTtftP95Ms",
             b.inference_max_price_per_million_tokens AS "inferenceMaxPricePerMillionTokens",
             b.inference_take_or_pay_percent AS "inferenceTakeOrPayPercent",
             b.inference_gpus_per_replica AS "inferenceGpusPerReplica",
             b.min_provider_score AS "minProviderScore",
             b.replacement_plan_id::text AS "replacementPlanId", b.replaces_lease_id::text AS "replacesLeaseId",
             b.interruptible
      FROM bids b
      JOIN unnest(${wanted.map((w) => w.bidId)}::uuid[], ${wanted.map((w) => w.organisationId)}::uuid[])
        AS w(id, organisation_id) ON b.id = w.id AND b.organisation_id = w.organisation_id
      JOIN markets m ON m.id = b.market_id
      LEFT JOIN inference_models im ON im.id = b.inference_model_id`;
    return new Map(
      rows.map((row) => {
        const {
          slug,
          currency,
          currencyScale,
          inferenceModelId,
          inferenceModelSlug,
          inferenceOutputTokensPerSecond,
          inferencePromptTokensPerSecond,
          inferenceTtftP95Ms,
          inferenceMaxPricePerMillionTokens,
          inferenceTakeOrPayPercent,
          inferenceGpusPerReplica,
          ...bid
        } = row;
        const inference = inferenceOf({
          inferenceModelId,
          inferenceModelSlug,
          inferenceOutputTokensPerSecond,
          inferencePromptTokensPerSecond,
          inferenceTtftP95Ms,
          inferenceMaxPricePerMillionTokens,
          inferenceTakeOrPayPercent,
          inferenceGpusPerReplica,
        });
        return [
          ownedKey(bid.organisationId, bid.id),
          { ...bid, inference, market: { slug, currency, currencyScale } },
        ];
      }),
    );
  }

  /** The plan of one of the organisation's bids, or null (no such bid, or no plan). */
  async findPlanOfBid(
    organisationId: string,
    bidId: string,
  ): Promise<(ReplacementPlanRecord & { currencyScale: number }) | null> {
    const bid = await this.tx.bid.findFirst({
      where: { id: bidId, organisationId },
      select: { replacementPlan: true, market: { select: { currencyScale: true } } },
    });
    return bid?.replacementPlan ? { ...bid.replacementPlan, currencyScale: bid.market.currencyScale } : null;
  }

  /** Stops a plan of the organisation (no further re-placement); the plan after, or null if not its. */
  async stopPlan(organisationId: string, planId: string, at: Date): Promise<ReplacementPlanRecord | null> {
    await this.tx.bidReplacementPlan.updateMany({
      where: { id: planId, organisationId, stoppedAt: null },
      data: { stoppedAt: at, updatedAt: at },
    });
    return this.tx.bidReplacementPlan.findFirst({ where: { id: planId, organisationId } });
  }

  /**
   * What re-placing a closed lease's bid needs, read across tenants (the worker's): the lease,
   * its bid and the bid's plan; null when the bid has no plan or the lease is not closed.
   */
  async systemFindReplacementSource(leaseId: string): Promise<ReplacementSource | null> {
    const rows = await this.tx.$queryRaw<
      Array<{
        lease_gpus: number;
        termination_reason: string | null;
        buyer_ended: boolean;
        bid_id: string;
        organisation_id: string;
        plan_id: string;
        replaced_by: string | null;
      }>
    >`
      SELECT l.gpus AS lease_gpus, l.termination_reason::text AS termination_reason,
             -- A buyer's end of an ACTIVE lease moves its end to a period's end: ENDED before its term.
             (l.termination_reason = 'BUYER_REQUEST'
              OR (l.status = 'ENDED' AND l.ended_at < l.started_at + make_interval(hours => l.duration_hours)))
               AS buyer_ended,
             b.id::text AS bid_id, b.organisation_id::text AS organisation_id, b.replacement_plan_id::text AS plan_id,
             (SELECT r.id::text FROM bids r WHERE r.replaces_lease_id = l.id) AS replaced_by
      FROM leases l JOIN bids b ON b.id = l.bid_id
      WHERE l.id = ${leaseId}::uuid AND l.status IN ('ENDED', 'TERMINATED') AND b.replacement_plan_id IS NOT NULL`;
    const row = rows[0];
    if (row === undefined) return null;
    const bids = await this.findBids([{ organisationId: row.organisation_id, bidId: row.bid_id }]);
    const bid = bids.get(ownedKey(row.organisation_id, row.bid_id));
    const plan = await this.tx.bidReplacementPlan.findUnique({ where: { id: row.plan_id } });
    const market = await this.tx.bid.findUnique({ where: { id: row.bid_id }, select: { marketId: true } });
    if (bid === undefined || plan === null || market === null) return null;
    return {
      leaseId,
      leaseGpus: row.lease_gpus,
      terminationReason: row.termination_reason,
      buyerEnded: row.buyer_ended,
      bid: { ...bid, marketId: market.marketId },
      plan,
      replacedBy: row.replaced_by,
    };
  }

  /** Bids of the organisation by id, oldest first (those a suspension just cancelled). */
  async findBidsByIds(organisationId: string, ids: readonly string[]): Promise<BidRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.tx.bid.findMany({
      where: { organisationId, id: { in: [...ids] } },
      select: BID_SELECT,
      orderBy: { seq: 'asc' },
    });
    return rows.map(toRecord);
  }
}
