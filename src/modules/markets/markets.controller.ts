import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { Public } from '@/infra/auth/auth.decorators';
import { BookQuery, BookResponse } from './dto/book.dto';
import { MarketListResponse } from './dto/market.dto';
import { ProvinceListResponse } from './dto/province.dto';
import { MarketDataService } from './market-data.service';
import { MarketsService } from './markets.service';

@ApiTags('market data')
@ApiErrors({ 429: 'Rate limit per IP exceeded; see Retry-After' })
@Public()
@Controller('v1')
export class MarketsController {
  constructor(
    private readonly markets: MarketsService,
    private readonly marketData: MarketDataService,
  ) {}

  @Get('markets')
  @ApiOperation({ summary: 'List markets (compute classes), with currency, fee and status' })
  @ApiOkResponse({ type: MarketListResponse })
  listMarkets(): Promise<MarketListResponse> {
    return this.markets.listMarkets();
  }

  @Get('provinces')
  @ApiOperation({ summary: 'List provinces and their cities (GB/T 2260 codes) for sites and bids' })
  @ApiOkResponse({ type: ProvinceListResponse })
  listProvinces(): Promise<ProvinceListResponse> {
    return this.markets.listProvinces();
  }

  @Get('markets/:market/book')
  @ApiOperation({
    summary: 'Aggregated order book of a market',
    description:
      'Depth by price level, best first: asks are verified providers’ offers inside their availability ' +
      'window with free GPUs, each level naming its providers by display name and reliability score ' +
      '(docs/RELIABILITY.md) and saying when its offers can be had (nextWindowOpensAt, windowClosesAt: ' +
      'docs/LEASES.md "Idle windows"); bids are verified buyers’ unexpired bids with unfilled GPUs. No ids.',
  })
  @ApiParam({ name: 'market', example: 'nvidia-h100-80gb' })
  @ApiOkResponse({ type: BookResponse })
  @ApiErrors({ 400: 'depth outside 1..100', 404: 'No such market' })
  getBook(@Param('market') market: string, @Query() query: BookQuery): Promise<BookResponse> {
    return this.marketData.getBook(market, query.depth);
  }
}
