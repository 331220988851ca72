import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { Idempotent } from '@/infra/idempotency/idempotent.decorator';
import { PageQuery } from '@/infra/pagination/page';
import { CurrentPrincipal, RequireRole, RequireScope } from '@/infra/auth/auth.decorators';
import type { Principal } from '@/infra/auth/principal';
import { CreateSiteDto } from './dto/create-site.dto';
import { SitePageResponse, SiteResponse } from './dto/site.dto';
import { SitesService } from './sites.service';

@ApiTags('sites')
@ApiBearerAuth('api-key')
@ApiBearerAuth('access-token')
@ApiErrors(401, 429, { 403: 'Not a provider, key lacks the scope, or organisation suspended' })
@RequireRole('PROVIDER')
@Controller('v1/sites')
export class SitesController {
  constructor(private readonly sites: SitesService) {}

  @Post()
  @Idempotent()
  @RequireScope('orders')
  @ApiOperation({ summary: 'Register a data-centre site' })
  @ApiCreatedResponse({ type: SiteResponse })
  @ApiErrors({
    400: 'Invalid body, unknown province or city, or a city outside the province',
    409: 'A site with this name exists, or the site limit is reached',
  })
  createSite(@CurrentPrincipal() principal: Principal, @Body() body: CreateSiteDto): Promise<SiteResponse> {
    return this.sites.createSite(principal, body);
  }

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'List your sites, newest first' })
  @ApiOkResponse({ type: SitePageResponse })
  @ApiErrors({ 400: 'Bad page size or cursor' })
  listSites(@CurrentPrincipal() principal: Principal, @Query() query: PageQuery): Promise<SitePageResponse> {
    return this.sites.listSites(principal, query);
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({ summary: 'Get one of your sites' })
  @ApiOkResponse({ type: SiteResponse })
  @ApiErrors({ 404: 'No such site among yours' })
  getSite(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<SiteResponse> {
    return this.sites.getSite(principal, id);
  }
}
