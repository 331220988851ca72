import { Injectable } from '@nestjs/common';
import { Propagation, Transactional } from '@nestjs-cls/transactional';
import { isUUID } from 'class-validator';
import { Clock } from '@/infra/clock/clock';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { parseOfferSlo } from '@/modules/providers/domain/offer-slo';
import { DomainError } from '@/shared/domain-error';
import { ownedKey } from '@/shared/owned-key';
import { formatMoney, MAX_PRICE_PER_GPU_HOUR_MINOR, parseMoney } from '@/shared/money';
import type { NewEvent } from '@/infra/events/event-catalogue';
import { OutboxService } from '@/modules/events/outbox.service';
import { ORGANISATION_SUSPENDED } from '@/infra/auth/suspension';
import {
  assertLiveOrderCapacity,
  assertMayTrade,
  MAX_LIVE_ORDERS_PER_ORGANISATION,
} from '@/modules/markets/domain/trading-rules';
import { MarketsService } from '@/modules/markets/markets.service';
import {
  OrderPlacementService,
  type ChangeLane,
  type LaneChange,
  type LaneOutcome,
  type LanePlacement,
  type PlacementLane,
} from '@/modules/markets/order-placement.service';
import type { OrganisationContext } from '@/infra/auth/principal';
import {
  assertCancelledAlready,
  DEFAULT_TERMINATION_NOTICE_HOURS,
  planAmendment,
  validateOfferWindow,
} from './domain/offer-rules';
import { validateIdleWindows } from './domain/idle-windows';
import type { AmendOfferDto } from './dto/amend-offer.dto';
import type { ListOffersQuery } from './dto/list-offers.dto';
import type { OfferPageResponse, OfferResponse } from './dto/offer.dto';
import type { PlaceOfferDto } from './dto/place-offer.dto';
import { OrderStateService } from '@/modules/markets/order-state.service';
import { OffersRepository, type NewOffer, type OfferPlacement, type OfferRecord } from './offers.repository';
import { ProvidersMapper } from './providers.mapper';
import { OrganisationWriteGateService } from '@/infra/auth/write-gate/organisation-write-gate.service';

const offerNotFound = (): DomainError => new DomainError('NOT_FOUND', 'Offer not found.');

/** An offer validated by its request, waiting for its group commit to take the lock and its `seq`. */
type NewOfferOrder = Omit<NewOffer, 'seq'>;

/** A cancellation of one offer, as its request asked for it. */
interface OfferCancel {
  offerId: string;
  at: Date;
}

const price = (offer: OfferRecord): string => formatMoney(offer.pricePerGpuHour, offer.market.currencyScale);

/**
 * Offers: placement, amendment and cancellation, each writing its outbox event in the same
 * transaction (DESIGN, Events). Placements and cancellations go through the group commit of
 * placements (OrderPlacementService); an amendment has a transaction of its own.
 */
@Injectable()
export class OffersService {
  constructor(
    private readonly offers: OffersRepository,
    private readonly orderState: OrderStateService,
    private readonly markets: MarketsService,
    private readonly outbox: OutboxService,
    private readonly cursors: CursorCodec,
    private readonly clock: Clock,
    private readonly writeGate: OrganisationWriteGateService,
    private readonly placements: OrderPlacementService,
  ) {}

  // Offers follow bids in a group commit, then the cancellations: the same order in every process.
  private readonly offerLane: PlacementLane<NewOfferOrder, OfferResponse> = {
    rank: 2,
    place: (orders) => this.placeOffers(orders),
  };

  private readonly offerCancelLane: ChangeLane<OfferCancel, OfferResponse> = {
    rank: 4,
    change: (cancels) => this.cancelOffers(cancels),
  };

