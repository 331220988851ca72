import { Injectable } from '@nestjs/common';
import { Clock } from '@/infra/clock/clock';
import { AppConfig } from '@/infra/config/app-config';
import { DomainError } from '@/shared/domain-error';
import { formatMoney } from '@/shared/money';
import type { MarketRef } from '@/modules/markets/markets.service';
import { MarketsService } from '@/modules/markets/markets.service';
import type { Principal } from '@/infra/auth/principal';
import { ReliabilityService } from '@/modules/reliability/reliability.service';
import { IdleSchedule } from '@/modules/markets/domain/idle-schedule';
import { idleWindowsOf } from '@/modules/markets/domain/order-terms';
import {
  InferenceCatalogueService,
  DEFAULT_REFERENCE_CONCURRENCY,
} from '@/modules/inference/inference-catalogue.service';
import {
  MARKET_PROMPT_TO_OUTPUT_RATIO,
  pricePerMillionTokensAtAsk,
  tokensPerGpuHour,
  type TokenRates,
} from '@/modules/markets/domain/token-terms';
import { summariseModelSupply } from './domain/model-supply';
import { suggestAsk, type SuggestionRule } from './domain/price-suggestion';
import { freeGpusNow, summariseDemand, summariseSupply, summariseTrades } from './domain/stats-formulas';
import { HOUR_MS, windowRange, type StatsWindow } from './domain/stats-windows';
import type {
  AdminMarketStatsResponse,
  AdminStatsResponse,
  MarketStatsResponse,
  ModelSupplyListResponse,
  PriceSuggestionInferenceResponse,
  PriceSuggestionQuery,
  PriceSuggestionResponse,
  ProviderStatsResponse,
} from './dto/stats.dto';
import { StatsMapper } from './stats.mapper';
import { StatsReadsRepository } from './stats-reads.repository';

const DEFAULT_WINDOW: StatsWindow = 'day';

// An offer's outcome (leased within 24 h or not) is known 24 h after its placement hour ends.
const OUTCOME_HOURS = 25;

/**
 * Market statistics read from the hourly snapshots (docs/STATS.md): public aggregates, the
 * admin's richer view, a provider's own sites, and the price suggestion.
 */
@Injectable()
export class StatsService {
  constructor(
    private readonly reads: StatsReadsRepository,
    private readonly markets: MarketsService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly reliability: ReliabilityService,
    private readonly inference: InferenceCatalogueService,
  ) {}

  /**
   * Public: no organisation is named, and supply and prices appear only with at least
   * STATS_MIN_PROVIDERS distinct providers behind them (window supply, window prices, each candle,
   * each model's trades).
   */
  async getMarketStats(slug: string, window: StatsWindow = DEFAULT_WINDOW): Promise<MarketStatsResponse> {
    const market = await this.markets.getBySlug(slug);
    const now = this.clock.now();
    const { from, to } = windowRange(window, now);
    const minProviders = this.config.env.STATS_MIN_PROVIDERS;
    const [hours, totals, serving, modelTrades] = await Promise.all([
      this.reads.findPublicMarketHours(market.id, from, to),
      this.reads.findPublicSupplyTotals(market.id, from, to),
      this.reads.findPublicServingOffers(market.id, now),
      this.reads.findPublicModelTrades(market.id, from, to),
    ]);
    const newest = hours.reduce<Date | null>(
      (m, h) => (m === null || h.computedAt > m ? h.computedAt : m),
      null,
    );
    return {
      market: market.slug,
      currency: market.currency,
      window,
      from: from.toISOString(),
      to: to.toISOString(),
      computedAt: newest?.toISOString() ?? null,
      minProviders,
      supply: totals.offeringProviders >= minProviders ? StatsMapper.supply(summariseSupply([totals])) : null,
      demand: StatsMapper.demand(summariseDemand(hours)),
      trades: StatsMapper.trades(
        summariseTrades(hours),
        market.currencyScale,
        totals.tradingProviders >= minProviders,
      ),
      candles: hours
        .filter((h) => h.trades > 0)
        .map((h) => StatsMapper.candle(h, market.currencyScale, h.tradeProviders >= minProviders)),
      supplyByModel: this.supplyByModel(serving, now, market.currencyScale),
      tradesByModel: modelTrades.map((t) =>
        StatsMapper.modelTrades(t, market.currencyScale, t.providers >= minProviders),
      ),
    };
  }

