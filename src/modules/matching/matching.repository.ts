import { Injectable } from '@nestjs/common';
import type { LeaseBillingMode, LeaseTerms, RunBid, RunBook, RunOffer } from './domain/run-book';
import { Tx } from '../../infra/prisma/tx';

interface MarketRow {
  slug: string;
  currency: string;
  currency_scale: number;
  status: 'ACTIVE' | 'PAUSED';
  fee_bps: number;
  epoch: bigint;
}

interface BidRow {
  id: string;
  organisation_id: string;
  price: bigint;
  remaining: number;
  seq: bigint;
  duration_hours: number;
  provinces: string[];
  min_gpus_per_site: number;
  partial_allowed: boolean;
  expires_at: Date;
  billing_mode: LeaseBillingMode;
}

interface OfferRow {
  id: string;
  organisation_id: string;
  site_id: string;
  province: string;
  price: bigint;
  free: number;
  seq: bigint;
  available_from: Date;
  available_until: Date;
  min_lease_hours: number;
  pay_per_use_min_percent: number;
}

/** An order's status as matching reports it (the database enum, spelled out here). */
export type OrderState = 'OPEN' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELLED' | 'EXPIRED';

/** One order's increment in a run's commit, guarded by the seq the run read. */
export interface OrderIncrement {
  id: string;
  seq: bigint;
  gpus: number;
  /** Offers: the longest lease the run gives from it, which its window must still hold. */
  hours: number;
}

/** An order after a run's commit, for its `order.filled` event. */
export interface FilledOrder {
  id: string;
  organisationId: string;
  gpus: number;
  /** Bids: filled GPUs; offers: leased GPUs. */
  taken: number;
  status: OrderState;
}

export interface CreatedLease {
  id: string;
  bidId: string;
  offerId: string;
}

// Orders a run may fill: the statuses that can still trade (an offer's FILLED has no free GPUs).
const LIVE = ['OPEN', 'PARTIALLY_FILLED'];

/**
 * Matching's reads and writes across tenants (system methods: a run sees the whole market).
 * Every write of a run's commit is conditional, so a book that moved since the run read it
 * fails the commit instead of overselling; the database triggers catch anything else.
 */
