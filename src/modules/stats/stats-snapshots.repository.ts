import { Injectable } from '@nestjs/common';
import { Prisma } from '@/generated/prisma/client';
import { Tx } from '@/infra/prisma/tx';

/** One published idle window of an offer, clipped to a refresh's range. */
export interface IdleInterval {
  offerId: string;
  start: Date;
  end: Date;
}

/** CTE `hours(hs, he)`: the clock hours [hs, he) that start in [from, to). */
const hoursOf = (from: Date, to: Date): Prisma.Sql => Prisma.sql`hours AS (
  SELECT h AS hs, h + interval '1 hour' AS he
  FROM generate_series(${from}::timestamptz, ${to}::timestamptz - interval '1 hour', interval '1 hour') AS h
)`;

/**
 * Writes the hourly statistics snapshots (docs/STATS.md), across tenants (`system…`); a refresh
 * replaces its range in one transaction, so repeats and concurrent workers leave the same rows.
 */
@Injectable()
export class StatsSnapshotsRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  /**
   * Per site, market and hour in [from, to): GPU-seconds offered inside offers' windows, the part
   * of them held by leases (from match to end), GPU-hours traded, settled provider proceeds.
   */
  async systemRefreshSiteHours(
    from: Date,
    to: Date,
    now: Date,
    idle: readonly IdleInterval[],
  ): Promise<number> {
    await this.tx
      .$executeRaw`DELETE FROM stats_site_hours WHERE bucket_start >= ${from} AND bucket_start < ${to}`;
    return this.tx.$executeRaw`
      WITH ${hoursOf(from, to)},
      offer_window AS (
        SELECT o.id, o.site_id, o.market_id, o.organisation_id, s.province_code, o.gpus,
               o.idle_windows IS NOT NULL AS windowed,
               GREATEST(o.available_from, g.verified_at) AS ws,
               LEAST(o.available_until, COALESCE(o.cancelled_at, o.available_until)) AS we
        FROM offers o
        JOIN organisations g ON g.id = o.organisation_id
        JOIN sites s ON s.id = o.site_id
        WHERE g.verified_at IS NOT NULL
          AND o.available_from < ${to} AND o.available_until > ${from}
      ),
      idle AS (
        SELECT * FROM unnest(${idle.map((i) => i.offerId)}::uuid[], ${idle.map((i) => i.start)}::timestamptz[],
                             ${idle.map((i) => i.end)}::timestamptz[]) AS i(offer_id, s, e)
      ),
      -- An offer cancelled before its organisation was verified was never visible. An offer with
      -- idle windows offers only inside them: one row per window in the range.
      win AS (
        SELECT * FROM offer_window w WHERE ws < we AND NOT w.windowed
        UNION ALL
        SELECT w.id, w.site_id, w.market_id, w.organisation_id, w.province_code, w.gpus, w.windowed,
               GREATEST(w.ws, i.s), LEAST(w.we, i.e)
        FROM offer_window w JOIN idle i ON i.offer_id = w.id
        WHERE w.windowed AND GREATEST(w.ws, i.s) < LEAST(w.we, i.e)
      ),
      parts AS (
        SELECT w.site_id, w.market_id, w.organisation_id, w.province_code, hours.hs,
               w.gpus * floor(EXTRACT(EPOCH FROM LEAST(w.we, hours.he) - GREATEST(w.ws, hours.hs)))::bigint AS offered,
               0::bigint AS leased, 0::bigint AS traded, 0::bigint AS proceeds
        FROM win w JOIN hours ON w.ws < hours.he AND w.we > hours.hs
        UNION ALL
        SELECT w.site_id, w.market_id, w.organisation_id, w.province_code, hours.hs, 0,
               l.gpus * floor(EXTRACT(EPOCH FROM
                 LEAST(w.we, COALESCE(l.ended_at, l.ends_at, ${now}::timestamptz), hours.he)
                 - GREATEST(w.ws, l.created_at, hours.hs)))::bigint,
               0, 0
        FROM win w
        JOIN leases l ON l.offer_id = w.id
        JOIN hours ON GREATEST(w.ws, l.created_at, hours.hs)
                      < LEAST(w.we, COALESCE(l.ended_at, l.ends_at, ${now}::timestamptz), hours.he)
        UNION ALL
        SELECT l.site_id, l.market_id, l.provider_organisation_id, s.province_code,
               date_trunc('hour', l.created_at, 'UTC'), 0, 0, l.gpus::bigint * l.duration_hours, 0
        FROM leases l JOIN sites s ON s.id = l.site_id
        WHERE l.created_at >= ${from} AND l.created_at < ${to}
        UNION ALL
        SELECT l.site_id, l.market_id, l.provider_organisation_id, s.province_code,
               date_trunc('hour', p.settled_at, 'UTC'), 0, 0, 0, p.cost - p.spread - p.fee
        FROM lease_periods p JOIN leases l ON l.id = p.lease_id JOIN sites s ON s.id = l.site_id
        WHERE p.settled_at >= ${from} AND p.settled_at < ${to}
      )
      INSERT INTO stats_site_hours (site_id, market_id, bucket_start, organisation_id, province_code,
        offered_gpu_seconds, leased_gpu_seconds, traded_gpu_hours, proceeds_minor, computed_at)
      SELECT site_id, market_id, hs, organisation_id, province_code,
             SUM(offered), SUM(leased), SUM(traded), SUM(proceeds), ${now}
      FROM parts
      GROUP BY site_id, market_id, hs, organisation_id, province_code
      ON CONFLICT (site_id, market_id, bucket_start) DO UPDATE SET
        offered_gpu_seconds = EXCLUDED.offered_gpu_seconds,
        leased_gpu_seconds = EXCLUDED.leased_gpu_seconds,
        traded_gpu_hours = EXCLUDED.traded_gpu_hours,
        proceeds_minor = EXCLUDED.proceeds_minor,
        computed_at = EXCLUDED.computed_at`;
  }

  /** Offers with idle windows that meet [from, to), as stored (docs/STATS.md). */
  async systemIdleWindowOffers(
    from: Date,
    to: Date,
  ): Promise<Array<{ id: string; idleWindows: unknown; reclaimNoticeMinutes: number | null }>> {
    return this.tx.$queryRaw`
      SELECT id::text, idle_windows AS "idleWindows", reclaim_notice_minutes AS "reclaimNoticeMinutes"
      FROM offers
      WHERE idle_windows IS NOT NULL AND available_from < ${to} AND available_until > ${from}`;
  }

  /**
   * Per market and hour in [from, to): bids closed (fill rate, unmet demand), first and full
   * fills with their waits, bids open over an hour at the hour's end, trades and their prices.
   * A bid still open past its expiry counts as expired at `expires_at` (the sweep may lag).
   */
  async systemRefreshMarketHours(from: Date, to: Date, now: Date): Promise<number> {
    await this.tx
      .$executeRaw`DELETE FROM stats_market_hours WHERE bucket_start >= ${from} AND bucket_start < ${to}`;
    return this.tx.$executeRaw`
      WITH ${hoursOf(from, to)},
      bid_state AS (
        SELECT b.id, b.market_id, b.gpus, b.filled_gpus, b.duration_hours, b.expires_at,
               GREATEST(b.created_at, g.verified_at) AS placed_at,
               f.first_fill, f.last_fill,
               CASE
                 WHEN b.status = 'CANCELLED' THEN 'CANCELLED'
                 WHEN b.status = 'EXPIRED' OR (b.status IN ('OPEN', 'PARTIALLY_FILLED') AND b.expires_at <= ${now})
                   THEN 'EXPIRED'
                 WHEN b.status = 'FILLED' THEN 'FILLED'
               END AS closed_as,
               CASE
                 WHEN b.status = 'CANCELLED' THEN b.cancelled_at
                 WHEN b.status = 'EXPIRED' OR (b.status IN ('OPEN', 'PARTIALLY_FILLED') AND b.expires_at <= ${now})
                   THEN b.expires_at
                 WHEN b.status = 'FILLED' THEN f.last_fill
               END AS closed_at
        FROM bids b
        JOIN organisations g ON g.id = b.organisation_id
        LEFT JOIN LATERAL (
          SELECT MIN(l.created_at) AS first_fill, MAX(l.created_at) AS last_fill FROM leases l WHERE l.bid_id = b.id
        ) f ON true
        WHERE g.verified_at IS NOT NULL
          AND b.created_at < ${to}
          AND (b.status IN ('OPEN', 'PARTIALLY_FILLED') OR b.updated_at >= ${from})
      ),
      -- A bid that closed before its organisation was verified was never visible.
      bid AS (SELECT * FROM bid_state WHERE closed_at IS NULL OR closed_at >= placed_at),
      parts AS (
        SELECT market_id, date_trunc('hour', closed_at, 'UTC') AS hs,
               1 AS closed_bids, gpus::bigint * duration_hours AS closed_gh,
               filled_gpus::bigint * duration_hours AS filled_gh,
               CASE WHEN closed_as = 'EXPIRED' THEN (gpus - filled_gpus)::bigint * duration_hours ELSE 0 END AS unmet_expired,
               CASE WHEN closed_as = 'CANCELLED' THEN (gpus - filled_gpus)::bigint * duration_hours ELSE 0 END AS unmet_cancelled,
               0 AS first_fills, 0::bigint AS first_wait, 0 AS full_fills, 0::bigint AS full_wait,
               0 AS stale_bids, 0::bigint AS stale_gh
        FROM bid WHERE closed_at >= ${from} AND closed_at < ${to}
        UNION ALL
        SELECT market_id, date_trunc('hour', first_fill, 'UTC'), 0, 0, 0, 0, 0,
               1, floor(EXTRACT(EPOCH FROM first_fill - placed_at))::bigint, 0, 0, 0, 0
        FROM bid WHERE first_fill >= ${from} AND first_fill < ${to}
        UNION ALL
        SELECT market_id, date_trunc('hour', last_fill, 'UTC'), 0, 0, 0, 0, 0,
               0, 0, 1, floor(EXTRACT(EPOCH FROM last_fill - placed_at))::bigint, 0, 0
        FROM bid WHERE closed_as = 'FILLED' AND last_fill >= ${from} AND last_fill < ${to}
        UNION ALL
        SELECT bid.market_id, hours.hs, 0, 0, 0, 0, 0, 0, 0, 0, 0,
               1, (bid.gpus - filled.gpus)::bigint * bid.duration_hours
        FROM bid
        JOIN hours ON bid.placed_at <= hours.he - interval '1 hour'
                  AND (bid.closed_at IS NULL OR bid.closed_at > hours.he)
                  AND bid.expires_at > hours.he
        CROSS JOIN LATERAL (
          SELECT COALESCE(SUM(l.gpus), 0) AS gpus FROM leases l WHERE l.bid_id = bid.id AND l.created_at <= hours.he
        ) filled
        WHERE bid.gpus > filled.gpus
      ),
      demand AS (
        SELECT market_id, hs, SUM(closed_bids)::int AS closed_bids, SUM(closed_gh) AS closed_gh,
               SUM(filled_gh) AS filled_gh, SUM(unmet_expired) AS unmet_expired,
               SUM(unmet_cancelled) AS unmet_cancelled, SUM(first_fills)::int AS first_fills,
               SUM(first_wait) AS first_wait, SUM(full_fills)::int AS full_fills, SUM(full_wait) AS full_wait,
               SUM(stale_bids)::int AS stale_bids, SUM(stale_gh) AS stale_gh
        FROM parts GROUP BY market_id, hs
      ),
      trades AS (
        SELECT l.market_id, date_trunc('hour', l.created_at, 'UTC') AS hs,
               COUNT(*)::int AS trades, SUM(l.gpus::bigint * l.duration_hours) AS traded_gh,
               COUNT(DISTINCT l.provider_organisation_id)::int AS providers,
               (array_agg(l.price_per_gpu_hour ORDER BY l.created_at, l.id))[1] AS p_open,
               MAX(l.price_per_gpu_hour) AS p_high, MIN(l.price_per_gpu_hour) AS p_low,
               (array_agg(l.price_per_gpu_hour ORDER BY l.created_at DESC, l.id DESC))[1] AS p_close,
               SUM(l.price_per_gpu_hour * l.gpus * l.duration_hours) AS notional
        FROM leases l
        WHERE l.created_at >= ${from} AND l.created_at < ${to}
        GROUP BY l.market_id, date_trunc('hour', l.created_at, 'UTC')
      )
      INSERT INTO stats_market_hours (market_id, bucket_start, closed_bids, closed_bid_gpu_hours,
        closed_filled_gpu_hours, unmet_expired_gpu_hours, unmet_cancelled_gpu_hours, first_fills,
        first_fill_wait_seconds, full_fills, full_fill_wait_seconds, stale_open_bids,
        stale_open_bid_gpu_hours, trades, traded_gpu_hours, trade_providers, price_open, price_high,
        price_low, price_close, notional_minor, computed_at)
      SELECT COALESCE(d.market_id, t.market_id), COALESCE(d.hs, t.hs),
             COALESCE(d.closed_bids, 0), COALESCE(d.closed_gh, 0), COALESCE(d.filled_gh, 0),
             COALESCE(d.unmet_expired, 0), COALESCE(d.unmet_cancelled, 0), COALESCE(d.first_fills, 0),
             COALESCE(d.first_wait, 0), COALESCE(d.full_fills, 0), COALESCE(d.full_wait, 0),
             COALESCE(d.stale_bids, 0), COALESCE(d.stale_gh, 0),
             COALESCE(t.trades, 0), COALESCE(t.traded_gh, 0), COALESCE(t.providers, 0),
             t.p_open, t.p_high, t.p_low, t.p_close, COALESCE(t.notional, 0), ${now}
      FROM demand d FULL OUTER JOIN trades t ON t.market_id = d.market_id AND t.hs = d.hs
      ON CONFLICT (market_id, bucket_start) DO UPDATE SET
        closed_bids = EXCLUDED.closed_bids, closed_bid_gpu_hours = EXCLUDED.closed_bid_gpu_hours,
        closed_filled_gpu_hours = EXCLUDED.closed_filled_gpu_hours,
        unmet_expired_gpu_hours = EXCLUDED.unmet_expired_gpu_hours,
        unmet_cancelled_gpu_hours = EXCLUDED.unmet_cancelled_gpu_hours,
        first_fills = EXCLUDED.first_fills, first_fill_wait_seconds = EXCLUDED.first_fill_wait_seconds,
        full_fills = EXCLUDED.full_fills, full_fill_wait_seconds = EXCLUDED.full_fill_wait_seconds,
        stale_open_bids = EXCLUDED.stale_open_bids, stale_open_bid_gpu_hours = EXCLUDED.stale_open_bid_gpu_hours,
        trades = EXCLUDED.trades, traded_gpu_hours = EXCLUDED.traded_gpu_hours,
        trade_providers = EXCLUDED.trade_providers, price_open = EXCLUDED.price_open,
        price_high = EXCLUDED.price_high, price_low = EXCLUDED.price_low, price_close = EXCLUDED.price_close,
        notional_minor = EXCLUDED.notional_minor, computed_at = EXCLUDED.computed_at`;
  }

  /**
   * Offers placed in [from, to), by market, province, hour and ask, with how many got a lease
   * within 24 h. Placed = the first instant it could be leased: created, inside its window, its
   * organisation verified.
   */
  async systemRefreshOfferOutcomes(from: Date, to: Date, now: Date): Promise<number> {
    await this.tx
      .$executeRaw`DELETE FROM stats_offer_outcomes WHERE bucket_start >= ${from} AND bucket_start < ${to}`;
    return this.tx.$executeRaw`
      WITH listed AS (
        SELECT o.id, o.market_id, s.province_code, o.price_per_gpu_hour,
               o.available_until, o.cancelled_at,
               GREATEST(o.created_at, o.available_from, g.verified_at) AS placed_at
        FROM offers o
        JOIN organisations g ON g.id = o.organisation_id
        JOIN sites s ON s.id = o.site_id
        WHERE g.verified_at IS NOT NULL
      ),
      -- Placed = when it could first be leased; one withdrawn or over by then never could.
      placed AS (
        SELECT * FROM listed
        WHERE placed_at >= ${from} AND placed_at < ${to}
          AND placed_at < LEAST(available_until, COALESCE(cancelled_at, available_until))
      )
      INSERT INTO stats_offer_outcomes (market_id, province_code, bucket_start, price_per_gpu_hour,
        offers, leased_within_24h, computed_at)
      SELECT p.market_id, p.province_code, date_trunc('hour', p.placed_at, 'UTC'), p.price_per_gpu_hour,
             COUNT(*)::int,
             COUNT(*) FILTER (WHERE EXISTS (
               SELECT 1 FROM leases l WHERE l.offer_id = p.id AND l.created_at < p.placed_at + interval '24 hours'
             ))::int,
             ${now}
      FROM placed p
      GROUP BY p.market_id, p.province_code, date_trunc('hour', p.placed_at, 'UTC'), p.price_per_gpu_hour
      ON CONFLICT (market_id, province_code, bucket_start, price_per_gpu_hour) DO UPDATE SET
        offers = EXCLUDED.offers, leased_within_24h = EXCLUDED.leased_within_24h,
        computed_at = EXCLUDED.computed_at`;
  }
}
