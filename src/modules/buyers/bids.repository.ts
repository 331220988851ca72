import { Injectable } from '@nestjs/common';
import type { BillingMode, OrderStatus } from '@/generated/prisma/enums';
import { afterPosition, NEWEST_FIRST, type KeysetPosition } from '@/infra/pagination/cursor-codec';
import { LIVE_BID_STATUSES } from './domain/bid-rules';
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
}

export interface BidInferenceTerms {
  modelId: string;
  model: string;
  outputTokensPerSecond: number;
  promptTokensPerSecond: number;
  ttftP95Ms: number;
  maxPricePerMillionTokens: bigint;
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
  minProviderScore: true,
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
}

/** The terms of an inference bid; null on a GPU bid (the database keeps the set whole or empty). */
function inferenceOf(c: InferenceColumns): BidInferenceTerms | null {
  return c.inferenceModelId === null ||
    c.inferenceModelSlug === null ||
    c.inferenceOutputTokensPerSecond === null ||
    c.inferencePromptTokensPerSecond === null ||
    c.inferenceTtftP95Ms === null ||
    c.inferenceMaxPricePerMillionTokens === null
    ? null
    : {
        modelId: c.inferenceModelId,
        model: c.inferenceModelSlug,
        outputTokensPerSecond: c.inferenceOutputTokensPerSecond,
        promptTokensPerSecond: c.inferencePromptTokensPerSecond,
        ttftP95Ms: c.inferenceTtftP95Ms,
        maxPricePerMillionTokens: c.inferenceMaxPricePerMillionTokens,
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
    ...bid
  } = row;
  const inference = inferenceOf({
    inferenceModelId,
    inferenceModelSlug: inferenceModel?.slug ?? null,
    inferenceOutputTokensPerSecond,
    inferencePromptTokensPerSecond,
    inferenceTtftP95Ms,
    inferenceMaxPricePerMillionTokens,
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

  /** Live bids per organisation, as this statement's snapshot sees them; absent = none. */
  async countLiveBids(organisationIds: readonly string[]): Promise<Map<string, number>> {
    const rows = await this.tx.$queryRaw<Array<{ organisation_id: string; n: number }>>`
      SELECT organisation_id::text, count(*)::int AS n FROM bids
      WHERE organisation_id = ANY(${organisationIds}::uuid[])
        AND status = ANY(${[...LIVE_BID_STATUSES]}::"OrderStatus"[])
      GROUP BY organisation_id`;
    return new Map(rows.map((row) => [row.organisation_id, row.n]));
  }

  /** Inserts bids already decided OPEN (a group commit checked market, cap and funds), in one statement. */
  async insertBids(bids: ReadonlyArray<BidRecord & { marketId: string }>): Promise<void> {
    if (bids.length === 0) return;
    await this.tx.$executeRaw`
      INSERT INTO bids (id, organisation_id, market_id, gpus, filled_gpus, max_price_per_gpu_hour,
                        duration_hours, provinces, min_gpus_per_site, partial_allowed, billing_mode,
                        expires_at, status, seq, created_at, updated_at, inference_model_id,
                        inference_output_tokens_per_second, inference_prompt_tokens_per_second,
                        inference_ttft_p95_ms, inference_max_price_per_million_tokens, min_provider_score)
      SELECT b.id, b.organisation_id, b.market_id, b.gpus, 0, b.max_price, b.duration_hours,
             string_to_array(b.provinces, ','), b.min_gpus_per_site, b.partial_allowed,
             b.billing_mode::"BillingMode", b.expires_at, 'OPEN', b.seq, b.created_at, b.created_at,
             b.model_id, b.output_tps, b.prompt_tps, b.ttft_p95_ms, b.max_price_mtok, b.min_provider_score
      FROM unnest(${bids.map((b) => b.id)}::uuid[], ${bids.map((b) => b.organisationId)}::uuid[],
                  ${bids.map((b) => b.marketId)}::uuid[], ${bids.map((b) => b.gpus)}::int[],
                  ${bids.map((b) => b.maxPricePerGpuHour.toString())}::bigint[],
                  ${bids.map((b) => b.durationHours)}::int[], ${bids.map((b) => b.provinces.join(','))}::text[],
                  ${bids.map((b) => b.minGpusPerSite)}::int[], ${bids.map((b) => b.partialAllowed)}::boolean[],
                  ${bids.map((b) => b.billingMode)}::text[],
                  ${bids.map((b) => b.expiresAt.toISOString())}::timestamptz[],
                  ${bids.map((b) => b.seq.toString())}::bigint[],
                  ${bids.map((b) => b.createdAt.toISOString())}::timestamptz[],
                  ${bids.map((b) => b.inference?.modelId ?? null)}::uuid[],
                  ${bids.map((b) => b.inference?.outputTokensPerSecond ?? null)}::int[],
                  ${bids.map((b) => b.inference?.promptTokensPerSecond ?? null)}::int[],
                  ${bids.map((b) => b.inference?.ttftP95Ms ?? null)}::int[],
                  ${bids.map((b) => b.inference?.maxPricePerMillionTokens.toString() ?? null)}::bigint[],
                  ${bids.map((b) => b.minProviderScore)}::float8[])
        AS b(id, organisation_id, market_id, gpus, max_price, duration_hours, provinces,
             min_gpus_per_site, partial_allowed, billing_mode, expires_at, seq, created_at,
             model_id, output_tps, prompt_tps, ttft_p95_ms, max_price_mtok, min_provider_score)`;
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

  /**
   * Moves the live ones of these bids to CANCELLED, each only if it is its organisation's, in one
   * statement; returns the `ownedKey`s it moved (a missing, foreign or terminal bid is not).
   */
  async cancelBids(
    cancels: ReadonlyArray<{ organisationId: string; bidId: string; at: Date }>,
  ): Promise<Set<string>> {
    if (cancels.length === 0) return new Set();
    const rows = await this.tx.$queryRaw<Array<{ organisation_id: string; id: string }>>`
      UPDATE bids b SET status = 'CANCELLED', cancelled_at = c.at, updated_at = c.at
      FROM (SELECT DISTINCT ON (id, organisation_id) * FROM unnest(
              ${cancels.map((c) => c.bidId)}::uuid[], ${cancels.map((c) => c.organisationId)}::uuid[],
              ${cancels.map((c) => c.at.toISOString())}::timestamptz[]) AS c(id, organisation_id, at)) c
      WHERE b.id = c.id AND b.organisation_id = c.organisation_id
        AND b.status = ANY(${[...LIVE_BID_STATUSES]}::"OrderStatus"[])
      RETURNING b.organisation_id::text AS organisation_id, b.id::text`;
    return new Set(rows.map((row) => ownedKey(row.organisation_id, row.id)));
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
             b.min_provider_score AS "minProviderScore"
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
          ...bid
        } = row;
        const inference = inferenceOf({
          inferenceModelId,
          inferenceModelSlug,
          inferenceOutputTokensPerSecond,
          inferencePromptTokensPerSecond,
          inferenceTtftP95Ms,
          inferenceMaxPricePerMillionTokens,
        });
        return [
          ownedKey(bid.organisationId, bid.id),
          { ...bid, inference, market: { slug, currency, currencyScale } },
        ];
      }),
    );
  }

  /**
   * Moves every live bid of the organisation to CANCELLED (suspension) and returns them as
   * cancelled. At most the live-order cap of rows, so one statement.
   */
  async cancelLiveBids(organisationId: string, at: Date): Promise<BidRecord[]> {
    const cancelled = await this.tx.$queryRaw<Array<{ id: string }>>`
      UPDATE bids SET status = 'CANCELLED', cancelled_at = ${at}, updated_at = ${at}
      WHERE organisation_id = ${organisationId}::uuid
        AND status = ANY(${[...LIVE_BID_STATUSES]}::"OrderStatus"[])
      RETURNING id`;
    if (cancelled.length === 0) return [];
    const rows = await this.tx.bid.findMany({
      where: { organisationId, id: { in: cancelled.map((row) => row.id) } },
      select: BID_SELECT,
      orderBy: { seq: 'asc' },
    });
    return rows.map(toRecord);
  }
}