@Injectable()
export class MatchingRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  async systemMarketIdBySlug(slug: string): Promise<string | null> {
    const market = await this.tx.market.findUnique({ where: { slug }, select: { id: true } });
    return market?.id ?? null;
  }

  /**
   * The market's tradeable book at `now`, read for one run; call inside one REPEATABLE READ
   * transaction so the epoch and both sides come from one snapshot. Bids priced below every
   * live ask and offers priced above every live bid cannot trade, so the index bounds both reads.
   */
  async systemReadBook(marketId: string, now: Date): Promise<RunBook | null> {
    const [market] = await this.tx.$queryRaw<MarketRow[]>`
      SELECT m.slug, m.currency, m.currency_scale, m.status, m.fee_bps, mm.epoch
      FROM markets m JOIN market_matching mm ON mm.market_id = m.id
      WHERE m.id = ${marketId}::uuid`;
    if (market === undefined) return null;
    const header = {
      marketId,
      market: market.slug,
      currency: market.currency,
      currencyScale: market.currency_scale,
      paused: market.status === 'PAUSED',
      feeBps: market.fee_bps,
      epoch: market.epoch,
    };
    if (header.paused) return { ...header, bids: [], offers: [] };
    const bids = await this.tx.$queryRaw<BidRow[]>`
      SELECT b.id, b.organisation_id, b.max_price_per_gpu_hour AS price,
             (b.gpus - b.filled_gpus) AS remaining, b.seq, b.duration_hours, b.provinces,
             b.min_gpus_per_site, b.partial_allowed, b.expires_at, b.billing_mode
      FROM bids b JOIN organisations org ON org.id = b.organisation_id AND org.status = 'VERIFIED'
      WHERE b.market_id = ${marketId}::uuid
        AND b.status = ANY(${LIVE}::"OrderStatus"[])
        AND b.expires_at > ${now}
        AND b.max_price_per_gpu_hour >= (
          SELECT min(o.price_per_gpu_hour) FROM offers o
          WHERE o.market_id = ${marketId}::uuid AND o.status = ANY(${LIVE}::"OrderStatus"[])
            AND o.gpus > o.leased_gpus AND o.available_from <= ${now} AND o.available_until > ${now})`;
    if (bids.length === 0) return { ...header, bids: [], offers: [] };
    let maxPrice = 0n;
    for (const bid of bids) if (bid.price > maxPrice) maxPrice = bid.price;
    const offers = await this.tx.$queryRaw<OfferRow[]>`
      SELECT o.id, o.organisation_id, o.site_id, s.province_code AS province,
             o.price_per_gpu_hour AS price, (o.gpus - o.leased_gpus) AS free, o.seq,
             o.available_from, o.available_until, o.min_lease_hours, o.pay_per_use_min_percent
      FROM offers o
      JOIN sites s ON s.id = o.site_id
      JOIN organisations org ON org.id = o.organisation_id AND org.status = 'VERIFIED'
      WHERE o.market_id = ${marketId}::uuid
        AND o.status = ANY(${LIVE}::"OrderStatus"[])
        AND o.gpus > o.leased_gpus
        AND o.available_from <= ${now} AND o.available_until > ${now}
        AND o.price_per_gpu_hour <= ${maxPrice}`;
    return {
      ...header,
      bids: bids.map((row): RunBid => ({
        id: row.id,
        organisationId: row.organisation_id,
        verified: true,
        price: row.price,
        remaining: Number(row.remaining),
        seq: row.seq,
        durationHours: row.duration_hours,
        provinces: row.provinces,
        minGpusPerSite: row.min_gpus_per_site,
        partialAllowed: row.partial_allowed,
        expiresAt: row.expires_at.getTime(),
        billingMode: row.billing_mode,
      })),
      offers: offers.map((row): RunOffer => ({
        id: row.id,
        organisationId: row.organisation_id,
        verified: true,
        siteId: row.site_id,
        province: row.province,
        price: row.price,
        free: Number(row.free),
        seq: row.seq,
        availableFrom: row.available_from.getTime(),
        availableUntil: row.available_until.getTime(),
        minLeaseHours: row.min_lease_hours,
        payPerUseMinPercent: row.pay_per_use_min_percent,
      })),
    };
  }

  /**
   * Bounds what a commit can hold: a worker stopped inside one (SIGSTOP, a long GC) loses its
   * transaction instead of blocking cancels and amendments on the rows it locked.
   */
  async systemBoundCommitLocks(): Promise<void> {
    await this.tx.$queryRaw`
      SELECT set_config('lock_timeout', '5s', true),
             set_config('idle_in_transaction_session_timeout', '10s', true)`;
  }

  /**
   * The fence: moves the market's epoch from `expected` to the next and returns it with the fee
   * to stamp on the run's leases; `stale` when another run has committed since this one read the
   * book, `paused` when the market is paused now. The share lock on the market row serialises the
   * commit with an admin pause or fee change (which update that row): a commit either finishes
   * before the change commits or sees it. The market_matching row lock serialises concurrent
   * commits of one market.
   */
  async systemAdvanceEpoch(
    marketId: string,
    expected: bigint,
    now: Date,
  ): Promise<{ epoch: bigint; feeBps: number } | 'stale' | 'paused'> {
    const [market] = await this.tx.$queryRaw<Array<{ status: string; fee_bps: number }>>`
      SELECT status, fee_bps FROM markets WHERE id = ${marketId}::uuid FOR SHARE`;
    if (market === undefined || market.status === 'PAUSED') return 'paused';
    const rows = await this.tx.$queryRaw<Array<{ epoch: bigint }>>`
      UPDATE market_matching
      SET epoch = epoch + 1, commits = commits + 1, last_commit_at = ${now}
      WHERE market_id = ${marketId}::uuid AND epoch = ${expected}
      RETURNING epoch`;
    const epoch = rows[0]?.epoch;
    return epoch === undefined ? 'stale' : { epoch, feeBps: market.fee_bps };
  }

  /** Counts a commit the fence rejected (a stalled run); outside the rolled-back transaction. */
  async systemCountStaleCommit(marketId: string): Promise<void> {
    await this.tx.$executeRaw`
      UPDATE market_matching SET stale_commits = stale_commits + 1 WHERE market_id = ${marketId}::uuid`;
  }

  /**
   * Adds fills to bids that are still as the run read them: same seq, live, unexpired, owner
   * verified, room left. Returns the bids updated; fewer than asked means the book moved.
   */
  async systemFillBids(increments: readonly OrderIncrement[], now: Date): Promise<FilledOrder[]> {
    const rows = await this.tx.$queryRaw<
      Array<{ id: string; organisation_id: string; gpus: number; filled_gpus: number; status: OrderState }>
    >`
      UPDATE bids b
      SET filled_gpus = b.filled_gpus + v.gpus,
          status = (CASE WHEN b.filled_gpus + v.gpus = b.gpus THEN 'FILLED' ELSE 'PARTIALLY_FILLED' END)::"OrderStatus",
          updated_at = ${now}
      FROM unnest(${increments.map((i) => i.id)}::uuid[], ${increments.map((i) => i.seq.toString())}::bigint[],
                  ${increments.map((i) => i.gpus)}::int[]) AS v(id, seq, gpus)
      WHERE b.id = v.id AND b.seq = v.seq
        AND b.status = ANY(${LIVE}::"OrderStatus"[])
        AND b.expires_at > ${now}
        AND b.filled_gpus + v.gpus <= b.gpus
        AND EXISTS (SELECT 1 FROM organisations org WHERE org.id = b.organisation_id AND org.status = 'VERIFIED')
      RETURNING b.id, b.organisation_id, b.gpus, b.filled_gpus, b.status`;
    return rows.map((row) => ({
      id: row.id,
      organisationId: row.organisation_id,
      gpus: row.gpus,
      taken: row.filled_gpus,
      status: row.status,
    }));
  }

  /**
   * Leases GPUs of offers that are still as the run read them: same seq (so the same ask), live,
   * window open and long enough for the run's leases, owner verified, enough free GPUs. Returns
   * the offers updated.
   */
  async systemLeaseOffers(increments: readonly OrderIncrement[], now: Date): Promise<FilledOrder[]> {
    const rows = await this.tx.$queryRaw<
      Array<{ id: string; organisation_id: string; gpus: number; leased_gpus: number; status: OrderState }>
    >`
      UPDATE offers o
      SET leased_gpus = o.leased_gpus + v.gpus,
          status = (CASE WHEN o.leased_gpus + v.gpus = o.gpus THEN 'FILLED' ELSE 'PARTIALLY_FILLED' END)::"OrderStatus",
          updated_at = ${now}
      FROM unnest(${increments.map((i) => i.id)}::uuid[], ${increments.map((i) => i.seq.toString())}::bigint[],
                  ${increments.map((i) => i.gpus)}::int[], ${increments.map((i) => i.hours)}::int[]) AS v(id, seq, gpus, hours)
      WHERE o.id = v.id AND o.seq = v.seq
        AND o.status = ANY(${LIVE}::"OrderStatus"[])
        AND o.available_from <= ${now}
        AND o.available_until >= ${now}::timestamptz + make_interval(hours => v.hours)
        AND o.gpus - o.leased_gpus >= v.gpus
        AND EXISTS (SELECT 1 FROM organisations org WHERE org.id = o.organisation_id AND org.status = 'VERIFIED')
      RETURNING o.id, o.organisation_id, o.gpus, o.leased_gpus, o.status`;
    return rows.map((row) => ({
      id: row.id,
      organisationId: row.organisation_id,
      gpus: row.gpus,
      taken: row.leased_gpus,
      status: row.status,
    }));
  }

  /** One SCHEDULED lease per fill, stamped with the epoch of the commit that creates them. */
  async systemCreateLeases(
    marketId: string,
    epoch: bigint,
    leases: readonly LeaseTerms[],
    now: Date,
  ): Promise<CreatedLease[]> {
    return this.tx.lease.createManyAndReturn({
      data: leases.map((lease) => ({
        marketId,
        offerId: lease.offerId,
        bidId: lease.bidId,
        providerOrganisationId: lease.providerOrganisationId,
        buyerOrganisationId: lease.buyerOrganisationId,
        siteId: lease.siteId,
        gpus: lease.gpus,
        pricePerGpuHour: lease.pricePerGpuHour,
        durationHours: lease.durationHours,
        billingMode: lease.billingMode,
        feeBps: lease.feeBps,
        payPerUseMinPercent: lease.payPerUseMinPercent,
        status: 'SCHEDULED',
        matchEpoch: epoch,
        provisioningDeadline: new Date(lease.provisioningDeadline),
        createdAt: now,
        updatedAt: now,
      })),
      select: { id: true, bidId: true, offerId: true },
    });
  }

  /** ACTIVE markets with at least one live bid and one live offer: the sweep's backstop runs. */
  async systemMarketsWithLiveBooks(): Promise<string[]> {
    const rows = await this.tx.$queryRaw<Array<{ id: string }>>`
      SELECT m.id FROM markets m
      WHERE m.status = 'ACTIVE'
        AND EXISTS (SELECT 1 FROM bids b WHERE b.market_id = m.id AND b.status = ANY(${LIVE}::"OrderStatus"[]))
        AND EXISTS (SELECT 1 FROM offers o WHERE o.market_id = m.id AND o.status = ANY(${LIVE}::"OrderStatus"[]))`;
    return rows.map((row) => row.id);
  }

  /** Markets where the organisation has live orders (after its verification, they need a run). */
  async systemMarketsWithLiveOrdersOf(organisationId: string): Promise<string[]> {
    const rows = await this.tx.$queryRaw<Array<{ market_id: string }>>`
      SELECT market_id FROM bids
      WHERE organisation_id = ${organisationId}::uuid AND status = ANY(${LIVE}::"OrderStatus"[])
      UNION
      SELECT market_id FROM offers
      WHERE organisation_id = ${organisationId}::uuid AND status = ANY(${LIVE}::"OrderStatus"[])`;
    return rows.map((row) => row.market_id);
  }
}
