import { Injectable } from '@nestjs/common';
import { idleWindowsOf, type IdleWindowsSpec, type Slo } from '@/modules/markets/domain/order-terms';
import type { UptimeTier } from '@/generated/prisma/enums';
import { afterPosition, NEWEST_FIRST, type KeysetPosition } from '@/infra/pagination/cursor-codec';
import type { DivisionRecord } from './markets.repository';
import { Tx } from '@/infra/prisma/tx';

/** One price level of one side of the book. */
export interface BookLevelRecord {
  price: bigint;
  gpus: number;
  orders: number;
}

/** An ask level with the providers behind it (internal ids, to look up names and scores; never shown). */
export interface AskLevelRecord extends BookLevelRecord {
  providerIds: string[];
  /** Each offer's idle windows and availability, to place the level in time (`combinedWindowTimes`). */
  offers: AskLevelOfferRecord[];
}

export interface AskLevelOfferRecord {
  idleWindows: IdleWindowsSpec | null;
  availableFrom: Date;
  availableUntil: Date;
}

export interface ListingRecord {
  id: string;
  createdAt: Date;
  /** The provider's public display name: the one thing public data says of who it is. */
  providerName: string;
  /** Internal only, to look up the provider's reliability score; never shown. */
  providerOrganisationId: string;
  market: { slug: string; currency: string; currencyScale: number };
  province: DivisionRecord;
  city: DivisionRecord;
  uptimeTier: UptimeTier;
  freeGpus: number;
  pricePerGpuHour: bigint;
  availableFrom: Date;
  availableUntil: Date;
  minLeaseHours: number;
  payPerUseMinPercent: number;
  terminationNoticeHours: number;
  /** The offer's SLO (docs/SLO.md), or null. */
  slo: Slo | null;
  /** The offer's recurring idle windows (docs/LEASES.md "Idle windows"), or null. */
  idleWindows: IdleWindowsSpec | null;
}

/**
 * One model an offer serves, at the figures sizing trusts: each the lower throughput and higher
 * latency of the declaration and its reference (docs/INFERENCE.md "Sizing"), from profiles that
 * need no review or that an admin accepted.
 */
export interface OfferServingRecord {
  model: string;
  gpusPerReplica: number;
  promptTokensPerSecondPerGpu: number;
  outputTokensPerSecondPerGpu: number;
  ttftP95Ms: number;
}

export interface ListingFilter {
  marketId?: string;
  provinceCode?: string;
}

interface LevelRow {
  price: bigint;
  gpus: bigint;
  orders: bigint;
}

interface AskLevelRow extends LevelRow {
  providers: string[];
  offers: Array<{
    idleWindows: unknown;
    reclaimNoticeMinutes: number | null;
    availableFrom: number;
    availableUntil: number;
  }>;
}

const toLevel = (row: LevelRow): BookLevelRecord => ({
  price: row.price,
  gpus: Number(row.gpus),
  orders: Number(row.orders),
});

/**
 * Public market data: reads across tenants by nature, so every method is named `findPublic…`,
 * returns aggregates or anonymised rows only, and sees verified organisations' orders only.
 */
