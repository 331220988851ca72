import { Injectable } from '@nestjs/common';
import type { BookOffer } from './domain/book';
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
}

/** Reads one market's live book across tenants for the matching core (a system read). */
@Injectable()
export class OrderBookRepository {
  constructor(private readonly txHost: Tx) {}

  /**
   * Offers with free GPUs whose window has not ended, cheapest first, through the
   * (market, status, price, seq) index; `maxPrice` bounds the scan when the caller knows it.
   */
  async systemFindLiveOffers(marketId: string, now: Date, maxPrice?: bigint): Promise<BookOffer[]> {
    const rows = await this.txHost.tx.$queryRaw<OfferRow[]>`
      SELECT o.id, o.organisation_id, (org.status = 'VERIFIED') AS verified, o.site_id,
             s.province_code AS province, o.price_per_gpu_hour AS price,
             (o.gpus - o.leased_gpus) AS free, o.seq, o.available_from, o.available_until,
             o.min_lease_hours
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
    }));
  }
}
