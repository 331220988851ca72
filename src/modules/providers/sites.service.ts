import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { isUUID } from 'class-validator';
import { Clock } from '@/infra/clock/clock';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import type { PageQuery } from '@/infra/pagination/page';
import { DomainError } from '@/shared/domain-error';
import { assertMayTrade, assertSiteCapacity } from '@/modules/markets/domain/trading-rules';
import { MarketsService } from '@/modules/markets/markets.service';
import type { OrganisationContext } from '@/infra/auth/principal';
import type { CreateSiteDto } from './dto/create-site.dto';
import type { SitePageResponse, SiteResponse } from './dto/site.dto';
import { ProvidersMapper } from './providers.mapper';
import { SitesRepository } from './sites.repository';
import { OrganisationWriteGateService } from '@/infra/auth/write-gate/organisation-write-gate.service';

const siteNotFound = (): DomainError => new DomainError('NOT_FOUND', 'Site not found.');

/** A provider's data-centre sites: where its offers' GPUs are. */
@Injectable()
export class SitesService {
  constructor(
    private readonly sites: SitesRepository,
    private readonly markets: MarketsService,
    private readonly cursors: CursorCodec,
    private readonly clock: Clock,
    private readonly writeGate: OrganisationWriteGateService,
  ) {}

  @Transactional()
  async createSite(org: OrganisationContext, input: CreateSiteDto): Promise<SiteResponse> {
    assertMayTrade(org.organisationStatus);
    await this.writeGate.assertMayWrite(org.organisationId);
    await this.markets.assertSiteLocation(input.provinceCode, input.cityCode);
    await this.sites.lockSites(org.organisationId);
    assertSiteCapacity(await this.sites.countSites(org.organisationId));
    if (await this.sites.findSiteByName(org.organisationId, input.name)) {
      throw new DomainError('CONFLICT', 'You already have a site with this name.', { field: 'name' });
    }
    const site = await this.sites.createSite(org.organisationId, {
      name: input.name,
      provinceCode: input.provinceCode,
      cityCode: input.cityCode,
      uptimeTier: input.uptimeTier,
      notes: input.notes ?? null,
      at: this.clock.now(),
    });
    return ProvidersMapper.site(site);
  }

  async listSites(org: OrganisationContext, query: PageQuery): Promise<SitePageResponse> {
    const after = this.cursors.decode(query.cursor);
    const limit = this.cursors.limit(query.limit);
    const rows = await this.sites.listSites(org.organisationId, limit, after);
    return this.cursors.page(rows, limit, (row) => ProvidersMapper.site(row));
  }

  /** A missing id, a malformed one and another organisation's are the same 404. */
  async getSite(org: OrganisationContext, siteId: string): Promise<SiteResponse> {
    const site = isUUID(siteId) ? await this.sites.findSite(org.organisationId, siteId) : null;
    if (!site) throw siteNotFound();
    return ProvidersMapper.site(site);
  }
}