  /**
   * Live supply per model and province in inference terms. No minimum-providers rule: these are
   * the offers public listings show one by one, each with its provider's name; nothing here
   * says what anyone sold.
   */
  private supplyByModel(
    serving: Awaited<ReturnType<StatsReadsRepository['findPublicServingOffers']>>,
    now: Date,
    scale: number,
  ): ModelSupplyListResponse {
    const ratio = MARKET_PROMPT_TO_OUTPUT_RATIO;
    return {
      asOf: now.toISOString(),
      promptToOutputRatio: ratio,
      models: summariseModelSupply(serving, ratio).map((m) => ({
        model: m.model,
        ...StatsMapper.modelSupply(m, scale),
        provinces: m.provinces.map((p) => ({
          provinceCode: p.provinceCode,
          ...StatsMapper.modelSupply(p, scale),
        })),
      })),
    };
  }

  /** Everything, per market and province, with unmet demand and stale bids: no minimum rule. */
  async getAdminStats(window: StatsWindow = DEFAULT_WINDOW, slug?: string): Promise<AdminStatsResponse> {
    const { from, to } = windowRange(window, this.clock.now());
    const markets =
      slug === undefined
        ? await Promise.all(
            (await this.markets.listMarkets()).data.map((m) => this.markets.findBySlug(m.slug)),
          )
        : [await this.markets.findBySlug(slug)];
    return {
      window,
      from: from.toISOString(),
      to: to.toISOString(),
      markets: await Promise.all(markets.map((m) => this.adminMarketStats(m, from, to))),
    };
  }

  private async adminMarketStats(market: MarketRef, from: Date, to: Date): Promise<AdminMarketStatsResponse> {
    const [hours, provinces] = await Promise.all([
      this.reads.findPublicMarketHours(market.id, from, to),
      this.reads.findAdminProvinceSupply(market.id, from, to),
    ]);
    const last = hours[hours.length - 1];
    // Stale bids are a state at an hour's end: the window's last hour, if it has a snapshot row.
    const lastHourEnd = new Date(to.getTime() - HOUR_MS);
    const stale =
      last !== undefined && last.bucketStart.getTime() === lastHourEnd.getTime() ? last : undefined;
    return {
      market: market.slug,
      currency: market.currency,
      supply: StatsMapper.supply(summariseSupply(provinces)),
      provinces: provinces.map((p) => ({
        provinceCode: p.provinceCode,
        providers: p.providers,
        ...StatsMapper.supply(summariseSupply([p])),
      })),
      demand: StatsMapper.demand(summariseDemand(hours)),
      openBidsOlderThanAnHour: {
        asOf: to.toISOString(),
        bids: stale?.staleOpenBids ?? 0,
        unfilledGpuHours: Number(stale?.staleOpenBidGpuHours ?? 0n),
      },
      trades: StatsMapper.trades(summariseTrades(hours), market.currencyScale, true),
      candles: hours
        .filter((h) => h.trades > 0)
        .map((h) => StatsMapper.candle(h, market.currencyScale, true)),
    };
  }

  /**
   * The provider's own sites: idle capacity and settled proceeds in the window, free GPUs now;
   * and its reliability score as buyers see it, with the components behind it.
   */
  async getProviderStats(
    principal: Principal,
    window: StatsWindow = DEFAULT_WINDOW,
  ): Promise<ProviderStatsResponse> {
    const now = this.clock.now();
    const { from, to } = windowRange(window, now);
    const [sites, reliability] = await Promise.all([
      this.reads.findOwnSites(principal.organisationId, from, to, now),
      this.reliability.scoreOf(principal.organisationId),
    ]);
    return {
      window,
      from: from.toISOString(),
      to: to.toISOString(),
      reliability,
      sites: sites.map((s) => ({
        siteId: s.siteId,
        siteName: s.siteName,
        provinceCode: s.provinceCode,
        market: s.market,
        currency: s.currency,
        freeGpusNow: freeGpusNow(
          s.freeGpusNow,
          s.windowedOffers.map((o) => {
            const spec = idleWindowsOf(o.idleWindows, o.reclaimNoticeMinutes);
            return { freeGpus: o.freeGpus, schedule: spec === null ? null : new IdleSchedule(spec) };
          }),
          now.getTime(),
        ),
        proceeds: formatMoney(s.proceedsMinor, s.currencyScale),
        ...StatsMapper.supply(summariseSupply([s])),
      })),
    };
  }

