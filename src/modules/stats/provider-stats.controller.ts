import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { CurrentPrincipal, RequireRole, RequireScope } from '@/infra/auth/auth.decorators';
import type { Principal } from '@/infra/auth/principal';
import {
  PriceSuggestionQuery,
  PriceSuggestionResponse,
  ProviderStatsResponse,
  StatsWindowQuery,
} from './dto/stats.dto';
import { StatsService } from './stats.service';

@ApiTags('statistics')
@ApiBearerAuth('api-key')
@ApiBearerAuth('access-token')
@ApiErrors(401, 429, { 403: 'Not a provider, or key lacks the read scope' })
@RequireRole('PROVIDER')
@RequireScope('read')
@Controller('v1')
export class ProviderStatsController {
  constructor(private readonly stats: StatsService) {}

  @Get('providers/stats')
  @ApiOperation({
    summary: 'Your sites: idle capacity and settled proceeds over the last hour, day or week',
    description:
      'One row per site and market, from the hourly snapshots, plus free GPUs of your open offers right now. ' +
      'Proceeds are a summary; statements by site are at GET /v1/billing/earnings?groupBy=site.',
  })
  @ApiOkResponse({ type: ProviderStatsResponse })
  @ApiErrors({ 400: 'window not hour, day or week' })
  getProviderStats(
    @CurrentPrincipal() principal: Principal,
    @Query() query: StatsWindowQuery,
  ): Promise<ProviderStatsResponse> {
    return this.stats.getProviderStats(principal, query.window);
  }

  @Get('offers/price-suggestion')
  @ApiOperation({
    summary: 'Suggested ask for an offer at one of your sites',
    description:
      'The highest ask whose own chance of a lease within 24 h reaches PRICE_SUGGESTION_TARGET_PERCENT, from ' +
      'comparable recent offers (same market, the site’s province, else the whole market): asks pooled into ' +
      'bins of at least PRICE_SUGGESTION_MIN_SAMPLE offers and fitted to fall with price (docs/STATS.md); ' +
      '`insufficientData` when there are fewer. With `model` (and optionally `offer`), the suggestion is also ' +
      'stated per million tokens of that model (docs/STATS.md "Price suggestion per million tokens").',
  })
  @ApiOkResponse({ type: PriceSuggestionResponse })
  @ApiErrors({
    400: 'Unknown market or model, site or offer not one of yours, offer without model, or a model with no figures',
  })
  suggestPrice(
    @CurrentPrincipal() principal: Principal,
    @Query() query: PriceSuggestionQuery,
  ): Promise<PriceSuggestionResponse> {
    return this.stats.suggestPrice(principal, query);
  }
}