  /**
   * Validates the offer against the in-process catalogue, then places it in the next group
   * commit of placements (OrderPlacementService): the organisation's placement lock and status,
   * the market's status (409 paused), the site (400 when not the caller's) and the live-order
   * cap (409) are checked there, against the batch's earlier orders too; the answer comes after
   * COMMIT.
   */
  async placeOffer(org: OrganisationContext, input: PlaceOfferDto): Promise<OfferResponse> {
    assertMayTrade(org.organisationStatus);
    const now = this.clock.now();
    const market = await this.markets.findCatalogueMarket(input.market, 'market');
    const pricePerGpuHour = parseMoney(input.pricePerGpuHour, {
      field: 'pricePerGpuHour',
      scale: market.currencyScale,
      max: MAX_PRICE_PER_GPU_HOUR_MINOR,
    });
    const window = {
      availableFrom: new Date(input.availableFrom),
      availableUntil: new Date(input.availableUntil),
      minLeaseHours: input.minLeaseHours ?? 1,
    };
    validateOfferWindow(window, now);
    const idleWindows = input.idleWindows ?? null;
    if (idleWindows !== null) validateIdleWindows(idleWindows);
    const sloInput = input.slo ?? null;
    const slo = sloInput === null ? null : parseOfferSlo(sloInput);
    return this.placements.place(this.offerLane, org.organisationId, market, {
      marketId: market.id,
      market: { slug: market.slug, currency: market.currency, currencyScale: market.currencyScale },
      siteId: input.siteId,
      gpus: input.gpus,
      pricePerGpuHour,
      ...window,
      payPerUseMinPercent: input.payPerUseMinPercent ?? 0,
      terminationNoticeHours: input.terminationNoticeHours ?? DEFAULT_TERMINATION_NOTICE_HOURS,
      idleWindows,
      slo,
      at: now,
    });
  }

  /** A group commit's offers, in arrival order, inserted with one statement (site and cap in it). */
  private async placeOffers(
    orders: ReadonlyArray<LanePlacement<NewOfferOrder>>,
  ): Promise<Array<LaneOutcome<OfferResponse>>> {
    const placements = await this.orderState.placeOffers(
      orders.map(({ organisationId, input, seq }) => ({ ...input, organisationId, seq })),
      MAX_LIVE_ORDERS_PER_ORGANISATION,
    );
    return placements.map((placement): LaneOutcome<OfferResponse> => {
      try {
        const offer = placedOrRefused(placement);
        return { placed: ProvidersMapper.offer(offer, this.clock.now()), events: [offerPlaced(offer)] };
      } catch (error) {
        return { refused: error as Error };
      }
    });
  }

  async listOffers(org: OrganisationContext, query: ListOffersQuery): Promise<OfferPageResponse> {
    const after = this.cursors.decode(query.cursor);
    const limit = this.cursors.limit(query.limit);
    const market =
      query.market === undefined ? undefined : await this.markets.findBySlug(query.market, 'market');
    const rows = await this.offers.listOffers(
      org.organisationId,
      { marketId: market?.id, siteId: query.siteId, status: query.status },
      limit,
      after,
    );
    const now = this.clock.now();
    return this.cursors.page(rows, limit, (row) => ProvidersMapper.offer(row, now));
  }

  async getOffer(org: OrganisationContext, offerId: string): Promise<OfferResponse> {
    const offer = isUUID(offerId) ? await this.offers.findOffer(org.organisationId, offerId) : null;
    if (!offer) throw offerNotFound();
    return ProvidersMapper.offer(offer, this.clock.now());
  }

  /**
   * Changes the price and/or lowers the GPUs of a live offer. A new price takes a new `seq`
   * (time priority is lost); restating the offer as it is changes nothing and records nothing.
   */
  @Transactional()
  async amendOffer(org: OrganisationContext, offerId: string, input: AmendOfferDto): Promise<OfferResponse> {
    assertMayTrade(org.organisationStatus);
    await this.writeGate.assertMayWrite(org.organisationId);
    const offer = isUUID(offerId) ? await this.offers.findOfferForUpdate(org.organisationId, offerId) : null;
    if (!offer) throw offerNotFound();
    const now = this.clock.now();
    // An explicit null is as good as an absent field.
    const requestedPrice =
      input.pricePerGpuHour === undefined || input.pricePerGpuHour === null
        ? undefined
        : parseMoney(input.pricePerGpuHour, {
            field: 'pricePerGpuHour',
            scale: offer.market.currencyScale,
            max: MAX_PRICE_PER_GPU_HOUR_MINOR,
          });
    const plan = planAmendment(
      offer,
      { gpus: input.gpus ?? undefined, pricePerGpuHour: requestedPrice },
      now,
    );
    if (!plan.changed) return ProvidersMapper.offer(offer, now);
    const seq = plan.reassignSeq ? await this.markets.nextOrderSeq() : offer.seq;
    const applied = await this.orderState.amendOffer(org.organisationId, offerId, {
      gpus: plan.gpus,
      pricePerGpuHour: plan.pricePerGpuHour,
      status: plan.status,
      seq,
      at: now,
    });
    // The row is locked, so this only fails if a rule above disagrees with the database.
    if (!applied)
      throw new DomainError('CONFLICT', 'The offer changed while it was being amended; try again.');
    const amended = await this.offers.findOffer(org.organisationId, offerId);
    if (!amended) throw offerNotFound();
    await this.outbox.record({
      type: 'offer.amended',
      aggregateType: 'offer',
      aggregateId: amended.id,
      payload: {
        offerId: amended.id,
        organisationId: amended.organisationId,
        market: amended.market.slug,
        gpus: amended.gpus,
        pricePerGpuHour: price(amended),
        seq: amended.seq.toString(),
        previous: { gpus: offer.gpus, pricePerGpuHour: price(offer), seq: offer.seq.toString() },
      },
    });
    return ProvidersMapper.offer(amended, now);
  }

