import { Injectable } from '@nestjs/common';
import { Tx } from '@/infra/prisma/tx';

/** An order the sweep moved to EXPIRED. */
export interface ExpiredOrder {
  id: string;
  organisationId: string;
  marketId: string;
  market: string;
  currency: string;
  gpus: number;
  /** Bids: filled GPUs; offers: GPUs of leases that run on. */
  taken: number;
  /** Bids: the cap and duration their hold was taken at; offers: their ask and 0 hours. */
  pricePerGpuHour: bigint;
  durationHours: number;
}

interface ExpiredRow {
  id: string;
  organisation_id: string;
  market_id: string;
  market: string;
  currency: string;
  gpus: number;
  taken: number;
  price: bigint;
  duration_hours: number;
}

const toExpired = (row: ExpiredRow): ExpiredOrder => ({
  id: row.id,
  organisationId: row.organisation_id,
  marketId: row.market_id,
  market: row.market,
  currency: row.currency,
  gpus: row.gpus,
  taken: row.taken,
  pricePerGpuHour: row.price,
  durationHours: row.duration_hours,
});

/**
 * Time-driven order transitions across tenants (system methods). Each call expires at most
 * `limit` due orders, skipping rows another sweep or a placement holds, so several workers can
 * sweep at once and no statement holds many locks for long.
 */
@Injectable()
export class OrderExpiryRepository {
  constructor(private readonly txHost: Tx) {}

  /** Live bids whose expiresAt has come: EXPIRED (their filled part stays leased). */
  async systemExpireBids(now: Date, limit: number): Promise<ExpiredOrder[]> {
    const rows = await this.txHost.tx.$queryRaw<ExpiredRow[]>`
      WITH due AS (
        SELECT id FROM bids
        WHERE status IN ('OPEN', 'PARTIALLY_FILLED') AND expires_at <= ${now}
        ORDER BY expires_at LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      UPDATE bids b SET status = 'EXPIRED', updated_at = ${now}
      FROM due, markets m
      WHERE b.id = due.id AND m.id = b.market_id
      RETURNING b.id, b.organisation_id, b.market_id, m.slug AS market, m.currency, b.gpus, b.filled_gpus AS taken,
                b.max_price_per_gpu_hour AS price, b.duration_hours`;
    return rows.map(toExpired);
  }

  /** Live offers whose window has closed: EXPIRED (their leases run on). */
  async systemExpireOffers(now: Date, limit: number): Promise<ExpiredOrder[]> {
    const rows = await this.txHost.tx.$queryRaw<ExpiredRow[]>`
      WITH due AS (
        SELECT id FROM offers
        WHERE status IN ('OPEN', 'PARTIALLY_FILLED', 'FILLED') AND available_until <= ${now}
        ORDER BY available_until LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      UPDATE offers o SET status = 'EXPIRED', updated_at = ${now}
      FROM due, markets m
      WHERE o.id = due.id AND m.id = o.market_id
      RETURNING o.id, o.organisation_id, o.market_id, m.slug AS market, m.currency, o.gpus, o.leased_gpus AS taken,
                o.price_per_gpu_hour AS price, 0 AS duration_hours`;
    return rows.map(toExpired);
  }
}
