import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { Clock } from '@/infra/clock/clock';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import type { Page } from '@/infra/pagination/page';
import { DomainError } from '@/shared/domain-error';
import { AuditService } from '@/infra/audit/audit.service';
import { OutboxService } from '@/modules/events/outbox.service';
import { ApiKeyCache } from './auth/api-key-cache';
import { BidsService } from '@/modules/buyers/bids.service';
import { OffersService } from '@/modules/providers/offers.service';
import { reinstatedStatus } from '@/infra/auth/suspension';
import type {
  AdminOrganisationQuery,
  OrganisationSuspensionResponse,
  ReinstateOrganisationDto,
  SuspendOrganisationDto,
} from './dto/admin-organisations.dto';
import type { OrganisationResponse } from './dto/organisation.dto';
import { OrganisationsMapper } from './organisations.mapper';
import { OrganisationsRepository } from './organisations.repository';

@Injectable()
export class OrganisationsAdminService {
  constructor(
    private readonly organisations: OrganisationsRepository,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly cursors: CursorCodec,
    private readonly outbox: OutboxService,
    private readonly keyCache: ApiKeyCache,
    private readonly bids: BidsService,
    private readonly offers: OffersService,
  ) {}

  async searchOrganisations(query: AdminOrganisationQuery): Promise<Page<OrganisationResponse>> {
    const size = this.cursors.limit(query.limit);
    const rows = await this.organisations.adminListOrganisations(
      {
        ...(query.status ? { status: query.status } : {}),
        ...(query.role ? { role: query.role } : {}),
        ...(query.q ? { nameContains: query.q } : {}),
      },
      size,
      this.cursors.decode(query.cursor),
    );
    return this.cursors.page(rows, size, OrganisationsMapper.organisation);
  }

  /**
   * Verification makes the organisation's resting orders visible to matching and the book; its
   * `organisation.verified` event asks matching to run the markets where they rest.
   */
  @Transactional()
  async verifyOrganisation(adminUserId: string, organisationId: string): Promise<OrganisationResponse> {
    const organisation = await this.organisations.findOrganisation(organisationId);
    if (!organisation) throw new DomainError('NOT_FOUND', 'Organisation not found.');
    if (organisation.status === 'VERIFIED') return OrganisationsMapper.organisation(organisation);
    if (!(await this.organisations.adminVerify(organisationId, this.clock.now()))) {
      throw new DomainError(
        'CONFLICT',
        `A ${organisation.status.toLowerCase()} organisation cannot be verified.`,
      );
    }
    await this.audit.record(adminUserId, 'organisation.verify', { type: 'organisation', id: organisationId });
    await this.outbox.record({
      type: 'organisation.verified',
      aggregateType: 'organisation',
      aggregateId: organisationId,
      payload: { organisationId, role: organisation.role },
    });
    // Its keys' cached status would otherwise say PENDING_VERIFICATION until they lapse.
    this.keyCache.forgetOrganisation(organisationId);
    const verified = await this.organisations.findOrganisation(organisationId);
    return OrganisationsMapper.organisation(verified ?? organisation);
  }

  /**
   * SUSPENDED is read-only (DESIGN, Organisations), in one transaction: the organisation row is
   * locked for update first, so placements in flight finish before and are cancelled here, and
   * later ones see the status; then every live bid is cancelled with its hold released, every
   * live offer withdrawn, with their events, and the audit entry. Leases run on and settle.
   * Suspending a suspended organisation answers it unchanged and records nothing.
   */
  @Transactional()
  async suspendOrganisation(
    adminUserId: string,
    organisationId: string,
    input: SuspendOrganisationDto,
  ): Promise<OrganisationSuspensionResponse> {
    const current = await this.organisations.adminLockForStatusChange(organisationId);
    if (!current) throw new DomainError('NOT_FOUND', 'Organisation not found.');
    if (current.status === 'SUSPENDED') {
      return {
        organisation: OrganisationsMapper.organisation(current),
        cancelledBids: 0,
        cancelledOffers: 0,
      };
    }
    const suspended = await this.organisations.adminSuspend(organisationId, this.clock.now());
    const cancelledBids = await this.bids.cancelAllForSuspension(organisationId);
    const cancelledOffers = await this.offers.cancelAllForSuspension(organisationId);
    await this.audit.record(
      adminUserId,
      'organisation.suspend',
      { type: 'organisation', id: organisationId },
      { reason: input.reason.trim(), previousStatus: current.status, cancelledBids, cancelledOffers },
    );
    await this.outbox.record({
      type: 'organisation.suspended',
      aggregateType: 'organisation',
      aggregateId: organisationId,
      payload: { organisationId, role: current.role, cancelledBids, cancelledOffers },
    });
    // This process refuses the cached keys at once; other processes' writes re-check in their
    // transaction, and their cached keys lapse within API_KEY_CACHE_TTL_MS.
    this.keyCache.forgetOrganisation(organisationId);
    return { organisation: OrganisationsMapper.organisation(suspended), cancelledBids, cancelledOffers };
  }

  /**
   * Back to the status before the suspension (VERIFIED if it had been verified, else
   * PENDING_VERIFICATION). Its `organisation.reinstated` event asks matching to run the markets
   * where it has live orders, which after a suspension is none: its orders were cancelled, and
   * new ones trigger matching when placed. Reinstating an organisation that is not suspended
   * answers it unchanged and records nothing.
   */
  @Transactional()
  async reinstateOrganisation(
    adminUserId: string,
    organisationId: string,
    input: ReinstateOrganisationDto,
  ): Promise<OrganisationResponse> {
    const current = await this.organisations.adminLockForStatusChange(organisationId);
    if (!current) throw new DomainError('NOT_FOUND', 'Organisation not found.');
    if (current.status !== 'SUSPENDED') return OrganisationsMapper.organisation(current);
    const status = reinstatedStatus(current);
    const reinstated = await this.organisations.adminReinstate(organisationId, status, this.clock.now());
    await this.audit.record(
      adminUserId,
      'organisation.reinstate',
      { type: 'organisation', id: organisationId },
      {
        status,
        suspendedAt: current.suspendedAt?.toISOString() ?? null,
        ...(input.reason === undefined ? {} : { reason: input.reason.trim() }),
      },
    );
    await this.outbox.record({
      type: 'organisation.reinstated',
      aggregateType: 'organisation',
      aggregateId: organisationId,
      payload: { organisationId, role: current.role, status },
    });
    this.keyCache.forgetOrganisation(organisationId);
    return OrganisationsMapper.organisation(reinstated);
  }
}
