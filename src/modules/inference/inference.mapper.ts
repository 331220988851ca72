import type { ReferenceProfile } from './domain/reference-profile';
import type { InferenceModelResponse } from './dto/inference-model.dto';
import type { ReferenceFiguresResponse } from './dto/reference-profile.dto';
import type { AdminServingProfileResponse, ServingProfileResponse } from './dto/serving-profile.dto';
import type { InferenceModelRecord, ServingProfileRecord } from './inference.repository';

/** The one place catalogue and serving-profile records become API responses. */
export const InferenceMapper = {
  model(record: InferenceModelRecord): InferenceModelResponse {
    return {
      slug: record.slug,
      family: record.family,
      name: record.name,
      parameters: record.parameters,
      activeParameters: record.activeParameters,
      quantisation: record.quantisation,
      bytesPerParameter: record.bytesPerParameter,
      contextLength: record.contextLength,
      kvCacheBytesPerToken: record.kvCacheBytesPerToken,
      createdAt: record.createdAt.toISOString(),
    };
  },

  figures(profile: ReferenceProfile): ReferenceFiguresResponse {
    return {
      gpusPerReplica: profile.gpusPerReplica,
      promptTokensPerSecondPerGpu: profile.promptTokensPerSecondPerGpu,
      outputTokensPerSecondPerGpu: profile.outputTokensPerSecondPerGpu,
      ttftP50Ms: profile.ttftP50Ms,
      ttftP95Ms: profile.ttftP95Ms,
    };
  },

  servingProfile(record: ServingProfileRecord): ServingProfileResponse {
    const gpusPerReplica = record.referenceGpusPerReplica;
    const reference =
      record.referencePromptTokensPerSecondPerGpu === null ||
      record.referenceOutputTokensPerSecondPerGpu === null ||
      record.referenceTtftP50Ms === null ||
      record.referenceTtftP95Ms === null ||
      gpusPerReplica === null
        ? null
        : {
            gpusPerReplica,
            promptTokensPerSecondPerGpu: record.referencePromptTokensPerSecondPerGpu,
            outputTokensPerSecondPerGpu: record.referenceOutputTokensPerSecondPerGpu,
            ttftP50Ms: record.referenceTtftP50Ms,
            ttftP95Ms: record.referenceTtftP95Ms,
          };
    return {
      id: record.id,
      offerId: record.offerId,
      model: record.model.slug,
      concurrency: record.concurrency,
      promptTokensPerSecondPerGpu: record.promptTokensPerSecondPerGpu,
      outputTokensPerSecondPerGpu: record.outputTokensPerSecondPerGpu,
      ttftP50Ms: record.ttftP50Ms,
      ttftP95Ms: record.ttftP95Ms,
      reference,
      flags: record.flags,
      delivery: { deliveredScales: record.deliveredScales, confirmedScale: record.confirmedScale },
      review: record.review,
      reviewedAt: record.reviewedAt?.toISOString() ?? null,
      reviewReason: record.reviewReason,
      createdAt: record.createdAt.toISOString(),
      updatedAt: record.updatedAt.toISOString(),
    };
  },

  adminServingProfile(record: ServingProfileRecord): AdminServingProfileResponse {
    return {
      ...InferenceMapper.servingProfile(record),
      organisationId: record.organisationId,
      reviewedByUserId: record.reviewedByUserId,
    };
  },
};
