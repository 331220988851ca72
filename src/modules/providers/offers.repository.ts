import { Injectable } from '@nestjs/common';
import type { OrderStatus } from '@/generated/prisma/enums';
import { afterPosition, NEWEST_FIRST, type KeysetPosition } from '@/infra/pagination/cursor-codec';
import { uuidV7 } from '@/shared/uuid-v7';
import { idleWindowsJson, type IdleWindowsSpec } from './domain/idle-windows';
import { LIVE_OFFER_STATUSES, type LiveOfferStatus } from './domain/offer-rules';
import { Tx } from '@/infra/prisma/tx';
import { ownedKey } from '@/shared/owned-key';
import type { Slo } from '@/modules/slo/domain/slo-rules';

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
  /** As stored (`idleWindowsOf` reads it with the notice); null: no idle windows. */
  idleWindows: unknown;
  reclaimNoticeMinutes: number | null;
  /** The SLO as stored (slo/domain/slo-rules `Slo`, JSON), or null. */
  slo: unknown;
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
  idleWindows: IdleWindowsSpec | null;
  /** Checked by slo-rules' parseOfferSlo; null: no SLO. */
  slo: Slo | null;
  seq: bigint;
  at: Date;
}

/**
 * What the placement statement saw of one offer of a group commit: whether the site is the
 * caller's, and the organisation's live offers before it (the batch's earlier ones counted);
 * `offer` is null when either refused it.
 */
export interface OfferPlacement {
  offer: OfferRecord | null;
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

  /**
   * Inserts a group commit's offers OPEN, in one statement, each only if its site is its
   * organisation's and the organisation has fewer than `maxLive` live offers before it (those
   * already live, plus the batch's earlier offers that passed the site check): the caller holds
   * every organisation's placement lock and checked the markets, so the count, taken in this
   * statement's snapshot, sees every earlier placement. Outcomes come in the offers' order.
   */
  async placeOffers(
    offers: ReadonlyArray<NewOffer & { organisationId: string }>,
    maxLive: number,
  ): Promise<OfferPlacement[]> {
    if (offers.length === 0) return [];
    const ids = offers.map((offer) => uuidV7(offer.at));
    const idleWindows = offers.map((o) =>
      o.idleWindows === null ? null : JSON.stringify(idleWindowsJson(o.idleWindows)),
    );
    const rows = await this.tx.$queryRaw<
      Array<{ site_found: boolean; live_before: number; placed: boolean }>
    >`
      WITH input AS (
        SELECT * FROM unnest(
          ${ids}::uuid[], ${offers.map((o) => o.organisationId)}::uuid[], ${offers.map((o) => o.marketId)}::uuid[],
          ${offers.map((o) => o.siteId)}::uuid[], ${offers.map((o) => o.gpus)}::int[],
          ${offers.map((o) => o.pricePerGpuHour.toString())}::bigint[],
          ${offers.map((o) => o.availableFrom.toISOString())}::timestamptz[],
          ${offers.map((o) => o.availableUntil.toISOString())}::timestamptz[],
          ${offers.map((o) => o.minLeaseHours)}::int[], ${offers.map((o) => o.payPerUseMinPercent)}::int[],
          ${offers.map((o) => o.terminationNoticeHours)}::int[],
          ${offers.map((o) => (o.slo === null ? null : JSON.stringify(o.slo)))}::jsonb[],
          ${offers.map((o) => o.seq.toString())}::bigint[], ${offers.map((o) => o.at.toISOString())}::timestamptz[],
          ${idleWindows}::text[], ${offers.map((o) => o.idleWindows?.reclaimNoticeMinutes ?? null)}::int[])
          WITH ORDINALITY
          AS i(id, organisation_id, market_id, site_id, gpus, price, available_from, available_until,
               min_lease_hours, pay_per_use_min_percent, termination_notice_hours, slo, seq, at, idle_windows,
               reclaim_notice_minutes, ord)),
      live AS (
        SELECT organisation_id, count(*)::int AS n FROM offers
        WHERE organisation_id IN (SELECT organisation_id FROM input)
          AND status = ANY(${[...LIVE_OFFER_STATUSES]}::"OrderStatus"[])
        GROUP BY organisation_id),
      checked AS MATERIALIZED (
        SELECT i.*, s.id IS NOT NULL AS site_found,
               (coalesce(l.n, 0) + count(s.id) OVER (
                  PARTITION BY i.organisation_id ORDER BY i.ord
                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING))::int AS live_before
        FROM input i
        LEFT JOIN sites s ON s.id = i.site_id AND s.organisation_id = i.organisation_id
        LEFT JOIN live l ON l.organisation_id = i.organisation_id),
      placed AS (
        INSERT INTO offers (id, organisation_id, market_id, site_id, gpus, leased_gpus, price_per_gpu_hour,
                            available_from, available_until, min_lease_hours, pay_per_use_min_percent,
                            termination_notice_hours, slo, status, seq, created_at, updated_at, idle_windows,
                            reclaim_notice_minutes)
        SELECT id, organisation_id, market_id, site_id, gpus, 0, price, available_from, available_until,
               min_lease_hours, pay_per_use_min_percent, termination_notice_hours, slo, 'OPEN', seq, at, at,
               idle_windows::jsonb, reclaim_notice_minutes
        FROM checked
        WHERE site_found AND live_before < ${maxLive}::int
        ORDER BY ord
        RETURNING id)
      SELECT c.site_found, c.live_before, EXISTS (SELECT 1 FROM placed p WHERE p.id = c.id) AS placed
      FROM checked c ORDER BY c.ord`;
    if (rows.length !== offers.length) throw new Error('offer placement answered a different number of rows');
    return offers.map((offer, n) => {
      const row = rows[n]!;
      return {
        siteFound: row.site_found,
        liveOffers: row.live_before,
        offer: row.placed
          ? {
              id: ids[n]!,
              organisationId: offer.organisationId,
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
              idleWindows: offer.idleWindows === null ? null : idleWindowsJson(offer.idleWindows),
              reclaimNoticeMinutes: offer.idleWindows?.reclaimNoticeMinutes ?? null,
              slo: offer.slo,
              status: 'OPEN',
              seq: offer.seq,
              createdAt: offer.at,
              updatedAt: offer.at,
              cancelledAt: null,
            }
          : null,
      };
    });
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

  /**
   * Moves the live ones of these offers to CANCELLED, each only if it is its organisation's, in
   * one statement; returns the `ownedKey`s it moved (a missing, foreign or terminal offer is not).
   */
  async cancelOffers(
    cancels: ReadonlyArray<{ organisationId: string; offerId: string; at: Date }>,
  ): Promise<Set<string>> {
    if (cancels.length === 0) return new Set();
    const rows = await this.tx.$queryRaw<Array<{ organisation_id: string; id: string }>>`
      UPDATE offers o SET status = 'CANCELLED', cancelled_at = c.at, updated_at = c.at
      FROM (SELECT DISTINCT ON (id, organisation_id) * FROM unnest(
              ${cancels.map((c) => c.offerId)}::uuid[], ${cancels.map((c) => c.organisationId)}::uuid[],
              ${cancels.map((c) => c.at.toISOString())}::timestamptz[]) AS c(id, organisation_id, at)) c
      WHERE o.id = c.id AND o.organisation_id = c.organisation_id
        AND o.status = ANY(${[...LIVE_OFFER_STATUSES]}::"OrderStatus"[])
      RETURNING o.organisation_id::text AS organisation_id, o.id::text`;
    return new Set(rows.map((row) => ownedKey(row.organisation_id, row.id)));
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
