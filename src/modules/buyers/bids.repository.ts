import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterPrisma } from '@nestjs-cls/transactional-adapter-prisma';
import type { BillingMode, OrderStatus } from '../../generated/prisma/enums.js';
import { afterPosition, NEWEST_FIRST, type KeysetPosition } from '../../infra/pagination/cursor-codec';
import type { PrismaService } from '../../infra/prisma/prisma.service';
import { LIVE_BID_STATUSES } from './domain/bid-rules';

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

// The same without the market relation: a create that selects a relation reads the row back.
const { market: _market, ...BID_SELECT_SCALARS } = BID_SELECT;

/** Buyers' bids. Every method takes the owning organisation's id. */
@Injectable()
export class BidsRepository {
  constructor(private readonly txHost: TransactionHost<TransactionalAdapterPrisma<PrismaService>>) {}

  private get tx(): TransactionHost<TransactionalAdapterPrisma<PrismaService>>['tx'] {
    return this.txHost.tx;
  }

  async countLiveBids(organisationId: string): Promise<number> {
    return this.tx.bid.count({ where: { organisationId, status: { in: [...LIVE_BID_STATUSES] } } });
  }

  async createBid(organisationId: string, bid: NewBid): Promise<BidRecord> {
    const row = await this.tx.bid.create({
      data: {
        organisationId,
        marketId: bid.marketId,
        gpus: bid.gpus,
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
      },
      select: BID_SELECT_SCALARS,
    });
    return { ...row, market: bid.market };
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
}