  /**
   * Withdraws the offer's unleased capacity; its leases run on. Idempotent by state: cancelling
   * a cancelled offer returns it unchanged, and only the actual transition records an event.
   * Committed in the next group commit (OrderPlacementService), answered after COMMIT.
   */
  async cancelOffer(org: OrganisationContext, offerId: string): Promise<OfferResponse> {
    if (!isUUID(offerId)) throw offerNotFound();
    return this.placements.change(this.offerCancelLane, org.organisationId, {
      offerId,
      at: this.clock.now(),
    });
  }

  /** A group commit's offer cancellations: one UPDATE for all, one read of the offers after it. */
  private async cancelOffers(
    cancels: ReadonlyArray<LaneChange<OfferCancel>>,
  ): Promise<Array<LaneOutcome<OfferResponse>>> {
    const wanted = cancels.map(({ organisationId, input }) => ({ organisationId, ...input }));
    const moved = await this.orderState.cancelOffers(wanted);
    const offers = await this.offers.findOffers(wanted);
    return wanted.map(({ organisationId, offerId }): LaneOutcome<OfferResponse> => {
      const key = ownedKey(organisationId, offerId);
      const offer = offers.get(key);
      if (offer === undefined) return { refused: offerNotFound() };
      // The first cancel of an offer made the transition and records it; a repeat sees it done.
      if (moved.delete(key))
        return { placed: ProvidersMapper.offer(offer, this.clock.now()), events: [offerCancelled(offer)] };
      try {
        assertCancelledAlready(offer.status);
        return { placed: ProvidersMapper.offer(offer, this.clock.now()), events: [] };
      } catch (error) {
        return { refused: error as Error };
      }
    });
  }

  /**
   * Suspension: every live offer of the organisation is cancelled (its unleased capacity
   * withdrawn, `offer.cancelled` written) in the caller's transaction; its leases run on.
   */
  @Transactional(Propagation.Mandatory)
  async cancelAllForSuspension(organisationId: string): Promise<number> {
    const cancelled = await this.orderState.cancelLiveOffers(organisationId, this.clock.now());
    const offers = await this.offers.findOffersByIds(organisationId, cancelled);
    await this.outbox.recordMany(offers.map((offer) => offerCancelled(offer, ORGANISATION_SUSPENDED)));
    return offers.length;
  }
}

/** The offer the statement placed, or the refusal it reported: the site, then the cap. */
function placedOrRefused(placement: OfferPlacement): OfferRecord {
  // Another organisation's site answers exactly like a missing one.
  if (!placement.siteFound) {
    throw new DomainError('VALIDATION_FAILED', 'siteId does not name one of your sites.', {
      field: 'siteId',
    });
  }
  assertLiveOrderCapacity(placement.liveOffers);
  if (placement.offer === null) throw new Error('offer placement refused for no reported reason');
  return placement.offer;
}

/** `offer.placed`, with the `seq` that gives the offer its time priority. */
function offerPlaced(offer: OfferRecord): NewEvent {
  return {
    type: 'offer.placed',
    aggregateType: 'offer',
    aggregateId: offer.id,
    payload: {
      offerId: offer.id,
      organisationId: offer.organisationId,
      market: offer.market.slug,
      siteId: offer.siteId,
      gpus: offer.gpus,
      pricePerGpuHour: price(offer),
      availableFrom: offer.availableFrom.toISOString(),
      availableUntil: offer.availableUntil.toISOString(),
      idleWindows: ProvidersMapper.idleWindows(offer),
      seq: offer.seq.toString(),
    },
  };
}

/** `offer.cancelled`; `reason` only when the exchange cancelled it (suspension), not the provider. */
function offerCancelled(offer: OfferRecord, reason?: string): NewEvent {
  return {
    type: 'offer.cancelled',
    aggregateType: 'offer',
    aggregateId: offer.id,
    payload: {
      offerId: offer.id,
      organisationId: offer.organisationId,
      market: offer.market.slug,
      gpus: offer.gpus,
      leasedGpus: offer.leasedGpus,
      withdrawnGpus: offer.gpus - offer.leasedGpus,
      ...(reason === undefined ? {} : { reason }),
    },
  };
}
