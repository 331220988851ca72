import { Injectable } from '@nestjs/common';
import { Propagation, Transactional } from '@nestjs-cls/transactional';
import { isUUID } from 'class-validator';
import { Clock } from '@/infra/clock/clock';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { DomainError } from '@/shared/domain-error';
import { formatMoney, MAX_PRICE_PER_GPU_HOUR_MINOR, parseMoney } from '@/shared/money';
import { OutboxService } from '@/modules/events/outbox.service';
import { assertLiveOrderCapacity, assertMayTrade } from '@/modules/markets/domain/trading-rules';
import { MarketsService } from '@/modules/markets/markets.service';
import {
  OrderPlacementService,
  type ChangeLane,
  type LaneChange,
  type LaneOutcome,
  type LanePlacement,
  type PlacementBatch,
  type PlacementLane,
} from '@/modules/markets/order-placement.service';
import type { LockedPlanRow } from '@/modules/markets/domain/placement-batch';
import { uuidV7 } from '@/shared/uuid-v7';
import { ownedKey } from '@/shared/owned-key';
import type { OrganisationContext } from '@/infra/auth/principal';
import { OrderStateService } from '@/modules/markets/order-state.service';
import { BidsRepository, type BidRecord, type NewBid, type ReplacementPlanRecord } from './bids.repository';
import { bidHoldAmount } from '@/modules/billing/ledger/domain/ledger-rules';
import {
  MAX_REPLACEMENT_BUDGET_MINOR,
  replacementExpiry,
  replacementRefusal,
  replaces,
} from './domain/replacement-rules';
import type { ReplacementPlanResponse } from './dto/replacement.dto';
import { BuyersMapper } from './buyers.mapper';
import { InferenceBidsService } from './inference-bids.service';
import { assertBidCancelledAlready, normaliseBidShape, validateBidExpiry } from './domain/bid-rules';
import type { BidPageResponse, BidResponse } from './dto/bid.dto';
import type { ListBidsQuery } from './dto/list-bids.dto';
import type { PlaceBidDto } from './dto/place-bid.dto';
import { WindowTimesResponse } from '@/modules/markets/dto/idle-windows.response';
import type { QuoteBidDto, QuotedSiteResponse, QuoteResponse, TakeOrPayResponse } from './dto/quote-bid.dto';
import {
  TAKE_OR_PAY_PERCENT,
  takeOrPayTokensPerHour,
  tokensCost,
  tokensPerHour,
} from '@/modules/inference/domain/inference-pricing';
import { summariseQuote } from './domain/quote-summary';
import { explainResting, restingReason } from './domain/bid-explanation';
import type { BidExplanationResponse } from './dto/bid-explanation.dto';
import { OrderBookService } from '@/modules/matching/order-book.service';
import type { Quote } from '@/modules/matching/domain/quote';
import { ReliabilityService } from '@/modules/reliability/reliability.service';
import { LedgerService, type BidToRelease } from '@/modules/billing/ledger/ledger.service';
import type { EventPayloads, NewEvent } from '@/infra/events/event-catalogue';
import { ORGANISATION_SUSPENDED } from '@/infra/auth/suspension';

const bidNotFound = (): DomainError => new DomainError('NOT_FOUND', 'Bid not found.');

/** A bid validated by its request, waiting for its group commit to take the lock and its `seq`. */
type NewBidOrder = Omit<NewBid, 'seq'>;

/** A cancellation of one bid, as its request asked for it. */
interface BidCancel {
  bidId: string;
  at: Date;
}

/**
 * Bids: placement and cancellation (bids are cancel-only in v1), each writing its outbox event
 * and moving its funds in the same transaction: placement holds max price x GPUs x hours (402
 * when available credit does not cover it), cancellation releases the unfilled part's hold.
 */
@Injectable()
export class BidsService {
  constructor(
    private readonly bids: BidsRepository,
    private readonly orderState: OrderStateService,
    private readonly markets: MarketsService,
    private readonly outbox: OutboxService,
    private readonly cursors: CursorCodec,
    private readonly clock: Clock,
    private readonly book: OrderBookService,
    private readonly funds: LedgerService,
    private readonly placements: OrderPlacementService,
    private readonly inferenceBids: InferenceBidsService,
    private readonly reliability: ReliabilityService,
  ) {}

