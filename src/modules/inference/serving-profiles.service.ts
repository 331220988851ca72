import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { isUUID } from 'class-validator';
import { AuditService } from '@/infra/audit/audit.service';
import type { JsonObject } from '@/infra/events/event-catalogue';
import type { OrganisationContext } from '@/infra/auth/principal';
import { OrganisationWriteGateService } from '@/infra/auth/write-gate/organisation-write-gate.service';
import { Clock } from '@/infra/clock/clock';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { DomainError } from '@/shared/domain-error';
import { OutboxService } from '@/modules/events/outbox.service';
import { recordServingChanged } from './serving-changed';
import { OffersService } from '@/modules/providers/offers.service';
import {
  flagDeclaration,
  reviewStateFor,
  sameDeclaration,
  type ReferenceOutcome,
} from './domain/declaration-review';
import { deriveReferenceProfile } from './domain/reference-profile';
import type {
  AdminListServingProfilesQuery,
  AdminServingProfilePageResponse,
  AdminServingProfileResponse,
  PutServingProfilesDto,
  ReviewServingProfileDto,
  ServingProfileDeclarationDto,
  ServingProfileListResponse,
} from './dto/serving-profile.dto';
import { InferenceMapper } from './inference.mapper';
import {
  InferenceRepository,
  type MarketGpuRecord,
  type ServingProfileRecord,
  type ServingProfileWrite,
} from './inference.repository';

// An offer no longer on the book: its capacity is gone, so declaring what it serves means nothing.
const CLOSED_OFFER_STATUSES = new Set(['CANCELLED', 'EXPIRED']);

/**
 * Providers' serving profiles per offer, each checked against the reference at its concurrency
 * when declared; a declaration outside the review band waits for an admin (docs/INFERENCE.md).
 */
@Injectable()
export class ServingProfilesService {
  constructor(
    private readonly inference: InferenceRepository,
    private readonly offers: OffersService,
    private readonly writeGate: OrganisationWriteGateService,
    private readonly audit: AuditService,
    private readonly cursors: CursorCodec,
    private readonly clock: Clock,
    private readonly outbox: OutboxService,
  ) {}

  /** The offer's profiles; another organisation's offer is a 404 like a missing one. */
  async listProfiles(org: OrganisationContext, offerId: string): Promise<ServingProfileListResponse> {
    await this.offers.getOffer(org, offerId);
    const profiles = await this.inference.findOfferProfiles(org.organisationId, offerId);
    return { data: profiles.map((profile) => InferenceMapper.servingProfile(profile)) };
  }

  /**
   * Replaces the offer's set. A restated declaration keeps its row and review; a changed one is
   * checked again and loses any admin decision; models left out are removed.
   */
  @Transactional()
  async declareProfiles(
    org: OrganisationContext,
    offerId: string,
    input: PutServingProfilesDto,
  ): Promise<ServingProfileListResponse> {
    // A suspension committed on another API process refuses this even if the key was cached before it.
    await this.writeGate.assertMayWrite(org.organisationId);
    const offer = await this.offers.getOffer(org, offerId);
    validateDeclarations(input.profiles);
    if (CLOSED_OFFER_STATUSES.has(offer.status)) {
      throw new DomainError('CONFLICT', `The offer is ${offer.status.toLowerCase()}; it serves nothing.`);
    }
    const models = await this.inference.findModelsBySlugs(input.profiles.map((profile) => profile.model));
    const modelsBySlug = new Map(models.map((model) => [model.slug, model]));
    const market = await this.inference.findMarketGpu(offer.market);
    await this.inference.lockOfferProfiles(org.organisationId, offerId);
    const existing = new Map(
      (await this.inference.findOfferProfiles(org.organisationId, offerId)).map((row) => [
        row.model.slug,
        row,
      ]),
    );
    const now = this.clock.now();
    let changed = false;
    for (const [index, declaration] of input.profiles.entries()) {
      const model = modelsBySlug.get(declaration.model);
      if (!model) {
        throw new DomainError('VALIDATION_FAILED', `profiles.${index}.model does not name a known model.`, {
          field: `profiles.${index}.model`,
        });
      }
      const reference = referenceFor(model, market, declaration.concurrency);
      const write = profileWrite(model.id, declaration, reference);
      const current = existing.get(declaration.model);
      if (!current) await this.inference.createProfile(org.organisationId, offerId, write, now);
      else if (!sameDeclaration(current, declaration)) {
        const resetDelivery = current.concurrency !== declaration.concurrency;
        await this.inference.replaceProfile(org.organisationId, current.id, write, now, resetDelivery);
      } else continue;
      changed = true;
    }
    const declared = new Set(input.profiles.map((profile) => profile.model));
    const removed = [...existing.values()]
      .filter((row) => !declared.has(row.model.slug))
      .map((row) => row.id);
    await this.inference.deleteProfiles(org.organisationId, removed);
    if (changed || removed.length > 0)
      await this.recordServingChanged(org.organisationId, offerId, 'DECLARED');
    return this.listProfiles(org, offerId);
  }

