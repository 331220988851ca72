import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterPrisma } from '@nestjs-cls/transactional-adapter-prisma';
import type { OrderStatus } from '../../generated/prisma/enums.js';
import { afterPosition, NEWEST_FIRST, type KeysetPosition } from '../../infra/pagination/cursor-codec';
import type { PrismaService } from '../../infra/prisma/prisma.service';
import { LIVE_OFFER_STATUSES, type LiveOfferStatus } from './domain/offer-rules';

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
  seq: bigint;
  at: Date;
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
  status: true,
  seq: true,
  createdAt: true,
  updatedAt: true,
  cancelledAt: true,
} as const;

// The same without the market relation: a create that selects a relation reads the row back.
const { market: _market, ...OFFER_SELECT_SCALARS } = OFFER_SELECT;

/** Providers' offers. Every method takes the owning organisation's id. */
@Injectable()
export class OffersRepository {
  constructor(private readonly txHost: TransactionHost<TransactionalAdapterPrisma<PrismaService>>) {}

  private get tx(): TransactionHost<TransactionalAdapterPrisma<PrismaService>>['tx'] {
    return this.txHost.tx;
  }

  async countLiveOffers(organisationId: string): Promise<number> {
    return this.tx.offer.count({ where: { organisationId, status: { in: [...LIVE_OFFER_STATUSES] } } });
  }

  async createOffer(organisationId: string, offer: NewOffer): Promise<OfferRecord> {
    const row = await this.tx.offer.create({
      data: {
        organisationId,
        marketId: offer.marketId,
        siteId: offer.siteId,
        gpus: offer.gpus,
        pricePerGpuHour: offer.pricePerGpuHour,
        availableFrom: offer.availableFrom,
        availableUntil: offer.availableUntil,
        minLeaseHours: offer.minLeaseHours,
        payPerUseMinPercent: offer.payPerUseMinPercent,
        status: 'OPEN',
        seq: offer.seq,
        createdAt: offer.at,
        updatedAt: offer.at,
      },
      select: OFFER_SELECT_SCALARS,
    });
    return { ...row, market: offer.market };
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
}
