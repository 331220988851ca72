import { Injectable } from '@nestjs/common';
import { Propagation, Transactional } from '@nestjs-cls/transactional';
import { isUUID } from 'class-validator';
import { Clock } from '@/infra/clock/clock';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { DomainError } from '@/shared/domain-error';
import { formatMoney, MAX_PRICE_PER_GPU_HOUR_MINOR, parseMoney } from '@/shared/money';
import type { NewEvent } from '@/infra/events/event-catalogue';
import { OutboxService } from '@/modules/events/outbox.service';
import { ORGANISATION_SUSPENDED } from '@/infra/auth/suspension';
import {
  assertAcceptsOrders,
  assertLiveOrderCapacity,
  assertMayTrade,
  MAX_LIVE_ORDERS_PER_ORGANISATION,
} from '@/modules/markets/domain/trading-rules';
import { MarketsService } from '@/modules/markets/markets.service';
import type { OrganisationContext } from '@/infra/auth/principal';
import {
  assertCancelledAlready,
  DEFAULT_TERMINATION_NOTICE_HOURS,
  planAmendment,
  validateOfferWindow,
} from './domain/offer-rules';
import type { AmendOfferDto } from './dto/amend-offer.dto';
import type { ListOffersQuery } from './dto/list-offers.dto';
import type { OfferPageResponse, OfferResponse } from './dto/offer.dto';
import type { PlaceOfferDto } from './dto/place-offer.dto';
import { OffersRepository, type OfferPlacement, type OfferRecord } from './offers.repository';
import { ProvidersMapper } from './providers.mapper';
import { OrganisationWriteGateService } from '@/infra/auth/write-gate/organisation-write-gate.service';

const offerNotFound = (): DomainError => new DomainError('NOT_FOUND', 'Offer not found.');

const price = (offer: OfferRecord): string => formatMoney(offer.pricePerGpuHour, offer.market.currencyScale);

/**
 * Offers: placement, amendment and cancellation, each writing its outbox event in the same
 * transaction (DESIGN, Events).
 */
@Injectable()
export class OffersService {
  constructor(
    private readonly offers: OffersRepository,
    private readonly markets: MarketsService,
    private readonly outbox: OutboxService,
    private readonly cursors: CursorCodec,
    private readonly clock: Clock,
    private readonly writeGate: OrganisationWriteGateService,
  ) {}

  /**
   * Resolves the market from the in-process catalogue and checks its status, the site and the
   * live-order cap in the insert itself: a market paused before the insert's snapshot refuses
   * the offer (409), another organisation's site answers like a missing one (400).
   */
  @Transactional()
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
    const seq = await this.markets.beginOrderPlacement(org.organisationId);
    const placement = await this.offers.placeOffer(
      org.organisationId,
      {
        marketId: market.id,
        market: { slug: market.slug, currency: market.currency, currencyScale: market.currencyScale },
        siteId: input.siteId,
        gpus: input.gpus,
        pricePerGpuHour,
        ...window,
        payPerUseMinPercent: input.payPerUseMinPercent ?? 0,
        terminationNoticeHours: input.terminationNoticeHours ?? DEFAULT_TERMINATION_NOTICE_HOURS,
        seq,
        at: now,
      },
      MAX_LIVE_ORDERS_PER_ORGANISATION,
    );
    const offer = this.placedOrRefused(market.slug, placement);
    await this.outbox.record({
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
        seq: offer.seq.toString(),
      },
    });
    return ProvidersMapper.offer(offer);
  }

  /** The offer the statement placed, or the refusal it reported: paused market, site, then cap. */
  private placedOrRefused(slug: string, placement: OfferPlacement): OfferRecord {
    if (placement.marketStatus === null) {
      // Deleted behind the in-process catalogue (tests do this): unknown from now on.
      this.markets.forgetCatalogue();
      throw new DomainError('VALIDATION_FAILED', 'market does not name a known market.', {
        field: 'market',
      });
    }
    assertAcceptsOrders({ slug, status: placement.marketStatus });
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
    return this.cursors.page(rows, limit, (row) => ProvidersMapper.offer(row));
  }

  async getOffer(org: OrganisationContext, offerId: string): Promise<OfferResponse> {
    const offer = isUUID(offerId) ? await this.offers.findOffer(org.organisationId, offerId) : null;
    if (!offer) throw offerNotFound();
    return ProvidersMapper.offer(offer);
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
    if (!plan.changed) return ProvidersMapper.offer(offer);
    const seq = plan.reassignSeq ? await this.markets.nextOrderSeq() : offer.seq;
    const applied = await this.offers.amendOffer(org.organisationId, offerId, {
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
    return ProvidersMapper.offer(amended);
  }

  /**
   * Withdraws the offer's unleased capacity; its leases run on. Idempotent by state: cancelling
   * a cancelled offer returns it unchanged, and only the actual transition records an event.
   */
  @Transactional()
  async cancelOffer(org: OrganisationContext, offerId: string): Promise<OfferResponse> {
    if (!isUUID(offerId)) throw offerNotFound();
    const cancelled = await this.offers.cancelOffer(org.organisationId, offerId, this.clock.now());
    const offer = await this.offers.findOffer(org.organisationId, offerId);
    if (!offer) throw offerNotFound();
    if (!cancelled) {
      assertCancelledAlready(offer.status);
      return ProvidersMapper.offer(offer);
    }
    await this.outbox.record(offerCancelled(offer));
    return ProvidersMapper.offer(offer);
  }

  /**
   * Suspension: every live offer of the organisation is cancelled (its unleased capacity
   * withdrawn, `offer.cancelled` written) in the caller's transaction; its leases run on.
   */
  @Transactional(Propagation.Mandatory)
  async cancelAllForSuspension(organisationId: string): Promise<number> {
    const offers = await this.offers.cancelLiveOffers(organisationId, this.clock.now());
    await this.outbox.recordMany(offers.map((offer) => offerCancelled(offer, ORGANISATION_SUSPENDED)));
    return offers.length;
  }
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
