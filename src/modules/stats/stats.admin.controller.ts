import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { AdminApi } from '@/infra/auth/auth.decorators';
import { AdminStatsQuery, AdminStatsResponse } from './dto/stats.dto';
import { StatsService } from './stats.service';

@AdminApi()
@Controller('admin/stats')
export class StatsAdminController {
  constructor(private readonly stats: StatsService) {}

  @Get()
  @ApiOperation({
    summary:
      'Market statistics for operators: where capacity is idle, where demand is unmet, what it clears at',
    description:
      'Per market: supply by province, fill rate, unmet demand (expired / cancelled), open bids older than an ' +
      'hour at the window’s end, trades and hourly candles. No minimum-providers rule. A read: not audited.',
  })
  @ApiOkResponse({ type: AdminStatsResponse })
  @ApiErrors({ 400: 'window not hour, day or week, or unknown market' })
  getStats(@Query() query: AdminStatsQuery): Promise<AdminStatsResponse> {
    return this.stats.getAdminStats(query.window, query.market);
  }
}
