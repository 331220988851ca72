import { Injectable } from '@nestjs/common';
import type { MarketStatus, OrderStatus } from '@/generated/prisma/enums';
import { afterPosition, NEWEST_FIRST, type KeysetPosition } from '@/infra/pagination/cursor-codec';
import { uuidV7 } from '@/shared/uuid-v7';
import { LIVE_OFFER_STATUSES, type LiveOfferStatus } from './domain/offer-rules';
import { Tx } from '@/infra/prisma/tx';

export interface OfferRecord {
  id: string;
  organisationId: string;
  market: { slug: string; currency: string; currencyScale: number };
  siteId: string;
  gpus: number;
  leasedGpus: number;
  pricePerGpuHour: bigint;
  availableFrom: Date;
  availableUntil: Date;
  minLeaseHours: number;
  payPerUseMinPercent: number;
  terminationNoticeHours: number;
  status: OrderStatus;
  seq: bigint;
  createdAt: Date;
  updatedAt: Date;
  cancelledAt: Date | null;
}

export interface NewOffer {
  marketId: string;
  /** The market as the caller resolved it; echoed into the record without reading it back. */
  market: OfferRecord['market'];
  siteId: string;
  gpus: number;
  pricePerGpuHour: bigint;
  availableFrom: Date;
  availableUntil: Date;
  minLeaseHours: number;
  payPerUseMinPercent: number;
  terminationNoticeHours: number;
  seq: bigint;
  at: Date;
}

/**
 * What the placement statement saw: the market's status, whether the site is the caller's, and
 * the organisation's live offers at that moment; `offer` is null when any of them refused it,
 * and `marketStatus` null when the market row is gone.
 */
export interface OfferPlacement {
  offer: OfferRecord | null;
  marketStatus: MarketStatus | null;
  siteFound: boolean;
  liveOffers: number;
}

export interface OfferFilter {
  marketId?: string;
  siteId?: string;
  status?: OrderStatus;
}

export interface OfferAmendment {
  gpus: number;
  pricePerGpuHour: bigint;
  status: LiveOfferStatus;
  seq: bigint;
  at: Date;
}

const OFFER_SELECT = {
  id: true,
  organisationId: true,
  market: { select: { slug: true, currency: true, currencyScale: true } },
  siteId: true,
  gpus: true,
  leasedGpus: true,
  pricePerGpuHour: true,
  availableFrom: true,
  availableUntil: true,
  minLeaseHours: true,
  payPerUseMinPercent: true,
  terminationNoticeHours: true,
  status: true,
  seq: true,
  createdAt: true,
  updatedAt: true,
  cancelledAt: true,
} as const;

