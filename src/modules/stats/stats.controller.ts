import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { Public } from '@/infra/auth/auth.decorators';
import { MarketStatsResponse, StatsWindowQuery } from './dto/stats.dto';
import { StatsService } from './stats.service';

@ApiTags('market data')
@ApiErrors({ 429: 'Rate limit per IP exceeded; see Retry-After' })
@Public()
@Controller('v1/markets')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get(':market/stats')
  @ApiOperation({
    summary: 'Public statistics of a market over the last hour, day or week',
    description:
      'Utilisation and idle GPU-hours, fill rate, unmet demand, times to fill and hourly trade candles, ' +
      'read from hourly snapshots (docs/STATS.md); supply now and the window’s trades per inference model. ' +
      'Verified organisations only; no identities. ' +
      'Supply and prices are withheld (null) when fewer than `minProviders` distinct providers are behind them.',
  })
  @ApiParam({ name: 'market', example: 'nvidia-h100-80gb' })
  @ApiOkResponse({ type: MarketStatsResponse })
  @ApiErrors({ 400: 'window not hour, day or week', 404: 'No such market' })
  getMarketStats(
    @Param('market') market: string,
    @Query() query: StatsWindowQuery,
  ): Promise<MarketStatsResponse> {
    return this.stats.getMarketStats(market, query.window);
  }
}
