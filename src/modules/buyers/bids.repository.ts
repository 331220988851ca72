import { Injectable } from '@nestjs/common';
import type { BillingMode, MarketStatus, OrderStatus } from '../../generated/prisma/enums.js';
import { afterPosition, NEWEST_FIRST, type KeysetPosition } from '../../infra/pagination/cursor-codec';
import { uuidV7 } from '../../shared/uuid-v7';
import { LIVE_BID_STATUSES } from './domain/bid-rules';
import { Tx } from '../../infra/prisma/tx';

export interface BidRecord {
  id: string;
  organisationId: string;
  market: { slug: string; currency: string; currencyScale: number };
  gpus: number;
  filledGpus: number;
  maxPricePerGpuHour: bigint;
  durationHours: number;
  provinces: string[];
  minGpusPerSite: number;
  partialAllowed: boolean;
  billingMode: BillingMode;
  expiresAt: Date;
  status: OrderStatus;
  seq: bigint;
  createdAt: Date;
  updatedAt: Date;
  cancelledAt: Date | null;
}

export interface NewBid {
  marketId: string;
  /** The market as the caller resolved it; echoed into the record without reading it back. */
  market: BidRecord['market'];
  gpus: number;
  maxPricePerGpuHour: bigint;
  durationHours: number;
  provinces: string[];
  minGpusPerSite: number;
  partialAllowed: boolean;
  billingMode: BillingMode;
  expiresAt: Date;
  seq: bigint;
  at: Date;
}

/**
 * What the placement statement saw: the market's status and the organisation's live bids at
 * that moment; `bid` is null when either refused it (the market not ACTIVE, or `maxLive`
 * reached), and `marketStatus` null when the market row is gone.
 */
export interface BidPlacement {
  bid: BidRecord | null;
  marketStatus: MarketStatus | null;
  liveBids: number;
}

export interface BidFilter {
  marketId?: string;
  status?: OrderStatus;
}

const BID_SELECT = {
  id: true,
  organisationId: true,
  market: { select: { slug: true, currency: true, currencyScale: true } },
  gpus: true,
  filledGpus: true,
  maxPricePerGpuHour: true,
  durationHours: true,
  provinces: true,
  minGpusPerSite: true,
  partialAllowed: true,
  billingMode: true,
  expiresAt: true,
  status: true,
  seq: true,
  createdAt: true,
  updatedAt: true,
  cancelledAt: true,
} as const;

/** Buyers' bids. Every method takes the owning organisation's id. */
@Injectable()
export class BidsRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  /**
   * Inserts the bid OPEN only while its market is ACTIVE and the organisation has fewer than
   * `maxLive` live bids, all in one statement: the caller holds the organisation's placement
   * lock, so the count, taken in this statement's snapshot, sees every earlier placement.
   */
  async placeBid(organisationId: string, bid: NewBid, maxLive: number): Promise<BidPlacement> {
    const id = uuidV7(bid.at);
    const [row] = await this.tx.$queryRaw<
      Array<{ market_status: MarketStatus | null; live_bids: number; placed: boolean }>
    >`
      WITH live AS (
        SELECT count(*)::int AS n FROM bids
        WHERE organisation_id = ${organisationId}::uuid
          AND status = ANY(${[...LIVE_BID_STATUSES]}::"OrderStatus"[])),
      market AS (SELECT status FROM markets WHERE id = ${bid.marketId}::uuid),
      placed AS (
        INSERT INTO bids (id, organisation_id, market_id, gpus, filled_gpus, max_price_per_gpu_hour,
                          duration_hours, provinces, min_gpus_per_site, partial_allowed, billing_mode,
                          expires_at, status, seq, created_at, updated_at)
        SELECT ${id}::uuid, ${organisationId}::uuid, ${bid.marketId}::uuid, ${bid.gpus}, 0,
               ${bid.maxPricePerGpuHour}, ${bid.durationHours}, ${bid.provinces}::text[],
               ${bid.minGpusPerSite}, ${bid.partialAllowed}, ${bid.billingMode}::"BillingMode",
               ${bid.expiresAt}, 'OPEN', ${bid.seq}, ${bid.at}, ${bid.at}
        FROM live, market
        WHERE market.status = 'ACTIVE' AND live.n < ${maxLive}
        RETURNING id)
      SELECT (SELECT status::text FROM market) AS market_status, live.n AS live_bids,
             EXISTS (SELECT 1 FROM placed) AS placed
      FROM live`;
    if (row === undefined) throw new Error('bid placement returned no row');
    return {
      marketStatus: row.market_status,
      liveBids: row.live_bids,
      bid: row.placed
        ? {
            id,
            organisationId,
            market: bid.market,
            gpus: bid.gpus,
            filledGpus: 0,
            maxPricePerGpuHour: bid.maxPricePerGpuHour,
            durationHours: bid.durationHours,
            provinces: bid.provinces,
            minGpusPerSite: bid.minGpusPerSite,
            partialAllowed: bid.partialAllowed,
            billingMode: bid.billingMode,
            expiresAt: bid.expiresAt,
            status: 'OPEN',
            seq: bid.seq,
            createdAt: bid.at,
            updatedAt: bid.at,
            cancelledAt: null,
          }
        : null,
    };
  }

  async listBids(
    organisationId: string,
    filter: BidFilter,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<BidRecord[]> {
    return this.tx.bid.findMany({
      where: {
        organisationId,
        ...(filter.marketId === undefined ? {} : { marketId: filter.marketId }),
        ...(filter.status === undefined ? {} : { status: filter.status }),
        ...afterPosition(after),
      },
      select: BID_SELECT,
      orderBy: NEWEST_FIRST,
      take: limit + 1,
    });
  }

  async findBid(organisationId: string, bidId: string): Promise<BidRecord | null> {
    return this.tx.bid.findFirst({ where: { id: bidId, organisationId }, select: BID_SELECT });
  }

  /** Moves a live bid to CANCELLED; false when it is missing, not the caller's, or terminal. */
  async cancelBid(organisationId: string, bidId: string, at: Date): Promise<boolean> {
    const { count } = await this.tx.bid.updateMany({
      where: { id: bidId, organisationId, status: { in: [...LIVE_BID_STATUSES] } },
      data: { status: 'CANCELLED', cancelledAt: at, updatedAt: at },
    });
    return count === 1;
  }

  /**
   * Moves every live bid of the organisation to CANCELLED (suspension) and returns them as
   * cancelled. At most the live-order cap of rows, so one statement.
   */
  async cancelLiveBids(organisationId: string, at: Date): Promise<BidRecord[]> {
    const cancelled = await this.tx.$queryRaw<Array<{ id: string }>>`
      UPDATE bids SET status = 'CANCELLED', cancelled_at = ${at}, updated_at = ${at}
      WHERE organisation_id = ${organisationId}::uuid
        AND status = ANY(${[...LIVE_BID_STATUSES]}::"OrderStatus"[])
      RETURNING id`;
    if (cancelled.length === 0) return [];
    return this.tx.bid.findMany({
      where: { organisationId, id: { in: cancelled.map((row) => row.id) } },
      select: BID_SELECT,
      orderBy: { seq: 'asc' },
    });
  }
}