  // Bids go first in a group commit (then offers, then cancellations): the same order in every process.
  private readonly bidLane: PlacementLane<NewBidOrder, BidResponse> = {
    rank: 1,
    // Read in the batch's one read statement, under its locks: live bids, plans, balances.
    wants: (orders) => ({
      liveBidsOf: orders.map((o) => o.organisationId),
      plans: orders.flatMap((o) =>
        o.input.replacement?.replacesLeaseId == null
          ? []
          : [{ organisationId: o.organisationId, planId: o.input.replacement.planId }],
      ),
      funds: orders.map((o) => ({ organisationId: o.organisationId, currency: o.input.market.currency })),
      spendSince: this.funds.spendPeriodStart(),
    }),
    place: (orders, batch) => this.placeBids(orders, batch),
  };

  private readonly bidCancelLane: ChangeLane<BidCancel, BidResponse> = {
    rank: 3,
    change: (cancels) => this.cancelBids(cancels),
  };

  /**
   * What the bid would fill if placed now, computed by the matching core itself against the
   * live book, placing nothing. Pending organisations may quote too (as if verified).
   */
  async quoteBid(org: OrganisationContext, input: QuoteBidDto): Promise<QuoteResponse> {
    if (input.inference !== undefined) return this.quoteInferenceBid(org, input);
    const gpu = gpuTerms(input);
    const now = this.clock.now();
    const market = await this.markets.findActiveBySlug(gpu.market, 'market');
    const maxPrice = parseMoney(gpu.maxPricePerGpuHour, {
      field: 'maxPricePerGpuHour',
      scale: market.currencyScale,
      max: MAX_PRICE_PER_GPU_HOUR_MINOR,
    });
    const shape = normaliseBidShape(gpu);
    await this.markets.assertProvincesExist(shape.provinces, 'provinces');
    const quote = await this.book.quote(
      market.id,
      {
        organisationId: org.organisationId,
        verified: true,
        price: maxPrice,
        remaining: gpu.gpus,
        durationHours: input.durationHours,
        provinces: shape.provinces,
        minGpusPerSite: shape.minGpusPerSite,
        partialAllowed: input.partialAllowed,
        ...(input.minProviderScore === undefined ? {} : { minProviderScore: input.minProviderScore }),
        ...(input.interruptible === true ? { interruptible: true } : {}),
        // A quote is for now: only the rules of the pair can exclude it.
        expiresAt: Number.MAX_SAFE_INTEGER,
      },
      now,
    );
    return {
      market: market.slug,
      currency: market.currency,
      fillableGpus: quote.fillableGpus,
      vwap: quote.vwap === null ? null : formatMoney(quote.vwap, market.currencyScale),
      sites: await this.supplyLines(quote),
      excluded: quote.excluded.map((e) => ({ constraint: e.constraint, gpus: e.gpus })),
      cheapestExcluded: quote.cheapestExcluded
        ? {
            price: formatMoney(quote.cheapestExcluded.price, market.currencyScale),
            province: quote.cheapestExcluded.province,
          }
        : null,
      summary: summariseQuote(quote, gpu.gpus, market.currency, market.currencyScale),
      matchingMode: market.matchingMode,
      nextClearingAt: this.book.nextClearing(market, now)?.toISOString() ?? null,
    };
  }

