import { Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorBody } from '../../infra/http/error-body';
import { AdminOnly, CurrentAdmin } from './auth/auth.decorators';
import type { AdminPrincipal } from './auth/principal';
import { AdminOrganisationQuery, OrganisationPageResponse } from './dto/admin-organisations.dto';
import { OrganisationResponse } from './dto/organisation.dto';
import { OrganisationsAdminService } from './organisations.admin.service';

@ApiTags('admin')
@ApiBearerAuth('access-token')
@AdminOnly()
@ApiUnauthorizedResponse({ type: ErrorBody })
@ApiForbiddenResponse({ type: ErrorBody, description: 'Not a platform admin' })
@Controller('admin/organisations')
export class OrganisationsAdminController {
  constructor(private readonly admin: OrganisationsAdminService) {}

  @Get()
  @ApiOperation({ summary: 'Search organisations' })
  @ApiOkResponse({ type: OrganisationPageResponse })
  search(@Query() query: AdminOrganisationQuery): Promise<OrganisationPageResponse> {
    return this.admin.searchOrganisations(query);
  }

  @Post(':id/verify')
  @HttpCode(200)
  @ApiOperation({ summary: 'Verify an organisation (audited)' })
  @ApiOkResponse({ type: OrganisationResponse })
  @ApiNotFoundResponse({ type: ErrorBody })
  @ApiConflictResponse({
    type: ErrorBody,
    description: 'Suspended organisations are reinstated, not verified',
  })
  verify(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<OrganisationResponse> {
    return this.admin.verifyOrganisation(admin.userId, id);
  }
}
