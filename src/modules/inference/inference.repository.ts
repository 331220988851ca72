import { Injectable } from '@nestjs/common';
import type { Quantisation, ServingProfileReview } from '@/generated/prisma/enums';
import { afterPosition, NEWEST_FIRST, type KeysetPosition } from '@/infra/pagination/cursor-codec';
import { Tx } from '@/infra/prisma/tx';
import type { GpuSpec, ModelSpec } from './domain/reference-profile';

export interface InferenceModelRecord extends ModelSpec {
  id: string;
  slug: string;
  family: string;
  name: string;
  createdAt: Date;
}

export interface NewInferenceModel extends ModelSpec {
  slug: string;
  family: string;
  name: string;
  at: Date;
}

/** A market with its GPU's spec sheet, null when none is recorded. */
export interface MarketGpuRecord {
  id: string;
  slug: string;
  gpu: GpuSpec | null;
}

export interface ServingProfileRecord {
  id: string;
  offerId: string;
  organisationId: string;
  model: { id: string; slug: string };
  concurrency: number;
  promptTokensPerSecondPerGpu: number;
  outputTokensPerSecondPerGpu: number;
  ttftP50Ms: number;
  ttftP95Ms: number;
  referenceGpusPerReplica: number | null;
  referencePromptTokensPerSecondPerGpu: number | null;
  referenceOutputTokensPerSecondPerGpu: number | null;
  referenceTtftP50Ms: number | null;
  referenceTtftP95Ms: number | null;
  flags: string[];
  deliveredScales: number[];
  confirmedScale: number;
  review: ServingProfileReview;
  reviewedByUserId: string | null;
  reviewedAt: Date | null;
  reviewReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A serving profile's declared and reference figures with its review, as written. */
export interface ServingProfileWrite {
  modelId: string;
  concurrency: number;
  promptTokensPerSecondPerGpu: number;
  outputTokensPerSecondPerGpu: number;
  ttftP50Ms: number;
  ttftP95Ms: number;
  referenceGpusPerReplica: number | null;
  referencePromptTokensPerSecondPerGpu: number | null;
  referenceOutputTokensPerSecondPerGpu: number | null;
  referenceTtftP50Ms: number | null;
  referenceTtftP95Ms: number | null;
  flags: string[];
  review: ServingProfileReview;
}

const MODEL_SELECT = {
  id: true,
  slug: true,
  family: true,
  name: true,
  parameters: true,
  activeParameters: true,
  quantisation: true,
  bytesPerParameter: true,
  contextLength: true,
  kvCacheBytesPerToken: true,
  createdAt: true,
} as const;

const PROFILE_SELECT = {
  id: true,
  offerId: true,
  organisationId: true,
  model: { select: { id: true, slug: true } },
  concurrency: true,
  promptTokensPerSecondPerGpu: true,
  outputTokensPerSecondPerGpu: true,
  ttftP50Ms: true,
  ttftP95Ms: true,
  referenceGpusPerReplica: true,
  referencePromptTokensPerSecondPerGpu: true,
  referenceOutputTokensPerSecondPerGpu: true,
  referenceTtftP50Ms: true,
  referenceTtftP95Ms: true,
  flags: true,
  deliveredScales: true,
  confirmedScale: true,
  review: true,
  reviewedByUserId: true,
  reviewedAt: true,
  reviewReason: true,
  createdAt: true,
  updatedAt: true,
} as const;

// Parameter counts are bigint columns; every catalogue figure is far below 2^53.
const toModel = (row: {
  id: string;
  slug: string;
  family: string;
  name: string;
  parameters: bigint;
  activeParameters: bigint;
  quantisation: Quantisation;
  bytesPerParameter: number;
  contextLength: number;
  kvCacheBytesPerToken: number;
  createdAt: Date;
}): InferenceModelRecord => ({
  ...row,
  parameters: Number(row.parameters),
  activeParameters: Number(row.activeParameters),
});

/** The model catalogue, the markets' GPU figures and providers' serving profiles. */
@Injectable()
export class InferenceRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  async findModels(): Promise<InferenceModelRecord[]> {
    const rows = await this.tx.inferenceModel.findMany({ select: MODEL_SELECT, orderBy: { slug: 'asc' } });
    return rows.map(toModel);
  }