  /**
   * Why one of your live bids rests (docs/MATCHING.md "Why a bid rests"): the quote of its own
   * terms and remaining GPUs against the live book, which holds offers only, so never the bid
   * itself. A terminal bid has nothing to explain: 409 with its status.
   */
  async explainBid(org: OrganisationContext, bidId: string): Promise<BidExplanationResponse> {
    const bid = isUUID(bidId) ? await this.bids.findBid(org.organisationId, bidId) : null;
    if (!bid) throw bidNotFound();
    if (bid.status !== 'OPEN' && bid.status !== 'PARTIALLY_FILLED') {
      throw new DomainError('CONFLICT', `The bid is ${bid.status}: only a live bid rests.`, {
        status: bid.status,
      });
    }
    const now = this.clock.now();
    const market = await this.markets.findBySlug(bid.market.slug);
    const remainingGpus = bid.gpus - bid.filledGpus;
    const quote = await this.book.quote(
      market.id,
      {
        organisationId: org.organisationId,
        // Verification is reported as a reason of its own; the supply is what a verified bid sees.
        verified: true,
        price: bid.maxPricePerGpuHour,
        remaining: remainingGpus,
        durationHours: bid.durationHours,
        provinces: bid.provinces,
        minGpusPerSite: bid.minGpusPerSite,
        partialAllowed: bid.partialAllowed,
        expiresAt: bid.expiresAt.getTime(),
        ...(bid.minProviderScore === null ? {} : { minProviderScore: bid.minProviderScore }),
        ...(bid.interruptible ? { interruptible: true } : {}),
        ...(bid.inference === null
          ? {}
          : {
              inference: {
                modelId: bid.inference.modelId,
                outputTokensPerSecond: bid.inference.outputTokensPerSecond,
                promptTokensPerSecond: bid.inference.promptTokensPerSecond,
                ttftP95Ms: bid.inference.ttftP95Ms,
                takeOrPayPercent: bid.inference.takeOrPayPercent,
                ...(bid.inference.gpusPerReplica === null
                  ? {}
                  : { gpusPerReplica: bid.inference.gpusPerReplica }),
                // As matching reads it: the GPUs the bid was sized into.
                sizedGpus: bid.gpus,
              },
            }),
      },
      now,
    );
    const nextClearingAt = this.book.nextClearing(market, now);
    const context = {
      remainingGpus,
      partialAllowed: bid.partialAllowed,
      expired: now.getTime() >= bid.expiresAt.getTime(),
      marketPaused: market.status !== 'ACTIVE',
      verified: org.organisationStatus === 'VERIFIED',
      matchingMode: market.matchingMode,
      nextClearingAt,
    };
    const reason = restingReason(quote, context);
    const scale = bid.market.currencyScale;
    return {
      bidId: bid.id,
      market: bid.market.slug,
      currency: bid.market.currency,
      status: bid.status,
      remainingGpus,
      matchingMode: market.matchingMode,
      nextClearingAt: nextClearingAt?.toISOString() ?? null,
      reason,
      eligibleGpus: quote.availableGpus,
      fillableGpus: quote.fillableGpus,
      vwap: quote.vwap === null ? null : formatMoney(quote.vwap, scale),
      sites: await this.supplyLines(quote),
      excluded: quote.excluded.map((e) => ({ constraint: e.constraint, gpus: e.gpus, offers: e.offers })),
      cheapestExcluded: quote.cheapestExcluded
        ? {
            price: formatMoney(quote.cheapestExcluded.price, scale),
            province: quote.cheapestExcluded.province,
          }
        : null,
      summary: explainResting(reason, quote, context, bid.market.currency, scale),
    };
  }

  /**
   * The quote's supply lines: each site's province and GPUs, with its provider as public data
   * shows it (display name and reliability score, docs/RELIABILITY.md), never the site's id.
   */
  private async supplyLines(quote: Quote): Promise<QuotedSiteResponse[]> {
    const providers = await this.reliability.publicProvidersOfSites(quote.sites.map((site) => site.siteId));
    return quote.sites.map((site) => {
      const provider = providers.get(site.siteId);
      if (provider === undefined) throw new Error(`no provider for quoted site ${site.siteId}`);
      return { province: site.province, gpus: site.gpus, provider, ...WindowTimesResponse.of(site.window) };
    });
  }

  /** A quote of an inference bid: its sizing in the market it would trade in, and what that fills. */
  private async quoteInferenceBid(org: OrganisationContext, input: QuoteBidDto): Promise<QuoteResponse> {
    const sized = await this.inferenceBids.size(org, input);
    if (input.market !== undefined) await this.markets.findActiveBySlug(input.market, 'market');
    const { market, sizing } = sized;
    // The catalogue holds what never changes; the matching mode can, so it is read fresh.
    const mode = await this.markets.findBySlug(market.slug);
    const scale = market.currencyScale;
    const price = (minor: bigint | null): string | null =>
      minor === null ? null : formatMoney(minor, scale);
    const quote = sizing.quote;
    return {
      market: market.slug,
      currency: market.currency,
      fillableGpus: quote.fillableGpus,
      vwap: price(quote.vwap),
      sites: await this.supplyLines(quote),
      excluded: quote.excluded.map((e) => ({ constraint: e.constraint, gpus: e.gpus })),
      cheapestExcluded: quote.cheapestExcluded
        ? {
            price: formatMoney(quote.cheapestExcluded.price, scale),
            province: quote.cheapestExcluded.province,
          }
        : null,
      summary: summariseQuote(quote, sizing.gpus, market.currency, scale),
      matchingMode: mode.matchingMode,
      nextClearingAt: this.book.nextClearing(mode, this.clock.now())?.toISOString() ?? null,
      inference: {
        model: sized.model.slug,
        gpus: sizing.gpus,
        gpusPerReplica: sizing.gpusPerReplica,
        minGpusPerSite: sizing.minGpusPerSite,
        outputTokensPerSecond: sized.ask.outputTokensPerSecond,
        promptTokensPerSecond: sized.ask.promptTokensPerSecond,
        maxPricePerGpuHour: formatMoney(sizing.maxPricePerGpuHour, scale),
        expectedPricePerMillionTokens: price(sizing.expectedPricePerMillionTokens),
        supplyGpus: sizing.supply.fillableGpus,
        takeOrPay: takeOrPayQuote(
          input.inference?.takeOrPayPercent ?? TAKE_OR_PAY_PERCENT,
          sized.ask.outputTokensPerSecond,
          sized.ask.promptTokensPerSecond,
          sized.ask.maxPricePerMillionTokens,
          sizing.expectedPricePerMillionTokens,
          scale,
        ),
        markets: sized.ranking.map((ranked) => ({
          market: ranked.market.slug,
          gpus: ranked.sizing.gpus,
          fillableGpus: ranked.sizing.quote.fillableGpus,
          expectedPricePerMillionTokens:
            ranked.sizing.expectedPricePerMillionTokens === null
              ? null
              : formatMoney(ranked.sizing.expectedPricePerMillionTokens, ranked.market.currencyScale),
        })),
      },
    };
  }

