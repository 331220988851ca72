import { Injectable } from '@nestjs/common';
import type { MarketStatus, MatchingMode } from '@/generated/prisma/enums';
import { DomainError } from '@/shared/domain-error';
import { DIVISION_CODE_PATTERN, MARKET_SLUG_PATTERN } from '@/infra/http/field-validators';
import type { MarketListResponse } from './dto/market.dto';
import type { ProvinceListResponse } from './dto/province.dto';
import { assertAcceptsOrders } from './domain/trading-rules';
import { MarketsMapper } from './markets.mapper';
import { MarketsRepository, type DivisionRecord, type MarketRecord } from './markets.repository';

/** What other modules need to know about a market to price and place orders in it. */
export interface MarketRef {
  id: string;
  slug: string;
  currency: string;
  currencyScale: number;
  feeBps: number;
  status: MarketStatus;
  matchingMode: MatchingMode;
  callWindowMs: number;
  callPhaseMs: number;
}

/**
 * A market's fields that never change while a process runs (migrations insert markets; no route
 * edits these): enough to price and place an order. Status and fee are mutable and not here.
 */
export interface CatalogueMarket {
  id: string;
  slug: string;
  currency: string;
  currencyScale: number;
}

const toRef = (record: MarketRecord): MarketRef => ({
  id: record.id,
  slug: record.slug,
  currency: record.currency,
  currencyScale: record.currencyScale,
  feeBps: record.feeBps,
  status: record.status,
  matchingMode: record.matchingMode,
  callWindowMs: record.callWindowMs,
  callPhaseMs: record.callPhaseMs,
});

/**
 * The catalogue (markets, provinces, cities) and the lookups other modules resolve request
 * fields with: an unknown market named in a body or query is a 400 naming the field, in a path
 * a 404.
 */
@Injectable()
export class MarketsService {
  // In-process copies of the immutable catalogue: order placement resolves a market and its
  // provinces without a query. A miss reloads once, so rows a migration adds are seen.
  private catalogue: Promise<Map<string, CatalogueMarket>> | undefined;
  private provinceCodes: Promise<Set<string>> | undefined;

  constructor(private readonly markets: MarketsRepository) {}

  async listMarkets(): Promise<MarketListResponse> {
    const markets = await this.markets.findMarkets();
    return { data: markets.map((market) => MarketsMapper.market(market)) };
  }

  async listProvinces(): Promise<ProvinceListResponse> {
    const provinces = await this.markets.findProvincesWithCities();
    return { data: provinces.map((province) => MarketsMapper.province(province)) };
  }

  /** The market a new order names in `field`: 400 if unknown, 409 if paused. */
  async findActiveBySlug(slug: string, field = 'market'): Promise<MarketRef> {
    const market = await this.findBySlug(slug, field);
    assertAcceptsOrders(market);
    return market;
  }

  /**
   * The immutable part of a market named in a body or query `field`, from the in-process
   * catalogue: 400 if unknown. Says nothing of its status; a placement checks that in its insert.
   */
  async findCatalogueMarket(slug: string, field = 'market'): Promise<CatalogueMarket> {
    const market = MARKET_SLUG_PATTERN.test(slug) ? await this.cachedMarket(slug) : undefined;
    if (!market) {
      throw new DomainError('VALIDATION_FAILED', `${field} does not name a known market.`, { field });
    }
    return market;
  }

  /** A placement found its cached market gone from the table: reload the catalogue next time. */
  forgetCatalogue(): void {
    this.catalogue = undefined;
  }

  /** A market named in a body or query `field`, whatever its status: 400 if unknown. */
  async findBySlug(slug: string, field = 'market'): Promise<MarketRef> {
    const market = MARKET_SLUG_PATTERN.test(slug) ? await this.markets.findMarketBySlug(slug) : null;
    if (!market) {
      throw new DomainError('VALIDATION_FAILED', `${field} does not name a known market.`, { field });
    }
    return toRef(market);
  }