/** Providers' offers. Every method takes the owning organisation's id. */
@Injectable()
export class OffersRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  /**
   * Inserts the offer OPEN only while its market is ACTIVE, the site is the organisation's and
   * the organisation has fewer than `maxLive` live offers, all in one statement: the caller
   * holds the organisation's placement lock, so the count, taken in this statement's snapshot,
   * sees every earlier placement.
   */
  async placeOffer(organisationId: string, offer: NewOffer, maxLive: number): Promise<OfferPlacement> {
    const id = uuidV7(offer.at);
    const [row] = await this.tx.$queryRaw<
      Array<{ market_status: MarketStatus | null; site_found: boolean; live_offers: number; placed: boolean }>
    >`
      WITH live AS (
        SELECT count(*)::int AS n FROM offers
        WHERE organisation_id = ${organisationId}::uuid
          AND status = ANY(${[...LIVE_OFFER_STATUSES]}::"OrderStatus"[])),
      market AS (SELECT status FROM markets WHERE id = ${offer.marketId}::uuid),
      site AS (
        SELECT id FROM sites WHERE id = ${offer.siteId}::uuid AND organisation_id = ${organisationId}::uuid),
      placed AS (
        INSERT INTO offers (id, organisation_id, market_id, site_id, gpus, leased_gpus, price_per_gpu_hour,
                            available_from, available_until, min_lease_hours, pay_per_use_min_percent,
                            termination_notice_hours, status, seq, created_at, updated_at)
        SELECT ${id}::uuid, ${organisationId}::uuid, ${offer.marketId}::uuid, site.id, ${offer.gpus}, 0,
               ${offer.pricePerGpuHour}, ${offer.availableFrom}, ${offer.availableUntil},
               ${offer.minLeaseHours}, ${offer.payPerUseMinPercent}, ${offer.terminationNoticeHours}, 'OPEN', ${offer.seq},
               ${offer.at}, ${offer.at}
        FROM live, market, site
        WHERE market.status = 'ACTIVE' AND live.n < ${maxLive}
        RETURNING id)
      SELECT (SELECT status::text FROM market) AS market_status,
             EXISTS (SELECT 1 FROM site) AS site_found, live.n AS live_offers,
             EXISTS (SELECT 1 FROM placed) AS placed
      FROM live`;
    if (row === undefined) throw new Error('offer placement returned no row');
    return {
      marketStatus: row.market_status,
      siteFound: row.site_found,
      liveOffers: row.live_offers,
      offer: row.placed
        ? {
            id,
            organisationId,
            market: offer.market,
            siteId: offer.siteId,
            gpus: offer.gpus,
            leasedGpus: 0,
            pricePerGpuHour: offer.pricePerGpuHour,
            availableFrom: offer.availableFrom,
            availableUntil: offer.availableUntil,
            minLeaseHours: offer.minLeaseHours,
            payPerUseMinPercent: offer.payPerUseMinPercent,
            terminationNoticeHours: offer.terminationNoticeHours,
            status: 'OPEN',
            seq: offer.seq,
            createdAt: offer.at,
            updatedAt: offer.at,
            cancelledAt: null,
          }
        : null,
    };
  }

  async listOffers(
    organisationId: string,
    filter: OfferFilter,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<OfferRecord[]> {
    return this.tx.offer.findMany({
      where: {
        organisationId,
        ...(filter.marketId === undefined ? {} : { marketId: filter.marketId }),
        ...(filter.siteId === undefined ? {} : { siteId: filter.siteId }),
        ...(filter.status === undefined ? {} : { status: filter.status }),
        ...afterPosition(after),
      },
      select: OFFER_SELECT,
      orderBy: NEWEST_FIRST,
      take: limit + 1,
    });
  }

  async findOffer(organisationId: string, offerId: string): Promise<OfferRecord | null> {
    return this.tx.offer.findFirst({ where: { id: offerId, organisationId }, select: OFFER_SELECT });
  }

  /**
   * Reads the offer with its row locked until commit, so an amendment decides on the leased
   * GPUs and status that its write will meet.
   */
  async findOfferForUpdate(organisationId: string, offerId: string): Promise<OfferRecord | null> {
    const locked = await this.tx.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM offers WHERE id = ${offerId}::uuid AND organisation_id = ${organisationId}::uuid FOR UPDATE`;
    if (locked.length === 0) return null;
    return this.findOffer(organisationId, offerId);
  }

  /** Applies an amendment if the offer is still live and its leases still fit; false otherwise. */
  async amendOffer(organisationId: string, offerId: string, amendment: OfferAmendment): Promise<boolean> {
    const { count } = await this.tx.offer.updateMany({
      where: {
        id: offerId,
        organisationId,
        status: { in: [...LIVE_OFFER_STATUSES] },
        leasedGpus: { lte: amendment.gpus },
      },
      data: {
        gpus: amendment.gpus,
        pricePerGpuHour: amendment.pricePerGpuHour,
        status: amendment.status,
        seq: amendment.seq,
        updatedAt: amendment.at,
      },
    });
    return count === 1;
  }

  /** Moves a live offer to CANCELLED; false when it is missing, not the caller's, or terminal. */
  async cancelOffer(organisationId: string, offerId: string, at: Date): Promise<boolean> {
    const { count } = await this.tx.offer.updateMany({
      where: { id: offerId, organisationId, status: { in: [...LIVE_OFFER_STATUSES] } },
      data: { status: 'CANCELLED', cancelledAt: at, updatedAt: at },
    });
    return count === 1;
  }

  /**
   * Moves every live offer of the organisation to CANCELLED (suspension): unleased capacity is
   * withdrawn, leases run on. At most the live-order cap of rows, so one statement.
   */
  async cancelLiveOffers(organisationId: string, at: Date): Promise<OfferRecord[]> {
    const cancelled = await this.tx.$queryRaw<Array<{ id: string }>>`
      UPDATE offers SET status = 'CANCELLED', cancelled_at = ${at}, updated_at = ${at}
      WHERE organisation_id = ${organisationId}::uuid
        AND status = ANY(${[...LIVE_OFFER_STATUSES]}::"OrderStatus"[])
      RETURNING id`;
    if (cancelled.length === 0) return [];
    return this.tx.offer.findMany({
      where: { organisationId, id: { in: cancelled.map((row) => row.id) } },
      select: OFFER_SELECT,
      orderBy: { seq: 'asc' },
    });
  }
}