  /**
   * Validates the bid against the in-process catalogue, then places it in the next group commit
   * of placements (OrderPlacementService): the organisation's placement lock, the market's
   * status (409 paused), the live-order cap (409), available credit and the spend cap (402) are
   * checked there, against the batch's earlier orders too, and the response comes after COMMIT.
   */
  async placeBid(org: OrganisationContext, input: PlaceBidDto): Promise<BidResponse> {
    assertMayTrade(org.organisationStatus);
    if (input.inference !== undefined) return this.placeInferenceBid(org, input);
    const gpu = gpuTerms(input);
    const now = this.clock.now();
    const market = await this.markets.findCatalogueMarket(gpu.market, 'market');
    const maxPricePerGpuHour = parseMoney(gpu.maxPricePerGpuHour, {
      field: 'maxPricePerGpuHour',
      scale: market.currencyScale,
      max: MAX_PRICE_PER_GPU_HOUR_MINOR,
    });
    const shape = normaliseBidShape(gpu);
    const expiresAt = new Date(input.expiresAt);
    validateBidExpiry(expiresAt, now);
    await this.markets.assertProvinceCodesKnown(shape.provinces, 'provinces');
    return this.placements.place(this.bidLane, org.organisationId, market, {
      marketId: market.id,
      market: { slug: market.slug, currency: market.currency, currencyScale: market.currencyScale },
      gpus: gpu.gpus,
      maxPricePerGpuHour,
      durationHours: input.durationHours,
      provinces: shape.provinces,
      minGpusPerSite: shape.minGpusPerSite,
      partialAllowed: input.partialAllowed,
      billingMode: gpu.billingMode,
      expiresAt,
      inference: null,
      minProviderScore: input.minProviderScore ?? null,
      replacement: replacementAsked(input, market, now),
      interruptible: input.interruptible ?? false,
      at: now,
    });
  }

  /**
   * An inference bid (docs/INFERENCE.md "Inference bids"): sized into GPUs of one market and a
   * GPU-hour cap, then placed exactly as a GPU bid of those terms, its own terms stored beside
   * them on the same row. Its leases bill as RESERVED GPU-hours until per-token billing exists,
   * which is the most its tokens can cost.
   */
  private async placeInferenceBid(org: OrganisationContext, input: PlaceBidDto): Promise<BidResponse> {
    const now = this.clock.now();
    const expiresAt = new Date(input.expiresAt);
    validateBidExpiry(expiresAt, now);
    const { market, model, ask, sizing } = await this.inferenceBids.size(org, input);
    return this.placements.place(this.bidLane, org.organisationId, market, {
      marketId: market.id,
      market: { slug: market.slug, currency: market.currency, currencyScale: market.currencyScale },
      gpus: sizing.gpus,
      maxPricePerGpuHour: sizing.maxPricePerGpuHour,
      durationHours: input.durationHours,
      provinces: [...(input.provinces ?? [])].sort(),
      minGpusPerSite: sizing.minGpusPerSite,
      partialAllowed: input.partialAllowed,
      billingMode: 'RESERVED',
      expiresAt,
      inference: {
        modelId: model.id,
        model: model.slug,
        outputTokensPerSecond: ask.outputTokensPerSecond,
        promptTokensPerSecond: ask.promptTokensPerSecond,
        ttftP95Ms: ask.ttftP95Ms,
        maxPricePerMillionTokens: ask.maxPricePerMillionTokens,
        takeOrPayPercent: input.inference?.takeOrPayPercent ?? TAKE_OR_PAY_PERCENT,
        gpusPerReplica: sizing.gpusPerReplica,
      },
      minProviderScore: input.minProviderScore ?? null,
      replacement: replacementAsked(input, market, now),
      interruptible: input.interruptible ?? false,
      at: now,
    });
  }

