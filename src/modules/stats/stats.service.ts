import { Injectable } from '@nestjs/common';
import { Clock } from '@/infra/clock/clock';
import { AppConfig } from '@/infra/config/app-config';
import { DomainError } from '@/shared/domain-error';
import { formatMoney } from '@/shared/money';
import type { MarketRef } from '@/modules/markets/markets.service';
import { MarketsService } from '@/modules/markets/markets.service';
import type { Principal } from '@/infra/auth/principal';
import { suggestAsk, type SuggestionRule } from './domain/price-suggestion';
import { summariseDemand, summariseSupply, summariseTrades } from './domain/stats-formulas';
import { HOUR_MS, windowRange, type StatsWindow } from './domain/stats-windows';
import type {
  AdminMarketStatsResponse,
  AdminStatsResponse,
  MarketStatsResponse,
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
  ) {}

  /**
   * Public: no organisation is named, and supply and prices appear only with at least
   * STATS_MIN_PROVIDERS distinct providers behind them (window supply, window prices, each candle).
   */
  async getMarketStats(slug: string, window: StatsWindow = DEFAULT_WINDOW): Promise<MarketStatsResponse> {
    const market = await this.markets.getBySlug(slug);
    const { from, to } = windowRange(window, this.clock.now());
    const minProviders = this.config.env.STATS_MIN_PROVIDERS;
    const [hours, totals] = await Promise.all([
      this.reads.findPublicMarketHours(market.id, from, to),
      this.reads.findPublicSupplyTotals(market.id, from, to),
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

  /** The provider's own sites: idle capacity and settled proceeds in the window, free GPUs now. */
  async getProviderStats(
    principal: Principal,
    window: StatsWindow = DEFAULT_WINDOW,
  ): Promise<ProviderStatsResponse> {
    const now = this.clock.now();
    const { from, to } = windowRange(window, now);
    const sites = await this.reads.findOwnSites(principal.organisationId, from, to, now);
    return {
      window,
      from: from.toISOString(),
      to: to.toISOString(),
      sites: sites.map((s) => ({
        siteId: s.siteId,
        siteName: s.siteName,
        provinceCode: s.provinceCode,
        market: s.market,
        currency: s.currency,
        freeGpusNow: s.freeGpusNow,
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
  async suggestPrice(principal: Principal, slug: string, siteId: string): Promise<PriceSuggestionResponse> {
    const market = await this.markets.findBySlug(slug);
    const province = await this.reads.findOwnSiteProvince(principal.organisationId, siteId);
    if (province === null) {
      throw new DomainError('VALIDATION_FAILED', 'site does not name one of your sites.', { field: 'site' });
    }
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
    return suggestion.insufficientData
      ? {
          ...base,
          insufficientData: true,
          suggestedAsk: null,
          chance: null,
          sampleSize: suggestion.sampleSize,
          meetsTarget: null,
        }
      : {
          ...base,
          insufficientData: false,
          suggestedAsk: formatMoney(suggestion.suggestedAsk, market.currencyScale),
          chance: suggestion.chance,
          sampleSize: suggestion.sampleSize,
          meetsTarget: suggestion.meetsTarget,
        };
  }
}
