import { Injectable } from '@nestjs/common';
import type { PriceOutcomeLevel } from './domain/price-suggestion';
import type { DemandBucket, SupplyBucket, TradeBucket } from './domain/stats-formulas';
import { Tx } from '@/infra/prisma/tx';

export interface MarketHourRecord extends DemandBucket, TradeBucket {
  staleOpenBids: number;
  staleOpenBidGpuHours: bigint;
  computedAt: Date;
}

export interface ProvinceSupplyRecord extends SupplyBucket {
  provinceCode: string;
  /** Distinct providers with capacity offered in the window. */
  providers: number;
}

export interface SupplyTotals extends SupplyBucket {
  offeringProviders: number;
  tradingProviders: number;
}

export interface OwnSiteRecord extends SupplyBucket {
  siteId: string;
  siteName: string;
  provinceCode: string;
  market: string;
  currency: string;
  currencyScale: number;
  proceedsMinor: bigint;
  freeGpusNow: number;
}

interface SupplyRow {
  offered: bigint;
  leased: bigint;
  offering: number;
  trading: number;
}

/**
 * Reads of the statistics snapshots: cheap by design, no order table is scanned. Public and
 * admin reads aggregate across tenants (`findPublic…`, `findAdmin…`); a provider's own view takes
 * its organisation id.
 */
@Injectable()
export class StatsReadsRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  async findPublicMarketHours(marketId: string, from: Date, to: Date): Promise<MarketHourRecord[]> {
    return this.tx.statsMarketHour.findMany({
      where: { marketId, bucketStart: { gte: from, lt: to } },
      orderBy: { bucketStart: 'asc' },
    });
  }

  async findPublicSupplyTotals(marketId: string, from: Date, to: Date): Promise<SupplyTotals> {
    const [row] = await this.tx.$queryRaw<SupplyRow[]>`
      SELECT COALESCE(SUM(offered_gpu_seconds), 0)::bigint AS offered,
             COALESCE(SUM(leased_gpu_seconds), 0)::bigint AS leased,
             COUNT(DISTINCT organisation_id) FILTER (WHERE offered_gpu_seconds > 0)::int AS offering,
             COUNT(DISTINCT organisation_id) FILTER (WHERE traded_gpu_hours > 0)::int AS trading
      FROM stats_site_hours
      WHERE market_id = ${marketId}::uuid AND bucket_start >= ${from} AND bucket_start < ${to}`;
    return {
      offeredGpuSeconds: row?.offered ?? 0n,
      leasedGpuSeconds: row?.leased ?? 0n,
      offeringProviders: row?.offering ?? 0,
      tradingProviders: row?.trading ?? 0,
    };
  }

  async findAdminProvinceSupply(marketId: string, from: Date, to: Date): Promise<ProvinceSupplyRecord[]> {
    const rows = await this.tx.$queryRaw<
      Array<{ province: string; offered: bigint; leased: bigint; providers: number }>
    >`
      SELECT province_code AS province,
             SUM(offered_gpu_seconds)::bigint AS offered, SUM(leased_gpu_seconds)::bigint AS leased,
             COUNT(DISTINCT organisation_id) FILTER (WHERE offered_gpu_seconds > 0)::int AS providers
      FROM stats_site_hours
      WHERE market_id = ${marketId}::uuid AND bucket_start >= ${from} AND bucket_start < ${to}
      GROUP BY province_code
      ORDER BY province_code`;
    return rows.map((r) => ({
      provinceCode: r.province,
      offeredGpuSeconds: r.offered,
      leasedGpuSeconds: r.leased,
      providers: r.providers,
    }));
  }

  /** The organisation's sites by market: snapshot supply and proceeds in the window, free GPUs now. */
  async findOwnSites(organisationId: string, from: Date, to: Date, now: Date): Promise<OwnSiteRecord[]> {
    const rows = await this.tx.$queryRaw<
      Array<{
        site_id: string;
        site_name: string;
        province_code: string;
        market: string;
        currency: string;
        currency_scale: number;
        offered: bigint;
        leased: bigint;
        proceeds: bigint;
        free_now: number;
      }>
    >`
      WITH snap AS (
        SELECT site_id, market_id, SUM(offered_gpu_seconds)::bigint AS offered,
               SUM(leased_gpu_seconds)::bigint AS leased, SUM(proceeds_minor)::bigint AS proceeds
        FROM stats_site_hours
        WHERE organisation_id = ${organisationId}::uuid AND bucket_start >= ${from} AND bucket_start < ${to}
        GROUP BY site_id, market_id
      ),
      live AS (
        SELECT site_id, market_id, SUM(gpus - leased_gpus)::int AS free_now
        FROM offers
        WHERE organisation_id = ${organisationId}::uuid AND status IN ('OPEN', 'PARTIALLY_FILLED')
          AND available_from <= ${now} AND available_until > ${now}
        GROUP BY site_id, market_id
      )
      SELECT s.id AS site_id, s.name AS site_name, s.province_code, m.slug AS market, m.currency,
             m.currency_scale, COALESCE(snap.offered, 0)::bigint AS offered,
             COALESCE(snap.leased, 0)::bigint AS leased, COALESCE(snap.proceeds, 0)::bigint AS proceeds,
             COALESCE(live.free_now, 0)::int AS free_now
      FROM snap FULL OUTER JOIN live ON live.site_id = snap.site_id AND live.market_id = snap.market_id
      JOIN sites s ON s.id = COALESCE(snap.site_id, live.site_id) AND s.organisation_id = ${organisationId}::uuid
      JOIN markets m ON m.id = COALESCE(snap.market_id, live.market_id)
      ORDER BY s.name, m.slug`;
    return rows.map((r) => ({
      siteId: r.site_id,
      siteName: r.site_name,
      provinceCode: r.province_code,
      market: r.market,
      currency: r.currency,
      currencyScale: r.currency_scale,
      offeredGpuSeconds: r.offered,
      leasedGpuSeconds: r.leased,
      proceedsMinor: r.proceeds,
      freeGpusNow: r.free_now,
    }));
  }

  /** The province of one of the organisation's sites; null if no such site among its own. */
  async findOwnSiteProvince(organisationId: string, siteId: string): Promise<string | null> {
    const site = await this.tx.site.findFirst({
      where: { id: siteId, organisationId },
      select: { provinceCode: true },
    });
    return site?.provinceCode ?? null;
  }

  /** Offer outcomes by ask over placement hours in [from, to), optionally in one province. */
  async findPublicOfferOutcomes(
    marketId: string,
    provinceCode: string | null,
    from: Date,
    to: Date,
  ): Promise<PriceOutcomeLevel[]> {
    const rows = await this.tx.statsOfferOutcome.groupBy({
      by: ['pricePerGpuHour'],
      where: {
        marketId,
        bucketStart: { gte: from, lt: to },
        ...(provinceCode === null ? {} : { provinceCode }),
      },
      _sum: { offers: true, leasedWithin24h: true },
    });
    return rows.map((r) => ({
      price: r.pricePerGpuHour,
      offers: r._sum.offers ?? 0,
      leased: r._sum.leasedWithin24h ?? 0,
    }));
  }
}
