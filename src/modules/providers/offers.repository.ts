import { Injectable } from '@nestjs/common';
import type { OrderStatus } from '@/generated/prisma/enums';
import { afterPosition, NEWEST_FIRST, type KeysetPosition } from '@/infra/pagination/cursor-codec';
import { Tx } from '@/infra/prisma/tx';
import { ownedKey } from '@/shared/owned-key';
import type { OfferRecord } from '@/modules/markets/order-state.service';

export type {
  NewOffer,
  OfferAmendment,
  OfferPlacement,
  OfferRecord,
} from '@/modules/markets/order-state.service';

export interface OfferFilter {
  marketId?: string;
  siteId?: string;
  status?: OrderStatus;
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
  idleWindows: true,
  reclaimNoticeMinutes: true,
  slo: true,
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

  /** These offers as they are now, each only if it is its organisation's; by `ownedKey`; missing ones absent. */
  async findOffers(
    wanted: ReadonlyArray<{ organisationId: string; offerId: string }>,
  ): Promise<Map<string, OfferRecord>> {
    if (wanted.length === 0) return new Map();
    const rows = await this.tx.$queryRaw<
      Array<Omit<OfferRecord, 'market'> & { slug: string; currency: string; currencyScale: number }>
    >`
      SELECT o.id::text, o.organisation_id::text AS "organisationId", m.slug, m.currency,
             m.currency_scale AS "currencyScale", o.site_id::text AS "siteId", o.gpus,
             o.leased_gpus AS "leasedGpus", o.price_per_gpu_hour AS "pricePerGpuHour",
             o.available_from AS "availableFrom", o.available_until AS "availableUntil",
             o.min_lease_hours AS "minLeaseHours", o.pay_per_use_min_percent AS "payPerUseMinPercent",
             o.termination_notice_hours AS "terminationNoticeHours", o.idle_windows AS "idleWindows",
             o.reclaim_notice_minutes AS "reclaimNoticeMinutes", o.slo,
             o.status::text AS status, o.seq, o.created_at AS "createdAt", o.updated_at AS "updatedAt",
             o.cancelled_at AS "cancelledAt"
      FROM offers o
      JOIN unnest(${wanted.map((w) => w.offerId)}::uuid[], ${wanted.map((w) => w.organisationId)}::uuid[])
        AS w(id, organisation_id) ON o.id = w.id AND o.organisation_id = w.organisation_id
      JOIN markets m ON m.id = o.market_id`;
    return new Map(
      rows.map(({ slug, currency, currencyScale, ...offer }) => [
        ownedKey(offer.organisationId, offer.id),
        { ...offer, market: { slug, currency, currencyScale } },
      ]),
    );
  }

  /** Offers of the organisation by id, oldest first (those a suspension just cancelled). */
  async findOffersByIds(organisationId: string, ids: readonly string[]): Promise<OfferRecord[]> {
    if (ids.length === 0) return [];
    return this.tx.offer.findMany({
      where: { organisationId, id: { in: [...ids] } },
      select: OFFER_SELECT,
      orderBy: { seq: 'asc' },
    });
  }
}