@Injectable()
export class MarketDataRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  /** Asks with free GPUs inside their window, cheapest first, aggregated by price, with their providers. */
  async findPublicAsks(marketId: string, now: Date, depth: number): Promise<AskLevelRecord[]> {
    const rows = await this.tx.$queryRaw<AskLevelRow[]>`
      SELECT o.price_per_gpu_hour AS price,
             SUM(o.gpus - o.leased_gpus)::bigint AS gpus,
             COUNT(*)::bigint AS orders,
             array_agg(DISTINCT o.organisation_id::text) AS providers,
             json_agg(json_build_object(
               'idleWindows', o.idle_windows,
               'reclaimNoticeMinutes', o.reclaim_notice_minutes,
               'availableFrom', (extract(epoch FROM o.available_from) * 1000)::bigint,
               'availableUntil', (extract(epoch FROM o.available_until) * 1000)::bigint
             )) AS offers
      FROM offers o
      JOIN organisations g ON g.id = o.organisation_id
      WHERE o.market_id = ${marketId}::uuid
        AND o.status IN ('OPEN', 'PARTIALLY_FILLED')
        AND g.status = 'VERIFIED'
        AND o.available_from <= ${now}
        AND o.available_until > ${now}
        AND o.gpus > o.leased_gpus
      GROUP BY o.price_per_gpu_hour
      ORDER BY o.price_per_gpu_hour ASC
      LIMIT ${depth}`;
    return rows.map((row) => ({
      ...toLevel(row),
      providerIds: row.providers,
      offers: row.offers.map((offer) => ({
        idleWindows: idleWindowsOf(offer.idleWindows, offer.reclaimNoticeMinutes),
        availableFrom: new Date(Number(offer.availableFrom)),
        availableUntil: new Date(Number(offer.availableUntil)),
      })),
    }));
  }

  /** Unexpired bids with unfilled GPUs, highest cap first, aggregated by price. */
  async findPublicBids(marketId: string, now: Date, depth: number): Promise<BookLevelRecord[]> {
    const rows = await this.tx.$queryRaw<LevelRow[]>`
      SELECT b.max_price_per_gpu_hour AS price,
             SUM(b.gpus - b.filled_gpus)::bigint AS gpus,
             COUNT(*)::bigint AS orders
      FROM bids b
      JOIN organisations g ON g.id = b.organisation_id
      WHERE b.market_id = ${marketId}::uuid
        AND b.status IN ('OPEN', 'PARTIALLY_FILLED')
        AND g.status = 'VERIFIED'
        AND b.expires_at > ${now}
        AND b.gpus > b.filled_gpus
      GROUP BY b.max_price_per_gpu_hour
      ORDER BY b.max_price_per_gpu_hour DESC
      LIMIT ${depth}`;
    return rows.map(toLevel);
  }

  /** What each offer named serves (usable profiles only), by model slug; an offer serving nothing has no entry. */
  async findPublicServing(offerIds: readonly string[]): Promise<Map<string, OfferServingRecord[]>> {
    if (offerIds.length === 0) return new Map();
    const rows = await this.tx.$queryRaw<Array<OfferServingRecord & { offerId: string }>>`
      SELECT sp.offer_id::text AS "offerId", m.slug AS model,
             sp.reference_gpus_per_replica AS "gpusPerReplica",
             least(sp.prompt_tokens_per_second_per_gpu, sp.reference_prompt_tokens_per_second_per_gpu * sp.confirmed_scale)
               AS "promptTokensPerSecondPerGpu",
             least(sp.output_tokens_per_second_per_gpu, sp.reference_output_tokens_per_second_per_gpu * sp.confirmed_scale)
               AS "outputTokensPerSecondPerGpu",
             greatest(sp.ttft_p95_ms, sp.reference_ttft_p95_ms) AS "ttftP95Ms"
      FROM serving_profiles sp
      JOIN inference_models m ON m.id = sp.model_id
      WHERE sp.offer_id = ANY(${[...offerIds]}::uuid[])
        AND sp.review IN ('NOT_FLAGGED', 'ACCEPTED')
        AND sp.reference_gpus_per_replica IS NOT NULL
        AND sp.reference_prompt_tokens_per_second_per_gpu IS NOT NULL
        AND sp.reference_output_tokens_per_second_per_gpu IS NOT NULL
        AND sp.reference_ttft_p95_ms IS NOT NULL
      ORDER BY m.slug`;
    const byOffer = new Map<string, OfferServingRecord[]>();
    for (const { offerId, ...serving } of rows) {
      const list = byOffer.get(offerId) ?? [];
      list.push(serving);
      byOffer.set(offerId, list);
    }
    return byOffer;
  }

  /**
   * Verified providers' offers with free GPUs whose window has not ended, newest first. The
   * select reads no organisation, offer or site id past the cursor: the provider shows by its
   * display name, the site by province and city (docs/EVENTS.md, "Who sees whom").
   */
  async findPublicListings(
    filter: ListingFilter,
    now: Date,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<ListingRecord[]> {
    const rows = await this.tx.offer.findMany({
      where: {
        status: { in: ['OPEN', 'PARTIALLY_FILLED'] },
        availableUntil: { gt: now },
        leasedGpus: { lt: this.tx.offer.fields.gpus },
        organisation: { status: 'VERIFIED' },
        ...(filter.marketId === undefined ? {} : { marketId: filter.marketId }),
        ...(filter.provinceCode === undefined ? {} : { site: { provinceCode: filter.provinceCode } }),
        ...afterPosition(after),
      },
      select: {
        id: true,
        createdAt: true,
        gpus: true,
        leasedGpus: true,
        pricePerGpuHour: true,
        availableFrom: true,
        availableUntil: true,
        minLeaseHours: true,
        payPerUseMinPercent: true,
        terminationNoticeHours: true,
        slo: true,
        idleWindows: true,
        reclaimNoticeMinutes: true,
        market: { select: { slug: true, currency: true, currencyScale: true } },
        organisation: { select: { id: true, name: true } },
        site: {
          select: {
            uptimeTier: true,
            province: { select: { code: true, nameZh: true, namePinyin: true } },
            city: { select: { code: true, nameZh: true, namePinyin: true } },
          },
        },
      },
      orderBy: NEWEST_FIRST,
      take: limit + 1,
    });
    return rows.map((row) => ({
      id: row.id,
      createdAt: row.createdAt,
      providerName: row.organisation.name,
      providerOrganisationId: row.organisation.id,
      market: row.market,
      province: row.site.province,
      city: row.site.city,
      uptimeTier: row.site.uptimeTier,
      freeGpus: row.gpus - row.leasedGpus,
      pricePerGpuHour: row.pricePerGpuHour,
      availableFrom: row.availableFrom,
      availableUntil: row.availableUntil,
      minLeaseHours: row.minLeaseHours,
      payPerUseMinPercent: row.payPerUseMinPercent,
      terminationNoticeHours: row.terminationNoticeHours,
      // Written only from slo-rules' parseOfferSlo at placement, never changed.
      slo: row.slo === null ? null : (row.slo as unknown as Slo),
      idleWindows: idleWindowsOf(row.idleWindows, row.reclaimNoticeMinutes),
    }));
  }
}
