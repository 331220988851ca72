import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { Clock } from '../../infra/clock/clock';
import { CursorCodec } from '../../infra/pagination/cursor-codec';
import type { Page } from '../../infra/pagination/page';
import { DomainError } from '../../shared/domain-error';
import { AuditService } from '../admin/audit.service';
import { OutboxService } from '../events/outbox.service';
import { ApiKeyCache } from './auth/api-key-cache';
import type { AdminOrganisationQuery } from './dto/admin-organisations.dto';
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
}