  /** A market named in a path: 404 if unknown. */
  async getBySlug(slug: string): Promise<MarketRef> {
    const market = MARKET_SLUG_PATTERN.test(slug) ? await this.markets.findMarketBySlug(slug) : null;
    if (!market) throw new DomainError('NOT_FOUND', 'Market not found.');
    return toRef(market);
  }

  /** A site's province and city: both known, and the city in that province (400 otherwise). */
  async assertSiteLocation(provinceCode: string, cityCode: string): Promise<void> {
    await this.assertProvincesExist([provinceCode], 'provinceCode');
    const city = DIVISION_CODE_PATTERN.test(cityCode) ? await this.markets.findCity(cityCode) : null;
    if (!city) {
      throw new DomainError('VALIDATION_FAILED', 'cityCode does not name a known city.', {
        field: 'cityCode',
      });
    }
    if (city.provinceCode !== provinceCode) {
      throw new DomainError(
        'VALIDATION_FAILED',
        `cityCode ${cityCode} is not a city of province ${provinceCode}.`,
        {
          field: 'cityCode',
        },
      );
    }
  }

  /** Every code names a known province (400 listing the unknown ones otherwise). */
  async assertProvincesExist(codes: readonly string[], field = 'provinces'): Promise<DivisionRecord[]> {
    const wellFormed = codes.filter((code) => DIVISION_CODE_PATTERN.test(code));
    const found = await this.markets.findProvinces(wellFormed);
    const known = new Set(found.map((province) => province.code));
    const unknown = codes.filter((code) => !known.has(code));
    if (unknown.length > 0) {
      const what = field === 'provinceCode' ? 'a known province' : 'known provinces only';
      throw new DomainError('VALIDATION_FAILED', `${field} must name ${what}.`, { field, unknown });
    }
    return found;
  }

  /**
   * As `assertProvincesExist`, from the in-process list of province codes (the hot path of
   * placing a bid, which needs no names): 400 listing the unknown ones.
   */
  async assertProvinceCodesKnown(codes: readonly string[], field = 'provinces'): Promise<void> {
    if (codes.length === 0) return;
    let known = await (this.provinceCodes ??= this.loadProvinceCodes());
    if (codes.some((code) => !known.has(code))) {
      this.provinceCodes = undefined;
      known = await (this.provinceCodes ??= this.loadProvinceCodes());
    }
    const unknown = codes.filter((code) => !known.has(code));
    if (unknown.length > 0) {
      throw new DomainError('VALIDATION_FAILED', `${field} must name known provinces only.`, {
        field,
        unknown,
      });
    }
  }

  /** A fresh price-time priority `seq` for an order being accepted or repriced. */
  async nextOrderSeq(): Promise<bigint> {
    return this.markets.nextOrderSeq();
  }

  private async cachedMarket(slug: string): Promise<CatalogueMarket | undefined> {
    const cached = (await (this.catalogue ??= this.loadCatalogue())).get(slug);
    if (cached) return cached;
    this.catalogue = undefined;
    return (await (this.catalogue ??= this.loadCatalogue())).get(slug);
  }

  private loadCatalogue(): Promise<Map<string, CatalogueMarket>> {
    const loading = this.markets
      .findMarkets()
      .then(
        (rows) =>
          new Map(
            rows.map((row) => [
              row.slug,
              { id: row.id, slug: row.slug, currency: row.currency, currencyScale: row.currencyScale },
            ]),
          ),
      );
    // A failed load must not stick: the next caller tries again.
    loading.catch(() => {
      if (this.catalogue === loading) this.catalogue = undefined;
    });
    return loading;
  }

  private loadProvinceCodes(): Promise<Set<string>> {
    const loading = this.markets.findProvinceCodes().then((codes) => new Set(codes));
    loading.catch(() => {
      if (this.provinceCodes === loading) this.provinceCodes = undefined;
    });
    return loading;
  }
}
