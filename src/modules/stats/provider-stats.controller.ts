import { Controller, Get, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorBody } from '../../infra/http/error-body';
import { CurrentPrincipal, RequireRole, RequireScope } from '../../infra/auth/auth.decorators';
import type { Principal } from '../../infra/auth/principal';
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
@ApiUnauthorizedResponse({ type: ErrorBody, description: 'Missing, invalid or revoked credentials' })
@ApiForbiddenResponse({ type: ErrorBody, description: 'Not a provider, or key lacks the read scope' })
@ApiTooManyRequestsResponse({ type: ErrorBody, description: 'Rate limit exceeded; see Retry-After' })
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
  @ApiBadRequestResponse({ type: ErrorBody, description: 'window not hour, day or week' })
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
      '`insufficientData` when there are fewer.',
  })
  @ApiOkResponse({ type: PriceSuggestionResponse })
  @ApiBadRequestResponse({ type: ErrorBody, description: 'Unknown market, or site not one of yours' })
  suggestPrice(
    @CurrentPrincipal() principal: Principal,
    @Query() query: PriceSuggestionQuery,
  ): Promise<PriceSuggestionResponse> {
    return this.stats.suggestPrice(principal, query.market, query.site);
  }
}