  /**
   * A group commit's bids, in arrival order: each meets the live-order cap and then its hold
   * against what the earlier ones left, so a refusal is that bid's alone. What they are decided
   * on was read in the batch's read statement; the accepted ones are inserted, held and
   * announced in its last statement.
   */
  private async placeBids(
    orders: ReadonlyArray<LanePlacement<NewBidOrder>>,
    batch: PlacementBatch,
  ): Promise<Array<LaneOutcome<BidResponse>>> {
    const live = new Map(batch.reads.liveBids);
    // Re-placements count against their plan (docs/LEASES.md), read under its row lock.
    const plans = new Map(batch.reads.plans.map((row) => [row.id, lockedPlan(row)]));
    const funds = this.funds.bidFundsOf(
      orders.map((o) => ({ organisationId: o.organisationId, currency: o.input.market.currency })),
      batch.reads.funds,
      batch.reads.settled,
    );
    const usedPlans = new Set<ReplacementPlanRecord>();
    const newPlans: ReplacementPlanRecord[] = [];
    const accepted: Array<BidRecord & { marketId: string }> = [];
    const outcomes = orders.map(({ organisationId, input, seq }): LaneOutcome<BidResponse> => {
      try {
        const liveBids = live.get(organisationId) ?? 0;
        assertLiveOrderCapacity(liveBids);
        const bid: BidRecord = {
          id: uuidV7(input.at),
          organisationId,
          market: input.market,
          gpus: input.gpus,
          filledGpus: 0,
          maxPricePerGpuHour: input.maxPricePerGpuHour,
          durationHours: input.durationHours,
          provinces: input.provinces,
          minGpusPerSite: input.minGpusPerSite,
          partialAllowed: input.partialAllowed,
          billingMode: input.billingMode,
          expiresAt: input.expiresAt,
          status: 'OPEN',
          seq,
          createdAt: input.at,
          updatedAt: input.at,
          cancelledAt: null,
          inference: input.inference,
          minProviderScore: input.minProviderScore,
          replacementPlanId: input.replacement?.planId ?? null,
          replacesLeaseId: input.replacement?.replacesLeaseId ?? null,
          interruptible: input.interruptible,
        };
        const hold = bidHoldAmount(input.maxPricePerGpuHour, input.gpus, input.durationHours);
        const plan =
          input.replacement?.replacesLeaseId == null ? undefined : plans.get(input.replacement.planId);
        if (plan !== undefined || bid.replacesLeaseId !== null) {
          const refusal = replacementRefusal(plan, hold);
          if (refusal !== null) return { refused: refusal };
        }
        const refusal = this.funds.reserveBidHold(funds, {
          bidId: bid.id,
          organisationId,
          currency: input.market.currency,
          currencyScale: input.market.currencyScale,
          maxPricePerGpuHour: input.maxPricePerGpuHour,
          gpus: input.gpus,
          durationHours: input.durationHours,
        });
        if (refusal !== null) return { refused: refusal };
        live.set(organisationId, liveBids + 1);
        if (plan !== undefined) {
          plan.usedCount += 1;
          plan.usedBudget += hold;
          usedPlans.add(plan);
        }
        if (input.replacement?.plan) {
          newPlans.push({
            id: input.replacement.planId,
            organisationId,
            currency: input.market.currency,
            maxCount: input.replacement.plan.maxCount,
            budget: input.replacement.plan.budget,
            usedCount: 0,
            usedBudget: 0n,
            stoppedAt: null,
            createdAt: input.at,
            updatedAt: input.at,
          });
        }
        accepted.push({ ...bid, marketId: input.marketId });
        return { placed: BuyersMapper.bid(bid), events: [bidPlaced(bid)] };
      } catch (error) {
        return { refused: error as Error };
      }
    });
    if (accepted.length > 0) {
      const holds = await this.funds.bidHoldsPosting(funds);
      batch.write({
        rows: {
          plans: newPlans,
          usedPlans: [...usedPlans].map(({ id, usedCount, usedBudget }) => ({ id, usedCount, usedBudget })),
          bids: accepted,
        },
        holds: holds.posting,
        events: holds.events,
      });
    }
    return outcomes;
  }