  /**
   * The suggested ask for an offer at one of the provider's sites: comparable offers are those
   * placed in the same market and the site's province over the lookback whose 24 h outcome is
   * known; the whole market when the province alone has fewer than the minimum sample.
   */
  async suggestPrice(principal: Principal, query: PriceSuggestionQuery): Promise<PriceSuggestionResponse> {
    const { market: slug, site: siteId } = query;
    const market = await this.markets.findBySlug(slug);
    const province = await this.reads.findOwnSiteProvince(principal.organisationId, siteId);
    if (province === null) {
      throw new DomainError('VALIDATION_FAILED', 'site does not name one of your sites.', { field: 'site' });
    }
    const rates = await this.suggestionRates(principal, market, query);
    const env = this.config.env;
    const rule: SuggestionRule = {
      target: env.PRICE_SUGGESTION_TARGET_PERCENT / 100,
      minSample: env.PRICE_SUGGESTION_MIN_SAMPLE,
    };
    const now = this.clock.now();
    const to = new Date(windowRange('hour', now).to.getTime() - (OUTCOME_HOURS - 1) * HOUR_MS);
    const from = new Date(to.getTime() - env.PRICE_SUGGESTION_LOOKBACK_DAYS * 24 * HOUR_MS);
    let scope: 'province' | 'market' = 'province';
    let suggestion = suggestAsk(
      await this.reads.findPublicOfferOutcomes(market.id, province, from, to),
      rule,
    );
    if (suggestion.insufficientData) {
      scope = 'market';
      suggestion = suggestAsk(await this.reads.findPublicOfferOutcomes(market.id, null, from, to), rule);
    }
    const base = {
      market: market.slug,
      siteId,
      currency: market.currency,
      scope,
      target: rule.target,
      minSample: rule.minSample,
      lookbackDays: env.PRICE_SUGGESTION_LOOKBACK_DAYS,
    };
    const inference = (ask: bigint | null): { inference?: PriceSuggestionInferenceResponse } =>
      rates === null ? {} : { inference: suggestionPerMillion(rates, ask, market.currencyScale) };
    return suggestion.insufficientData
      ? {
          ...base,
          insufficientData: true,
          suggestedAsk: null,
          chance: null,
          sampleSize: suggestion.sampleSize,
          meetsTarget: null,
          ...inference(null),
        }
      : {
          ...base,
          insufficientData: false,
          suggestedAsk: formatMoney(suggestion.suggestedAsk, market.currencyScale),
          chance: suggestion.chance,
          sampleSize: suggestion.sampleSize,
          meetsTarget: suggestion.meetsTarget,
          ...inference(suggestion.suggestedAsk),
        };
  }

  /**
   * The figures a suggestion per million tokens is stated at: the offer's, as sizing trusts them,
   * or the reference of the market's GPU. Null without `model`; 400 naming the field at fault.
   */
  private async suggestionRates(
    principal: Principal,
    market: MarketRef,
    query: PriceSuggestionQuery,
  ): Promise<{ model: string; basis: 'OFFER' | 'REFERENCE'; rates: TokenRates } | null> {
    if (query.model === undefined) {
      if (query.offer === undefined) return null;
      throw new DomainError('VALIDATION_FAILED', 'offer needs model: the model of the offer to price.', {
        field: 'model',
      });
    }
    const model = query.model;
    if (query.offer !== undefined) {
      await this.inference.findModelRef(model, 'model');
      const offer = await this.reads.findOwnOfferServing(
        principal.organisationId,
        query.offer,
        market.id,
        query.site,
        model,
      );
      if (offer === null) {
        throw new DomainError(
          'VALIDATION_FAILED',
          'offer does not name one of your offers in this market at this site.',
          {
            field: 'offer',
          },
        );
      }
      if (offer.serving === null) {
        throw new DomainError('VALIDATION_FAILED', 'The offer has no usable serving profile for model.', {
          field: 'model',
        });
      }
      return {
        model,
        basis: 'OFFER',
        rates: {
          promptTokensPerSecondPerGpu: offer.serving.prompt,
          outputTokensPerSecondPerGpu: offer.serving.output,
        },
      };
    }
    const { data } = await this.inference.listReferenceProfiles({
      model,
      market: market.slug,
      concurrency: DEFAULT_REFERENCE_CONCURRENCY,
    });
    const figures = data[0]?.figures ?? null;
    if (figures === null) {
      throw new DomainError('VALIDATION_FAILED', "model has no reference profile on this market's GPU.", {
        field: 'model',
      });
    }
    return { model, basis: 'REFERENCE', rates: figures };
  }
}

/** A suggested ask per GPU-hour restated per million tokens of a model at the reference mix. */
function suggestionPerMillion(
  priced: { model: string; basis: 'OFFER' | 'REFERENCE'; rates: TokenRates },
  ask: bigint | null,
  scale: number,
): PriceSuggestionInferenceResponse {
  const ratio = MARKET_PROMPT_TO_OUTPUT_RATIO;
  const perMillion = ask === null ? null : pricePerMillionTokensAtAsk(ask, priced.rates, ratio);
  return {
    model: priced.model,
    basis: priced.basis,
    promptTokensPerSecondPerGpu: priced.rates.promptTokensPerSecondPerGpu,
    outputTokensPerSecondPerGpu: priced.rates.outputTokensPerSecondPerGpu,
    promptToOutputRatio: ratio,
    tokensPerGpuHour: Number(tokensPerGpuHour(priced.rates, ratio)),
    suggestedPricePerMillionTokens: perMillion === null ? null : formatMoney(perMillion, scale),
  };
}
