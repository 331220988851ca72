import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorBody } from '../../infra/http/error-body';
import { Idempotent } from '../../infra/idempotency/idempotent.decorator';
import { PageQuery } from '../../infra/pagination/page';
import { CurrentPrincipal, RequireRole, RequireScope } from '../../infra/auth/auth.decorators';
import type { Principal } from '../../infra/auth/principal';
import { CreateSiteDto } from './dto/create-site.dto';
import { SitePageResponse, SiteResponse } from './dto/site.dto';
import { SitesService } from './sites.service';

@ApiTags('sites')
@ApiBearerAuth('api-key')
@ApiBearerAuth('access-token')
@ApiUnauthorizedResponse({ type: ErrorBody, description: 'Missing, invalid or revoked credentials' })
@ApiForbiddenResponse({
  type: ErrorBody,
  description: 'Not a provider, key lacks the scope, or organisation suspended',
})
@ApiTooManyRequestsResponse({ type: ErrorBody, description: 'Rate limit exceeded; see Retry-After' })
@RequireRole('PROVIDER')
@Controller('v1/sites')
export class SitesController {
  constructor(private readonly sites: SitesService) {}

  @Post()
  @Idempotent()
  @RequireScope('orders')
  @ApiOperation({ summary: 'Register a data-centre site' })
  @ApiCreatedResponse({ type: SiteResponse })
  @ApiBadRequestResponse({
    type: ErrorBody,
    description: 'Invalid body, unknown province or city, or a city outside the province',
  })
  @ApiConflictResponse({
    type: ErrorBody,
    description: 'A site with this name exists, or the site limit is reached',
  })
  createSite(@CurrentPrincipal() principal: Principal, @Body() body: CreateSiteDto): Promise<SiteResponse> {
    return this.sites.createSite(principal, body);
  }

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'List your sites, newest first' })
  @ApiOkResponse({ type: SitePageResponse })
  @ApiBadRequestResponse({ type: ErrorBody, description: 'Bad page size or cursor' })
  listSites(@CurrentPrincipal() principal: Principal, @Query() query: PageQuery): Promise<SitePageResponse> {
    return this.sites.listSites(principal, query);
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({ summary: 'Get one of your sites' })
  @ApiOkResponse({ type: SiteResponse })
  @ApiNotFoundResponse({ type: ErrorBody, description: 'No such site among yours' })
  getSite(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<SiteResponse> {
    return this.sites.getSite(principal, id);
  }
}