  /**
   * Re-places the bid of a lease that closed (docs/LEASES.md "Re-placing a bid automatically"):
   * the same terms for the lease's GPUs, through the group commit like any bid, so every check
   * applies and the plan's count and budget are taken under its lock there. Returns what
   * happened; a refusal is the buyer's to read (`bid.replacement_refused`), never a retry.
   */
  async replaceAfterLeaseEnd(
    leaseId: string,
  ): Promise<
    { placed: BidResponse } | { refused: DomainError; organisationId: string; bidId: string } | null
  > {
    const source = await this.bids.systemFindReplacementSource(leaseId);
    if (source === null || source.replacedBy !== null || !replaces(source)) return null;
    const { bid, plan } = source;
    if (plan.stoppedAt !== null) return null;
    const now = this.clock.now();
    const gpus = source.leaseGpus;
    const market = await this.markets.findCatalogueMarket(bid.market.slug, 'market');
    try {
      return {
        placed: await this.placements.place(this.bidLane, bid.organisationId, market, {
          marketId: bid.marketId,
          market: bid.market,
          gpus,
          maxPricePerGpuHour: bid.maxPricePerGpuHour,
          durationHours: bid.durationHours,
          provinces: bid.provinces,
          minGpusPerSite: Math.min(bid.minGpusPerSite, gpus),
          partialAllowed: bid.partialAllowed,
          billingMode: bid.billingMode,
          expiresAt: replacementExpiry(bid, now),
          inference:
            bid.inference === null ? null : { ...bid.inference, gpusPerReplica: lotFor(bid.inference, gpus) },
          minProviderScore: bid.minProviderScore,
          interruptible: bid.interruptible,
          replacement: { planId: plan.id, plan: null, replacesLeaseId: leaseId },
          at: now,
        }),
      };
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      // A concurrent delivery placed it first (the unique lease on bids): nothing to tell.
      const again = await this.bids.systemFindReplacementSource(leaseId);
      if (again?.replacedBy != null) return null;
      return { refused: error, organisationId: bid.organisationId, bidId: bid.id };
    }
  }

  /** The automatic re-placement plan of one of your bids; 404 when it has none. */
  async getReplacementPlan(org: OrganisationContext, bidId: string): Promise<ReplacementPlanResponse> {
    const plan = isUUID(bidId) ? await this.bids.findPlanOfBid(org.organisationId, bidId) : null;
    if (plan === null) throw new DomainError('NOT_FOUND', 'The bid has no automatic re-placement.');
    return planResponse(plan, plan.currencyScale);
  }

  /** Stops a bid's automatic re-placement (its plan, shared with its re-placements); idempotent. */
  @Transactional()
  async stopReplacement(org: OrganisationContext, bidId: string): Promise<ReplacementPlanResponse> {
    const plan = isUUID(bidId) ? await this.bids.findPlanOfBid(org.organisationId, bidId) : null;
    if (plan === null) throw new DomainError('NOT_FOUND', 'The bid has no automatic re-placement.');
    const stopped = await this.bids.stopPlan(org.organisationId, plan.id, this.clock.now());
    if (stopped === null) throw new DomainError('NOT_FOUND', 'The bid has no automatic re-placement.');
    return planResponse(stopped, plan.currencyScale);
  }

  async listBids(org: OrganisationContext, query: ListBidsQuery): Promise<BidPageResponse> {
    const after = this.cursors.decode(query.cursor);
    const limit = this.cursors.limit(query.limit);
    const market =
      query.market === undefined ? undefined : await this.markets.findBySlug(query.market, 'market');
    const rows = await this.bids.listBids(
      org.organisationId,
      { marketId: market?.id, status: query.status },
      limit,
      after,
    );
    return this.cursors.page(rows, limit, (row) => BuyersMapper.bid(row));
  }

  /** A missing id, a malformed one and another organisation's are the same 404. */
  async getBid(org: OrganisationContext, bidId: string): Promise<BidResponse> {
    const bid = isUUID(bidId) ? await this.bids.findBid(org.organisationId, bidId) : null;
    if (!bid) throw bidNotFound();
    return BuyersMapper.bid(bid);
  }

  /**
   * Cancels the unfilled part of a bid; leases already made run on. Idempotent by state:
   * cancelling a cancelled bid returns it unchanged, and only the transition records an event.
   * Committed in the next group commit (OrderPlacementService), answered after COMMIT.
   */
  async cancelBid(org: OrganisationContext, bidId: string): Promise<BidResponse> {
    if (!isUUID(bidId)) throw bidNotFound();
    return this.placements.change(this.bidCancelLane, org.organisationId, { bidId, at: this.clock.now() });
  }

