import { Injectable } from '@nestjs/common';
import type { ServingOffer } from './domain/model-supply';
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
  /** Free GPUs now of open offers inside their availability window and without idle windows. */
  freeGpusNow: number;
  /** Open offers inside their availability window now that publish idle windows: free only inside one. */
  windowedOffers: WindowedFreeOffer[];
}

export interface WindowedFreeOffer {
  freeGpus: number;
  idleWindows: unknown;
  reclaimNoticeMinutes: number | null;
}

/** The window's trades of one model in a market, before the minimum-providers rule. */
export interface ModelTradesRecord {
  model: string;
  trades: number;
  gpus: number;
  gpuHours: bigint;
  outputTokensPerSecond: bigint;
  promptTokensPerSecond: bigint;
  /** Distinct providers behind the trades. */
  providers: number;
  pricePerMillionTokens: { low: bigint; high: bigint; vwap: bigint };
  pricePerGpuHour: { low: bigint; high: bigint; vwap: bigint };
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
        windowed: WindowedFreeOffer[] | null;
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
        SELECT site_id, market_id,
               COALESCE(SUM(gpus - leased_gpus) FILTER (WHERE idle_windows IS NULL), 0)::int AS free_now,
               jsonb_agg(jsonb_build_object('freeGpus', gpus - leased_gpus, 'idleWindows', idle_windows,
                                            'reclaimNoticeMinutes', reclaim_notice_minutes))
                 FILTER (WHERE idle_windows IS NOT NULL) AS windowed
        FROM offers
        WHERE organisation_id = ${organisationId}::uuid AND status IN ('OPEN', 'PARTIALLY_FILLED')
          AND available_from <= ${now} AND available_until > ${now}
        GROUP BY site_id, market_id
      )
      SELECT s.id AS site_id, s.name AS site_name, s.province_code, m.slug AS market, m.currency,
             m.currency_scale, COALESCE(snap.offered, 0)::bigint AS offered,
             COALESCE(snap.leased, 0)::bigint AS leased, COALESCE(snap.proceeds, 0)::bigint AS proceeds,
             COALESCE(live.free_now, 0)::int AS free_now, live.windowed
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
      windowedOffers: r.windowed ?? [],
    }));
  }

  /**
   * The market's live supply by model (docs/STATS.md "Supply by model"): verified providers'
   * offers inside their window now with free GPUs, one row per model each serves through a usable
   * profile, at the figures sizing trusts (the lower throughput of declared and reference). The
   * only read of live orders here: the same offers the public listings show one by one.
   */
  async findPublicServingOffers(marketId: string, now: Date): Promise<ServingOffer[]> {
    const rows = await this.tx.$queryRaw<
      Array<{
        organisation_id: string;
        province_code: string;
        model: string;
        price: bigint;
        free: number;
        gpus_per_replica: number;
        prompt: number;
        output: number;
      }>
    >`
      SELECT o.organisation_id::text, s.province_code, m.slug AS model, o.price_per_gpu_hour AS price,
             (o.gpus - o.leased_gpus)::int AS free, sp.reference_gpus_per_replica AS gpus_per_replica,
             least(sp.prompt_tokens_per_second_per_gpu, sp.reference_prompt_tokens_per_second_per_gpu * sp.confirmed_scale) AS prompt,
             least(sp.output_tokens_per_second_per_gpu, sp.reference_output_tokens_per_second_per_gpu * sp.confirmed_scale) AS output
      FROM offers o
      JOIN organisations g ON g.id = o.organisation_id
      JOIN sites s ON s.id = o.site_id
      JOIN serving_profiles sp ON sp.offer_id = o.id
      JOIN inference_models m ON m.id = sp.model_id
      WHERE o.market_id = ${marketId}::uuid
        AND o.status IN ('OPEN', 'PARTIALLY_FILLED')
        AND g.status = 'VERIFIED'
        AND o.available_from <= ${now}
        AND o.available_until > ${now}
        AND o.gpus > o.leased_gpus
        AND sp.review IN ('NOT_FLAGGED', 'ACCEPTED')
        AND sp.reference_gpus_per_replica IS NOT NULL
        AND sp.reference_prompt_tokens_per_second_per_gpu IS NOT NULL
        AND sp.reference_output_tokens_per_second_per_gpu IS NOT NULL`;
    return rows.map((r) => ({
      organisationId: r.organisation_id,
      provinceCode: r.province_code,
      model: r.model,
      price: r.price,
      freeGpus: r.free,
      gpusPerReplica: r.gpus_per_replica,
      rates: { promptTokensPerSecondPerGpu: r.prompt, outputTokensPerSecondPerGpu: r.output },
    }));
  }

  /**
   * The market's trades by model over [from, to) (docs/STATS.md "Trades by model"): leases of
   * inference bids created in the window, whatever their billing basis, one row per model, by
   * slug. One range read of leases(market_id, created_at); the averages are floored in numeric,
   * since price x volume can pass a bigint.
   */
  async findPublicModelTrades(marketId: string, from: Date, to: Date): Promise<ModelTradesRecord[]> {
    const rows = await this.tx.$queryRaw<
      Array<{
        model: string;
        trades: number;
        gpus: number;
        gpu_hours: bigint;
        output: bigint;
        prompt: bigint;
        providers: number;
        pm_low: bigint;
        pm_high: bigint;
        pm_vwap: bigint;
        gh_low: bigint;
        gh_high: bigint;
        gh_vwap: bigint;
      }>
    >`
      WITH t AS (
        SELECT l.inference_model_id, l.provider_organisation_id, l.gpus, l.price_per_gpu_hour,
               l.inference_price_per_million_tokens AS pm,
               l.gpus::bigint * l.duration_hours AS gpu_hours,
               l.inference_output_tokens_per_second AS output, l.inference_prompt_tokens_per_second AS prompt,
               (l.inference_output_tokens_per_second::bigint + l.inference_prompt_tokens_per_second)
                 * l.duration_hours AS token_hours
        FROM leases l
        WHERE l.market_id = ${marketId}::uuid AND l.created_at >= ${from} AND l.created_at < ${to}
          AND l.inference_model_id IS NOT NULL
      )
      SELECT m.slug AS model, COUNT(*)::int AS trades, SUM(t.gpus)::int AS gpus,
             SUM(t.gpu_hours)::bigint AS gpu_hours, SUM(t.output)::bigint AS output,
             SUM(t.prompt)::bigint AS prompt,
             COUNT(DISTINCT t.provider_organisation_id)::int AS providers,
             MIN(t.pm) AS pm_low, MAX(t.pm) AS pm_high,
             -- By tokens bought; by GPU-hours only if the leases bought no token at all.
             COALESCE(floor(SUM(t.pm::numeric * t.token_hours) / NULLIF(SUM(t.token_hours), 0)),
                      floor(SUM(t.pm::numeric * t.gpu_hours) / SUM(t.gpu_hours)))::bigint AS pm_vwap,
             MIN(t.price_per_gpu_hour) AS gh_low, MAX(t.price_per_gpu_hour) AS gh_high,
             floor(SUM(t.price_per_gpu_hour::numeric * t.gpu_hours) / SUM(t.gpu_hours))::bigint AS gh_vwap
      FROM t JOIN inference_models m ON m.id = t.inference_model_id
      GROUP BY m.slug
      ORDER BY m.slug`;
    return rows.map((r) => ({
      model: r.model,
      trades: r.trades,
      gpus: r.gpus,
      gpuHours: r.gpu_hours,
      outputTokensPerSecond: r.output,
      promptTokensPerSecond: r.prompt,
      providers: r.providers,
      pricePerMillionTokens: { low: r.pm_low, high: r.pm_high, vwap: r.pm_vwap },
      pricePerGpuHour: { low: r.gh_low, high: r.gh_high, vwap: r.gh_vwap },
    }));
  }

  /**
   * One of the organisation's own offers in a market at a site, with the figures sizing trusts
   * for one model it serves: null when no such offer is the organisation's; `serving` null when
   * it has no usable profile for the model.
   */
  async findOwnOfferServing(
    organisationId: string,
    offerId: string,
    marketId: string,
    siteId: string,
    model: string,
  ): Promise<{ serving: { prompt: number; output: number } | null } | null> {
    const rows = await this.tx.$queryRaw<Array<{ prompt: number | null; output: number | null }>>`
      SELECT least(sp.prompt_tokens_per_second_per_gpu, sp.reference_prompt_tokens_per_second_per_gpu * sp.confirmed_scale) AS prompt,
             least(sp.output_tokens_per_second_per_gpu, sp.reference_output_tokens_per_second_per_gpu * sp.confirmed_scale) AS output
      FROM offers o
      LEFT JOIN inference_models m ON m.slug = ${model}
      LEFT JOIN serving_profiles sp ON sp.offer_id = o.id AND sp.model_id = m.id
        AND sp.review IN ('NOT_FLAGGED', 'ACCEPTED')
        AND sp.reference_prompt_tokens_per_second_per_gpu IS NOT NULL
        AND sp.reference_output_tokens_per_second_per_gpu IS NOT NULL
      WHERE o.id = ${offerId}::uuid AND o.organisation_id = ${organisationId}::uuid
        AND o.market_id = ${marketId}::uuid AND o.site_id = ${siteId}::uuid`;
    const [row] = rows;
    if (row === undefined) return null;
    return {
      serving: row.prompt === null || row.output === null ? null : { prompt: row.prompt, output: row.output },
    };
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
