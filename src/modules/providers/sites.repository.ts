import { Injectable } from '@nestjs/common';
import type { UptimeTier } from '@/generated/prisma/enums';
import { afterPosition, NEWEST_FIRST, type KeysetPosition } from '@/infra/pagination/cursor-codec';
import { Tx } from '@/infra/prisma/tx';

export interface SiteRecord {
  id: string;
  organisationId: string;
  name: string;
  provinceCode: string;
  cityCode: string;
  uptimeTier: UptimeTier;
  notes: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewSite {
  name: string;
  provinceCode: string;
  cityCode: string;
  uptimeTier: UptimeTier;
  notes: string | null;
  at: Date;
}

/** Providers' sites. Every method takes the owning organisation's id. */
@Injectable()
export class SitesRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  /** Serialises site creation per organisation, so the site cap and name check cannot race. */
  async lockSites(organisationId: string): Promise<void> {
    await this.tx
      .$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`sites:${organisationId}`}, 0))`;
  }

  async countSites(organisationId: string): Promise<number> {
    return this.tx.site.count({ where: { organisationId } });
  }

  async findSiteByName(organisationId: string, name: string): Promise<SiteRecord | null> {
    return this.tx.site.findFirst({ where: { organisationId, name } });
  }

  async createSite(organisationId: string, site: NewSite): Promise<SiteRecord> {
    return this.tx.site.create({
      data: {
        organisationId,
        name: site.name,
        provinceCode: site.provinceCode,
        cityCode: site.cityCode,
        uptimeTier: site.uptimeTier,
        notes: site.notes,
        createdAt: site.at,
        updatedAt: site.at,
      },
    });
  }

  async listSites(
    organisationId: string,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<SiteRecord[]> {
    return this.tx.site.findMany({
      where: { organisationId, ...afterPosition(after) },
      orderBy: NEWEST_FIRST,
      take: limit + 1,
    });
  }

  async findSite(organisationId: string, siteId: string): Promise<SiteRecord | null> {
    return this.tx.site.findFirst({ where: { id: siteId, organisationId } });
  }
}