  /** `offer.serving_changed` for a change this service made; its offer must still be there. */
  private async recordServingChanged(
    organisationId: string,
    offerId: string,
    cause: 'DECLARED' | 'REVIEWED',
  ): Promise<void> {
    if (!(await recordServingChanged(this.inference, this.outbox, { organisationId, offerId, cause })))
      throw new Error(`offer ${offerId} of a serving profile is gone`);
  }

  async adminListProfiles(query: AdminListServingProfilesQuery): Promise<AdminServingProfilePageResponse> {
    const after = this.cursors.decode(query.cursor);
    const limit = this.cursors.limit(query.limit);
    const rows = await this.inference.adminListProfiles(query.review ?? 'PENDING_REVIEW', limit, after);
    return this.cursors.page(rows, limit, (row) => InferenceMapper.adminServingProfile(row));
  }

  /**
   * An admin's decision on a flagged profile, audited. Restating the current decision changes
   * nothing and records nothing; an unflagged profile has nothing to decide (409).
   */
  @Transactional()
  async reviewProfile(
    adminUserId: string,
    id: string,
    input: ReviewServingProfileDto,
  ): Promise<AdminServingProfileResponse> {
    const profile = isUUID(id) ? await this.inference.adminLockProfile(id) : null;
    if (!profile) throw new DomainError('NOT_FOUND', 'Serving profile not found.');
    if (profile.review === 'NOT_FLAGGED') {
      throw new DomainError('CONFLICT', 'The serving profile is not flagged; there is nothing to review.');
    }
    const review = input.decision === 'ACCEPT' ? 'ACCEPTED' : 'REJECTED';
    if (profile.review === review) return InferenceMapper.adminServingProfile(profile);
    const decided = await this.inference.adminRecordDecision(id, {
      review,
      userId: adminUserId,
      reason: input.reason,
      at: this.clock.now(),
    });
    await this.audit.record(
      adminUserId,
      input.decision === 'ACCEPT' ? 'serving_profile.accept' : 'serving_profile.reject',
      { type: 'serving_profile', id },
      auditDetails(profile, review, input.reason),
    );
    await this.recordServingChanged(profile.organisationId, profile.offerId, 'REVIEWED');
    return InferenceMapper.adminServingProfile(decided);
  }
}

/** One declaration per model, and a p95 no lower than its p50; 400s naming the field. */
function validateDeclarations(profiles: readonly ServingProfileDeclarationDto[]): void {
  const seen = new Set<string>();
  for (const [index, profile] of profiles.entries()) {
    if (seen.has(profile.model)) {
      throw new DomainError('VALIDATION_FAILED', `profiles.${index}.model repeats ${profile.model}.`, {
        field: `profiles.${index}.model`,
      });
    }
    seen.add(profile.model);
    if (profile.ttftP95Ms < profile.ttftP50Ms) {
      throw new DomainError('VALIDATION_FAILED', `profiles.${index}.ttftP95Ms must be at least ttftP50Ms.`, {
        field: `profiles.${index}.ttftP95Ms`,
      });
    }
  }
}

function referenceFor(
  model: Parameters<typeof deriveReferenceProfile>[0],
  market: MarketGpuRecord | null,
  concurrency: number,
): ReferenceOutcome {
  if (!market?.gpu) return undefined;
  return deriveReferenceProfile(model, market.gpu, concurrency);
}

function profileWrite(
  modelId: string,
  declaration: ServingProfileDeclarationDto,
  reference: ReferenceOutcome,
): ServingProfileWrite {
  const flags = flagDeclaration(declaration, reference);
  return {
    modelId,
    concurrency: declaration.concurrency,
    promptTokensPerSecondPerGpu: declaration.promptTokensPerSecondPerGpu,
    outputTokensPerSecondPerGpu: declaration.outputTokensPerSecondPerGpu,
    ttftP50Ms: declaration.ttftP50Ms,
    ttftP95Ms: declaration.ttftP95Ms,
    referenceGpusPerReplica: reference?.gpusPerReplica ?? null,
    referencePromptTokensPerSecondPerGpu: reference?.promptTokensPerSecondPerGpu ?? null,
    referenceOutputTokensPerSecondPerGpu: reference?.outputTokensPerSecondPerGpu ?? null,
    referenceTtftP50Ms: reference?.ttftP50Ms ?? null,
    referenceTtftP95Ms: reference?.ttftP95Ms ?? null,
    flags,
    review: reviewStateFor(flags),
  };
}

function auditDetails(profile: ServingProfileRecord, review: string, reason: string): JsonObject {
  return {
    offerId: profile.offerId,
    organisationId: profile.organisationId,
    model: profile.model.slug,
    flags: profile.flags,
    before: { review: profile.review },
    after: { review },
    reason,
  };
}
