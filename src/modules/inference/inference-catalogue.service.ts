import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { AuditService } from '@/infra/audit/audit.service';
import { MARKET_SLUG_PATTERN } from '@/infra/http/field-validators';
import { DomainError } from '@/shared/domain-error';
import { deriveReferenceProfile, type Quantisation } from './domain/reference-profile';
import {
  deliveredScale,
  recordDelivery,
  type DeliveredCounts,
  type DeliveryRecord,
} from './domain/delivery-confirmation';
import { servingCapacity, type ServingCapacity } from './domain/serving-capacity';
import type {
  CreateInferenceModelDto,
  InferenceModelListResponse,
  InferenceModelResponse,
} from './dto/inference-model.dto';
import type {
  ReferenceProfileListResponse,
  ReferenceProfileResponse,
  ReferenceProfilesQuery,
} from './dto/reference-profile.dto';
import { InferenceMapper } from './inference.mapper';
import { InferenceRepository, type InferenceModelRecord, type MarketGpuRecord } from './inference.repository';
import { Clock } from '@/infra/clock/clock';
import { OutboxService } from '@/modules/events/outbox.service';
import { recordServingChanged } from './serving-changed';

/** Concurrency the public reference profiles are stated at when the query names none. */
export const DEFAULT_REFERENCE_CONCURRENCY = 8;

/** A model as another module names it. */
export interface InferenceModelRef {
  id: string;
  slug: string;
  family: string;
}

/** Bytes per parameter a model added without one gets: the weight format's own width. */
const DEFAULT_BYTES_PER_PARAMETER: Record<Quantisation, number> = {
  BF16: 2,
  FP16: 2,
  FP8: 1,
  INT8: 1,
  INT4: 0.5,
};

/**
 * The model catalogue (read by anyone, extended by admins, audited) and the reference profiles
 * derived from it for every market with GPU figures (docs/INFERENCE.md).
 */
@Injectable()
export class InferenceCatalogueService {
  constructor(
    private readonly inference: InferenceRepository,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly outbox: OutboxService,
  ) {}

  /** The catalogue as inference bids name it: id, slug and family of every model. */
  async modelRefs(): Promise<InferenceModelRef[]> {
    const models = await this.inference.findModels();
    return models.map(({ id, slug, family }) => ({ id, slug, family }));
  }

  /** The model an inference bid names in `field`: 400 if unknown. */
  async findModelRef(slug: string, field = 'inference.model'): Promise<InferenceModelRef> {
    const [model] = await this.inference.findModelsBySlugs([slug]);
    if (!model)
      throw new DomainError('VALIDATION_FAILED', `${field} does not name a known model.`, { field });
    return { id: model.id, slug: model.slug, family: model.family };
  }

  async listModels(): Promise<InferenceModelListResponse> {
    const models = await this.inference.findModels();
    return { data: models.map((model) => InferenceMapper.model(model)) };
  }

  /** Adds a model; a slug already in the catalogue is a 409. Audited as `inference_model.create`. */
  @Transactional()
  async createModel(adminUserId: string, input: CreateInferenceModelDto): Promise<InferenceModelResponse> {
    const quantisation = input.quantisation as Quantisation;
    const activeParameters = input.activeParameters ?? input.parameters;
    if (activeParameters > input.parameters) {
      throw new DomainError('VALIDATION_FAILED', 'activeParameters must not exceed parameters.', {
        field: 'activeParameters',
      });
    }
    const [existing] = await this.inference.findModelsBySlugs([input.slug]);
    if (existing) throw new DomainError('CONFLICT', `A model with slug ${input.slug} already exists.`);
    const model = await this.inference.adminCreateModel({
      slug: input.slug,
      family: input.family,
      name: input.name,
      parameters: input.parameters,
      activeParameters,
      quantisation,
      bytesPerParameter: input.bytesPerParameter ?? DEFAULT_BYTES_PER_PARAMETER[quantisation],
      contextLength: input.contextLength,
      kvCacheBytesPerToken: input.kvCacheBytesPerToken,
      at: this.clock.now(),
    });
    const response = InferenceMapper.model(model);
    const { createdAt: _createdAt, ...after } = response;
    await this.audit.record(
      adminUserId,
      'inference_model.create',
      { type: 'inference_model', id: model.id },
      {
        model: model.slug,
        after,
      },
    );
    return response;
  }

