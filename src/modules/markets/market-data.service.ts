import { Injectable } from '@nestjs/common';
import { Clock } from '@/infra/clock/clock';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { BOOK_DEPTH_DEFAULT, type BookResponse } from './dto/book.dto';
import type { ListingPageResponse, ListingsQuery } from './dto/listing.dto';
import { ReliabilityService } from '@/modules/reliability/reliability.service';
import { MarketDataRepository } from './market-data.repository';
import { MarketsMapper } from './markets.mapper';
import { MarketsService } from './markets.service';

/**
 * Public market data: the aggregated book and the anonymised listings. Only verified
 * organisations' orders appear (DESIGN, Organisations); no identity ever does, beyond a provider's
 * display name and its public reliability score (on listings and on the book's asks).
 */
@Injectable()
export class MarketDataService {
  constructor(
    private readonly marketData: MarketDataRepository,
    private readonly markets: MarketsService,
    private readonly cursors: CursorCodec,
    private readonly clock: Clock,
    private readonly reliability: ReliabilityService,
  ) {}

  async getBook(slug: string, depth: number = BOOK_DEPTH_DEFAULT): Promise<BookResponse> {
    const market = await this.markets.getBySlug(slug);
    const now = this.clock.now();
    const [asks, bids] = await Promise.all([
      this.marketData.findPublicAsks(market.id, now, depth),
      this.marketData.findPublicBids(market.id, now, depth),
    ]);
    const providers = await this.reliability.publicProvidersOf(asks.flatMap((level) => level.providerIds));
    return {
      market: market.slug,
      currency: market.currency,
      status: market.status,
      asOf: now.toISOString(),
      asks: asks.map((level) => MarketsMapper.askLevel(level, market.currencyScale, providers, now)),
      bids: bids.map((level) => MarketsMapper.bookLevel(level, market.currencyScale)),
    };
  }

  async listListings(query: ListingsQuery): Promise<ListingPageResponse> {
    const after = this.cursors.decode(query.cursor);
    const limit = this.cursors.limit(query.limit);
    const market =
      query.market === undefined ? undefined : await this.markets.findBySlug(query.market, 'market');
    if (query.province !== undefined) await this.markets.assertProvincesExist([query.province], 'province');
    const now = this.clock.now();
    const rows = await this.marketData.findPublicListings(
      { marketId: market?.id, provinceCode: query.province },
      now,
      limit,
      after,
    );
    const [scores, serving] = await Promise.all([
      this.reliability.scoresOf(rows.map((row) => row.providerOrganisationId)),
      this.marketData.findPublicServing(rows.map((row) => row.id)),
    ]);
    return this.cursors.page(rows, limit, (row) => {
      const score = scores.get(row.providerOrganisationId);
      if (score === undefined) throw new Error(`no reliability score for ${row.providerOrganisationId}`);
      return MarketsMapper.listing(row, score, now, serving.get(row.id));
    });
  }
}