  async findModelsBySlugs(slugs: readonly string[]): Promise<InferenceModelRecord[]> {
    if (slugs.length === 0) return [];
    const rows = await this.tx.inferenceModel.findMany({
      where: { slug: { in: [...slugs] } },
      select: MODEL_SELECT,
    });
    return rows.map(toModel);
  }

  async adminCreateModel(model: NewInferenceModel): Promise<InferenceModelRecord> {
    const row = await this.tx.inferenceModel.create({
      data: {
        slug: model.slug,
        family: model.family,
        name: model.name,
        parameters: BigInt(model.parameters),
        activeParameters: BigInt(model.activeParameters),
        quantisation: model.quantisation,
        bytesPerParameter: model.bytesPerParameter,
        contextLength: model.contextLength,
        kvCacheBytesPerToken: model.kvCacheBytesPerToken,
        createdAt: model.at,
      },
      select: MODEL_SELECT,
    });
    return toModel(row);
  }

  /** Every market with its GPU figures (a market without a spec has `gpu: null`), by slug. */
  async findMarketGpus(): Promise<MarketGpuRecord[]> {
    const rows = await this.tx.market.findMany({
      select: {
        id: true,
        slug: true,
        memoryGb: true,
        gpuSpec: {
          select: { memoryBandwidthGbPerS: true, fp16Tflops: true, fp8Tflops: true, int8Tops: true },
        },
      },
      orderBy: { slug: 'asc' },
    });
    return rows.map((row) => ({
      id: row.id,
      slug: row.slug,
      gpu: row.gpuSpec === null ? null : { memoryGb: row.memoryGb, ...row.gpuSpec },
    }));
  }

  async findMarketGpu(slug: string): Promise<MarketGpuRecord | null> {
    const markets = await this.findMarketGpus();
    return markets.find((market) => market.slug === slug) ?? null;
  }