  /** Reference profiles per model x market at one concurrency; an unknown filter is a 400 naming it. */
  async listReferenceProfiles(query: ReferenceProfilesQuery): Promise<ReferenceProfileListResponse> {
    const concurrency = query.concurrency ?? DEFAULT_REFERENCE_CONCURRENCY;
    const models =
      query.model === undefined ? await this.inference.findModels() : [await this.model(query.model)];
    const markets = await this.inference.findMarketGpus();
    const chosen =
      query.market === undefined ? markets : markets.filter((market) => market.slug === query.market);
    if (query.market !== undefined && (chosen.length === 0 || !MARKET_SLUG_PATTERN.test(query.market))) {
      throw new DomainError('VALIDATION_FAILED', 'market does not name a known market.', { field: 'market' });
    }
    const data = models.flatMap((model) =>
      chosen.map((market) => referenceEntry(model, market, concurrency)),
    );
    return { data };
  }

  /**
   * What an offer's GPUs can serve, for checking token counts reported on its leases: its usable
   * declarations, else the reference ceilings of its market (docs/USAGE.md). `modelId`: the
   * lease's model (an inference lease), whose profile alone bounds it; null: every model the
   * offer serves (a GPU lease may run any).
   */
  async servingCapacity(
    market: string,
    offerId: string,
    modelId: string | null = null,
  ): Promise<ServingCapacity> {
    const declared = (await this.inference.systemFindOfferRates(offerId)).filter(
      (rate) => modelId === null || rate.modelId === modelId,
    );
    const gpu = (await this.inference.findMarketGpu(market))?.gpu ?? null;
    // Without a usable declaration (none, or only flagged or rejected ones) the reference bounds it.
    const usable = declared.some((rate) => rate.review === 'NOT_FLAGGED' || rate.review === 'ACCEPTED');
    const models =
      usable || gpu === null
        ? []
        : (await this.inference.findModels()).filter((model) => modelId === null || model.id === modelId);
    return servingCapacity(declared, models, gpu);
  }

  /**
   * Records one period of delivered usage on the offer's profile of the model, in the caller's
   * transaction: counts both sides agreed on (the lower of each figure) or an admin decided, over
   * the GPU-seconds the period had (docs/INFERENCE.md "Delivery confirms a declaration"). Returns
   * the profile's record after it, or null when no profile or reference measures it (a GPU lease,
   * a profile withdrawn since, a market without a reference).
   */
  async confirmDelivery(input: {
    offerId: string;
    modelId: string;
    counts: DeliveredCounts;
    gpuSeconds: number;
  }): Promise<DeliveryRecord | null> {
    const profile = await this.inference.systemLockDelivery(input.offerId, input.modelId);
    if (
      profile === null ||
      profile.referencePromptTokensPerSecondPerGpu === null ||
      profile.referenceOutputTokensPerSecondPerGpu === null
    ) {
      return null;
    }
    const scale = deliveredScale(
      input.counts,
      {
        promptTokensPerSecondPerGpu: profile.referencePromptTokensPerSecondPerGpu,
        outputTokensPerSecondPerGpu: profile.referenceOutputTokensPerSecondPerGpu,
      },
      input.gpuSeconds,
    );
    if (scale === null) return null;
    const record = recordDelivery(profile, scale);
    await this.inference.systemRecordDelivery(profile.id, record);
    // Sizing trusts more now: a resting inference bid the offer can now serve is matched by the
    // run this asks for, not the next sweep.
    if (record.confirmedScale > profile.confirmedScale) {
      await recordServingChanged(this.inference, this.outbox, {
        organisationId: profile.organisationId,
        offerId: input.offerId,
        cause: 'DELIVERED',
      });
    }
    return record;
  }

  private async model(slug: string): Promise<InferenceModelRecord> {
    const [model] = await this.inference.findModelsBySlugs([slug]);
    if (!model)
      throw new DomainError('VALIDATION_FAILED', 'model does not name a known model.', { field: 'model' });
    return model;
  }
}

function referenceEntry(
  model: InferenceModelRecord,
  market: MarketGpuRecord,
  concurrency: number,
): ReferenceProfileResponse {
  const base = { model: model.slug, market: market.slug, concurrency };
  if (market.gpu === null) return { ...base, basis: 'NO_GPU_SPEC', figures: null };
  const profile = deriveReferenceProfile(model, market.gpu, concurrency);
  if (profile === null) return { ...base, basis: 'DOES_NOT_FIT', figures: null };
  return { ...base, basis: 'DERIVED', figures: InferenceMapper.figures(profile) };
}