  /**
   * A group commit's bid cancellations: one UPDATE for all, one read of the bids after it, and
   * the released holds posted together.
   */
  private async cancelBids(
    cancels: ReadonlyArray<LaneChange<BidCancel>>,
  ): Promise<Array<LaneOutcome<BidResponse>>> {
    const wanted = cancels.map(({ organisationId, input }) => ({ organisationId, ...input }));
    const moved = await this.orderState.cancelBids(wanted);
    const bids = await this.bids.findBids(wanted);
    const released: BidRecord[] = [];
    const outcomes = wanted.map(({ organisationId, bidId }): LaneOutcome<BidResponse> => {
      const key = ownedKey(organisationId, bidId);
      const bid = bids.get(key);
      if (bid === undefined) return { refused: bidNotFound() };
      // The first cancel of a bid made the transition and records it; a repeat sees it done.
      if (moved.delete(key)) {
        released.push(bid);
        return { placed: BuyersMapper.bid(bid), events: [bidCancelled(bid)] };
      }
      try {
        assertBidCancelledAlready(bid.status);
        return { placed: BuyersMapper.bid(bid), events: [] };
      } catch (error) {
        return { refused: error as Error };
      }
    });
    if (released.length > 0) await this.funds.releaseBidFunds(released.map(bidRelease));
    return outcomes;
  }

  /**
   * Suspension: every live bid of the organisation is cancelled, its unfilled hold released and
   * `bid.cancelled` written, in the caller's transaction (which holds the organisation's row
   * lock, so no placement slips in between). Filled parts stay leased and run on.
   */
  @Transactional(Propagation.Mandatory)
  async cancelAllForSuspension(organisationId: string): Promise<number> {
    const cancelled = await this.orderState.cancelLiveBids(organisationId, this.clock.now());
    const bids = await this.bids.findBidsByIds(organisationId, cancelled);
    await this.funds.releaseBidFunds(bids.map(bidRelease));
    await this.outbox.recordMany(bids.map((bid) => bidCancelled(bid, ORGANISATION_SUSPENDED)));
    return bids.length;
  }
}

/** A plan as the batch's read statement locked it. */
function lockedPlan(row: LockedPlanRow): ReplacementPlanRecord {
  return {
    ...row,
    budget: BigInt(row.budget),
    usedBudget: BigInt(row.usedBudget),
    stoppedAt: row.stoppedAt === null ? null : new Date(row.stoppedAt),
    createdAt: new Date(row.createdAt),
    updatedAt: new Date(row.updatedAt),
  };
}

function planResponse(plan: ReplacementPlanRecord, scale: number): ReplacementPlanResponse {
  return {
    id: plan.id,
    currency: plan.currency,
    maxCount: plan.maxCount,
    budget: formatMoney(plan.budget, scale),
    usedCount: plan.usedCount,
    usedBudget: formatMoney(plan.usedBudget, scale),
    remainingCount: plan.maxCount - plan.usedCount,
    remainingBudget: formatMoney(plan.budget - plan.usedBudget, scale),
    stoppedAt: plan.stoppedAt?.toISOString() ?? null,
  };
}

/** A new plan when the bid asks to be re-placed automatically (`autoReplace`); null otherwise. */
function replacementAsked(
  input: PlaceBidDto,
  market: { currencyScale: number },
  now: Date,
): NewBid['replacement'] {
  if (input.autoReplace === undefined) return null;
  return {
    planId: uuidV7(now),
    plan: {
      maxCount: input.autoReplace.maxCount,
      budget: parseMoney(input.autoReplace.budget, {
        field: 'autoReplace.budget',
        scale: market.currencyScale,
        max: MAX_REPLACEMENT_BUDGET_MINOR,
      }),
    },
    replacesLeaseId: null,
  };
}

/** A GPU bid's own terms, which validation requires whenever `inference` is absent. */
function gpuTerms(input: QuoteBidDto): {
  market: string;
  gpus: number;
  maxPricePerGpuHour: string;
  billingMode: NonNullable<QuoteBidDto['billingMode']>;
  minGpusPerSite?: number;
  provinces?: string[];
} {
  const { market, gpus, maxPricePerGpuHour, billingMode } = input;
  if (
    market === undefined ||
    gpus === undefined ||
    maxPricePerGpuHour === undefined ||
    billingMode === undefined
  ) {
    throw new DomainError(
      'VALIDATION_FAILED',
      'A GPU bid needs market, gpus, maxPricePerGpuHour and billingMode.',
    );
  }
  return {
    market,
    gpus,
    maxPricePerGpuHour,
    billingMode,
    minGpusPerSite: input.minGpusPerSite,
    provinces: input.provinces,
  };
}