  /** The offer's profiles, oldest first; `organisationId` scopes them to the owner. */
  async findOfferProfiles(organisationId: string, offerId: string): Promise<ServingProfileRecord[]> {
    return this.tx.servingProfile.findMany({
      where: { organisationId, offerId },
      select: PROFILE_SELECT,
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
  }

  /**
   * The offer's market and the models it serves now: its usable profiles (not flagged, or
   * accepted, with a reference; matching's servingOf reads the same), for `offer.serving_changed`.
   */
  async findOfferServes(
    organisationId: string,
    offerId: string,
  ): Promise<{ market: string; serves: string[] } | null> {
    const offer = await this.tx.offer.findFirst({
      where: { id: offerId, organisationId },
      select: {
        market: { select: { slug: true } },
        servingProfiles: {
          // A reference is stored whole or not at all (profileWrite).
          where: { review: { in: ['NOT_FLAGGED', 'ACCEPTED'] }, referenceGpusPerReplica: { not: null } },
          select: { model: { select: { slug: true } } },
        },
      },
    });
    if (offer === null) return null;
    return {
      market: offer.market.slug,
      serves: offer.servingProfiles.map((profile) => profile.model.slug).sort(),
    };
  }

  /** Any offer's profiles with their review, for checking reported tokens (worker and usage checks). */
  async systemFindOfferRates(offerId: string): Promise<
    Array<{
      model: string;
      modelId: string;
      promptTokensPerSecondPerGpu: number;
      outputTokensPerSecondPerGpu: number;
      review: ServingProfileReview;
    }>
  > {
    const rows = await this.tx.servingProfile.findMany({
      where: { offerId },
      select: {
        model: { select: { slug: true, id: true } },
        promptTokensPerSecondPerGpu: true,
        outputTokensPerSecondPerGpu: true,
        review: true,
      },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    return rows.map((row) => ({
      model: row.model.slug,
      modelId: row.model.id,
      promptTokensPerSecondPerGpu: row.promptTokensPerSecondPerGpu,
      outputTokensPerSecondPerGpu: row.outputTokensPerSecondPerGpu,
      review: row.review,
    }));
  }

  /**
   * Serialises declarations for one offer until commit (two PUTs at once decide one after the
   * other), keyed by the owner too so nobody else's offer id takes the lock.
   */
  async lockOfferProfiles(organisationId: string, offerId: string): Promise<void> {
    await this.tx.$executeRaw`
      SELECT pg_advisory_xact_lock(hashtextextended(${`serving-profiles:${organisationId}:${offerId}`}, 0))`;
  }

  async createProfile(
    organisationId: string,
    offerId: string,
    profile: ServingProfileWrite,
    at: Date,
  ): Promise<void> {
    await this.tx.servingProfile.create({
      data: { ...profile, organisationId, offerId, createdAt: at, updatedAt: at },
    });
  }

  /**
   * A changed declaration: new figures and reference, a fresh review. `resetDelivery`: its
   * reference changed (another concurrency), so the delivered multiples of the old one are void.
   */
  async replaceProfile(
    organisationId: string,
    id: string,
    profile: ServingProfileWrite,
    at: Date,
    resetDelivery: boolean,
  ): Promise<void> {
    await this.tx.servingProfile.updateMany({
      where: { id, organisationId },
      data: {
        ...profile,
        ...(resetDelivery ? { deliveredScales: [], confirmedScale: 1 } : {}),
        reviewedByUserId: null,
        reviewedAt: null,
        reviewReason: null,
        updatedAt: at,
      },
    });
  }

  /**
   * The offer's profile of the model with its reference throughput and record of delivery, locked
   * until commit so two confirmed periods record one after the other; null when there is none.
   */
  async systemLockDelivery(
    offerId: string,
    modelId: string,
  ): Promise<{
    id: string;
    organisationId: string;
    referencePromptTokensPerSecondPerGpu: number | null;
    referenceOutputTokensPerSecondPerGpu: number | null;
    deliveredScales: number[];
    confirmedScale: number;
  } | null> {
    const rows = await this.tx.$queryRaw<
      Array<{
        id: string;
        organisation_id: string;
        reference_prompt: number | null;
        reference_output: number | null;
        delivered_scales: number[] | null;
        confirmed_scale: number;
      }>
    >`
      SELECT id::text, organisation_id::text, reference_prompt_tokens_per_second_per_gpu AS reference_prompt,
             reference_output_tokens_per_second_per_gpu AS reference_output,
             delivered_scales, confirmed_scale
      FROM serving_profiles WHERE offer_id = ${offerId}::uuid AND model_id = ${modelId}::uuid
      FOR UPDATE`;
    const row = rows[0];
    if (row === undefined) return null;
    return {
      id: row.id,
      organisationId: row.organisation_id,
      referencePromptTokensPerSecondPerGpu: row.reference_prompt,
      referenceOutputTokensPerSecondPerGpu: row.reference_output,
      deliveredScales: row.delivered_scales ?? [],
      confirmedScale: row.confirmed_scale,
    };
  }

  async systemRecordDelivery(
    id: string,
    record: { deliveredScales: readonly number[]; confirmedScale: number },
  ): Promise<void> {
    await this.tx.servingProfile.update({
      where: { id },
      data: { deliveredScales: [...record.deliveredScales], confirmedScale: record.confirmedScale },
    });
  }

  async deleteProfiles(organisationId: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.tx.servingProfile.deleteMany({ where: { organisationId, id: { in: [...ids] } } });
  }

  /** Profiles in one review state across every provider, newest first (admin read). */
  async adminListProfiles(
    review: ServingProfileReview,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<ServingProfileRecord[]> {
    return this.tx.servingProfile.findMany({
      where: { review, ...afterPosition(after) },
      select: PROFILE_SELECT,
      orderBy: NEWEST_FIRST,
      take: limit + 1,
    });
  }

  /** The profile locked until commit, so two admins' decisions serialise. */
  async adminLockProfile(id: string): Promise<ServingProfileRecord | null> {
    const locked = await this.tx.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM serving_profiles WHERE id = ${id}::uuid FOR UPDATE`;
    if (locked.length === 0) return null;
    return this.tx.servingProfile.findUnique({ where: { id }, select: PROFILE_SELECT });
  }

  async adminRecordDecision(
    id: string,
    decision: { review: ServingProfileReview; userId: string; reason: string; at: Date },
  ): Promise<ServingProfileRecord> {
    return this.tx.servingProfile.update({
      where: { id },
      data: {
        review: decision.review,
        reviewedByUserId: decision.userId,
        reviewedAt: decision.at,
        reviewReason: decision.reason,
        updatedAt: decision.at,
      },
      select: PROFILE_SELECT,
    });
  }
}
