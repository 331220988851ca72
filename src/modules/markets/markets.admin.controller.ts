import { Body, Controller, Get, HttpCode, Param, Patch, Post, Put } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { CurrentAdmin, AdminApi } from '@/infra/auth/auth.decorators';
import type { AdminPrincipal } from '@/infra/auth/principal';
import {
  AdminMarketListResponse,
  AdminMarketResponse,
  SetMarketMatchingDto,
  UpdateMarketDto,
} from './dto/admin-market.dto';
import { MarketsAdminService } from './markets.admin.service';

@AdminApi()
@Controller('admin/markets')
export class MarketsAdminController {
  constructor(private readonly admin: MarketsAdminService) {}

  @Get()
  @ApiOperation({ summary: 'List every market with its status, fee and matching counters' })
  @ApiOkResponse({ type: AdminMarketListResponse })
  list(): Promise<AdminMarketListResponse> {
    return this.admin.listMarkets();
  }

  @Post(':slug/pause')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Pause a market (audited)',
    description:
      'Nothing fills while paused and new orders are refused (409 MARKET_PAUSED); resting orders may ' +
      'still be amended and cancelled. Writes `market.paused`. Pausing a paused market changes nothing.',
  })
  @ApiParam({ name: 'slug', example: 'nvidia-h100-80gb' })
  @ApiOkResponse({ type: AdminMarketResponse })
  @ApiErrors({ 404: 'No such market' })
  pause(@CurrentAdmin() admin: AdminPrincipal, @Param('slug') slug: string): Promise<AdminMarketResponse> {
    return this.admin.pauseMarket(admin.userId, slug);
  }

  @Post(':slug/resume')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Resume a paused market (audited)',
    description:
      'Writes `market.resumed`, which runs matching for the market. Resuming an active market changes nothing.',
  })
  @ApiParam({ name: 'slug', example: 'nvidia-h100-80gb' })
  @ApiOkResponse({ type: AdminMarketResponse })
  @ApiErrors({ 404: 'No such market' })
  resume(@CurrentAdmin() admin: AdminPrincipal, @Param('slug') slug: string): Promise<AdminMarketResponse> {
    return this.admin.resumeMarket(admin.userId, slug);
  }

  @Patch(':slug')
  @ApiOperation({
    summary: 'Set a market’s platform fee (audited)',
    description:
      'Applies to leases matched after the change; existing leases keep the fee they were created with. ' +
      'Writes `market.fee_changed`. Restating the current fee changes nothing.',
  })
  @ApiParam({ name: 'slug', example: 'nvidia-h100-80gb' })
  @ApiOkResponse({ type: AdminMarketResponse })
  @ApiErrors({ 400: 'feeBps missing, not an integer, or outside 0..5000', 404: 'No such market' })
  update(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('slug') slug: string,
    @Body() body: UpdateMarketDto,
  ): Promise<AdminMarketResponse> {
    return this.admin.setMarketFee(admin.userId, slug, body.feeBps);
  }

  @Put(':slug/matching')
  @ApiOperation({
    summary: 'Set a market’s matching mode and call window (audited)',
    description:
      'CONTINUOUS matches price-time as orders arrive; CALL clears the whole book once per window, at the ' +
      'multiples of `callWindowMs` plus the market’s `callPhaseMs` (docs/MATCHING.md "Call markets"; a new ' +
      'window gives a new phase). Takes effect at the market’s next run: ' +
      'a clearing already scheduled still runs at its instant (as a continuous run after a switch to ' +
      'CONTINUOUS). Audited as `market.set_matching`; restating the current settings changes nothing.',
  })
  @ApiParam({ name: 'slug', example: 'nvidia-h100-80gb' })
  @ApiOkResponse({ type: AdminMarketResponse })
  @ApiErrors({
    400: 'matchingMode not CONTINUOUS or CALL, or callWindowMs not an integer in 100..60000',
    404: 'No such market',
  })
  setMatching(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('slug') slug: string,
    @Body() body: SetMarketMatchingDto,
  ): Promise<AdminMarketResponse> {
    return this.admin.setMarketMatching(admin.userId, slug, body.matchingMode, body.callWindowMs);
  }
}
