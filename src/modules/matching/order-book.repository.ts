import { Injectable } from '@nestjs/common';
import { Prisma } from '@/generated/prisma/client';
import type { BookOffer, OfferServing } from './domain/book';
import { idleOf, servingOf } from './matching.repository';
import { Tx } from '@/infra/prisma/tx';

interface OfferRow {
  id: string;
  organisation_id: string;
  verified: boolean;
  site_id: string;
  province: string;
  price: bigint;
  free: number;
  seq: bigint;
  available_from: Date;
  available_until: Date;
  min_lease_hours: number;
  pay_per_use_min_percent: number;
  serving: Record<string, OfferServing> | null;
  provider_score: number;
  idle_windows: unknown;
  reclaim_notice_minutes: number | null;
}

/** Reads one market's live book across tenants for the matching core (a system read). */
@Injectable()
export class OrderBookRepository {
  constructor(private readonly txHost: Tx) {}

  /**
   * Offers with free GPUs whose window has not ended, cheapest first, through the
   * (market, status, price, seq) index; `maxPrice` bounds the scan when the caller knows it.
   * `withServing` reads what each offer serves too, for inference bids.
   */
  async systemFindLiveOffers(
    marketId: string,
    now: Date,
    maxPrice?: bigint,
    withServing = false,
  ): Promise<BookOffer[]> {
    const serving = withServing ? servingOf(Prisma.sql`o.id`) : Prisma.sql`NULL::jsonb`;
    const rows = await this.txHost.tx.$queryRaw<OfferRow[]>`
      SELECT o.id, o.organisation_id, (org.status = 'VERIFIED') AS verified, o.site_id,
             s.province_code AS province, o.price_per_gpu_hour AS price,
             (o.gpus - o.leased_gpus) AS free, o.seq, o.available_from, o.available_until,
             o.min_lease_hours, o.pay_per_use_min_percent, ${serving} AS serving, org.reliability_score AS provider_score,
             o.idle_windows, o.reclaim_notice_minutes
      FROM offers o
      JOIN sites s ON s.id = o.site_id
      JOIN organisations org ON org.id = o.organisation_id
      WHERE o.market_id = ${marketId}::uuid
        AND o.status IN ('OPEN', 'PARTIALLY_FILLED')
        AND o.gpus > o.leased_gpus
        AND o.available_until > ${now}
        AND (${maxPrice ?? null}::bigint IS NULL OR o.price_per_gpu_hour <= ${maxPrice ?? null}::bigint)
      ORDER BY o.price_per_gpu_hour, o.seq`;
    return rows.map((row) => ({
      id: row.id,
      organisationId: row.organisation_id,
      verified: row.verified,
      siteId: row.site_id,
      province: row.province,
      price: row.price,
      free: Number(row.free),
      seq: row.seq,
      availableFrom: row.available_from.getTime(),
      availableUntil: row.available_until.getTime(),
      minLeaseHours: row.min_lease_hours,
      payPerUseMinPercent: row.pay_per_use_min_percent,
      ...(row.serving === null ? {} : { serving: row.serving }),
      providerScore: row.provider_score,
      ...idleOf(row.idle_windows, row.reclaim_notice_minutes),
    }));
  }
}