/** What a cancelled bid gives back: the hold of its unfilled GPUs. */
/** The take-or-pay minimum a quote states for the sized demand (docs/INFERENCE.md "Per-token billing"). */
function takeOrPayQuote(
  percent: number,
  outputTokensPerSecond: number,
  promptTokensPerSecond: number,
  maxPricePerMillionTokens: bigint,
  expectedPricePerMillionTokens: bigint | null,
  scale: number,
): TakeOrPayResponse {
  const tokens = takeOrPayTokensPerHour(tokensPerHour(outputTokensPerSecond, promptTokensPerSecond), percent);
  return {
    percent,
    minimumTokensPerHour: tokens.toString(),
    minimumChargePerHourAtCap: formatMoney(tokensCost(tokens, maxPricePerMillionTokens), scale),
    expectedMinimumChargePerHour:
      expectedPricePerMillionTokens === null
        ? null
        : formatMoney(tokensCost(tokens, expectedPricePerMillionTokens), scale),
  };
}

function bidRelease(bid: BidRecord): BidToRelease {
  return {
    bidId: bid.id,
    organisationId: bid.organisationId,
    currency: bid.market.currency,
    maxPricePerGpuHour: bid.maxPricePerGpuHour,
    durationHours: bid.durationHours,
    unfilledGpus: bid.gpus - bid.filledGpus,
    reason: 'cancelled',
  };
}

/** `bid.placed`, with the `seq` that gives the bid its time priority. */
function bidPlaced(bid: BidRecord): NewEvent {
  return {
    type: 'bid.placed',
    aggregateType: 'bid',
    aggregateId: bid.id,
    payload: {
      bidId: bid.id,
      organisationId: bid.organisationId,
      market: bid.market.slug,
      gpus: bid.gpus,
      maxPricePerGpuHour: formatMoney(bid.maxPricePerGpuHour, bid.market.currencyScale),
      durationHours: bid.durationHours,
      expiresAt: bid.expiresAt.toISOString(),
      seq: bid.seq.toString(),
      ...(bid.replacesLeaseId === null ? {} : { replacesLeaseId: bid.replacesLeaseId }),
      ...(bid.inference === null
        ? {}
        : { inference: inferencePlaced(bid.inference, bid.market.currencyScale) }),
    },
  };
}

/** An inference bid's own terms as `bid.placed` states them (absent on a GPU bid). */
function inferencePlaced(
  terms: NonNullable<BidRecord['inference']>,
  scale: number,
): NonNullable<EventPayloads['bid.placed']['inference']> {
  return {
    model: terms.model,
    outputTokensPerSecond: terms.outputTokensPerSecond,
    promptTokensPerSecond: terms.promptTokensPerSecond,
    ttftP95Ms: terms.ttftP95Ms,
    maxPricePerMillionTokens: formatMoney(terms.maxPricePerMillionTokens, scale),
    takeOrPayPercent: terms.takeOrPayPercent,
    minimumTokensPerHour: takeOrPayTokensPerHour(
      tokensPerHour(terms.outputTokensPerSecond, terms.promptTokensPerSecond),
      terms.takeOrPayPercent,
    ).toString(),
  };
}

/** `bid.cancelled`; `reason` only when the exchange cancelled it (suspension), not the buyer. */
function bidCancelled(bid: BidRecord, reason?: string): NewEvent {
  return {
    type: 'bid.cancelled',
    aggregateType: 'bid',
    aggregateId: bid.id,
    payload: {
      bidId: bid.id,
      organisationId: bid.organisationId,
      market: bid.market.slug,
      gpus: bid.gpus,
      filledGpus: bid.filledGpus,
      cancelledGpus: bid.gpus - bid.filledGpus,
      ...(reason === undefined ? {} : { reason }),
    },
  };
}

/**
 * A re-placement's lot: the bid's replica size when the lease's GPUs are whole replicas; else none
 * (a lot may span two offers at one site, so one lease can hold part of one).
 */
function lotFor(inference: { gpusPerReplica: number | null }, gpus: number): number | null {
  return inference.gpusPerReplica !== null && gpus % inference.gpusPerReplica === 0
    ? inference.gpusPerReplica
    : null;
}
