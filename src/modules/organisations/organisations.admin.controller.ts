import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { AdminApi, CurrentAdmin } from '@/infra/auth/auth.decorators';
import type { AdminPrincipal } from '@/infra/auth/principal';
import {
  AdminOrganisationQuery,
  OrganisationPageResponse,
  OrganisationSuspensionResponse,
  ReinstateOrganisationDto,
  SuspendOrganisationDto,
} from './dto/admin-organisations.dto';
import { OrganisationResponse } from './dto/organisation.dto';
import { OrganisationsAdminService } from './organisations.admin.service';

@AdminApi()
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
  @ApiErrors(404, { 409: 'Suspended organisations are reinstated, not verified' })
  verify(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<OrganisationResponse> {
    return this.admin.verifyOrganisation(admin.userId, id);
  }

  @Post(':id/suspend')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Suspend an organisation: read-only, open orders cancelled (audited)',
    description:
      'In one transaction: status SUSPENDED, every live bid cancelled with its unfilled hold released, ' +
      'every live offer cancelled (unleased capacity withdrawn), `bid.cancelled` / `offer.cancelled` ' +
      '(with `reason: "ORGANISATION_SUSPENDED"`) and `organisation.suspended` written, and an audit entry. ' +
      'Leases run on and settle; a SCHEDULED lease may still be handed over by its provider. From then ' +
      'on every write of the organisation is 403 with `details.reason: "ORGANISATION_SUSPENDED"`; reads ' +
      'and sign-in still work. Suspending a suspended organisation answers it unchanged and records nothing.',
  })
  @ApiOkResponse({ type: OrganisationSuspensionResponse })
  @ApiErrors(404, { 400: 'Missing or blank reason' })
  suspend(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: SuspendOrganisationDto,
  ): Promise<OrganisationSuspensionResponse> {
    return this.admin.suspendOrganisation(admin.userId, id, body);
  }

  @Post(':id/reinstate')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Reinstate a suspended organisation (audited)',
    description:
      'Back to the status before the suspension: VERIFIED if it had been verified, else ' +
      'PENDING_VERIFICATION. Writes `organisation.reinstated`, which runs matching for the markets where ' +
      'it has live orders (none after a suspension: its orders were cancelled, new ones trigger matching ' +
      'as usual). Reinstating an organisation that is not suspended answers it unchanged and records nothing.',
  })
  @ApiOkResponse({ type: OrganisationResponse })
  @ApiErrors(400, 404)
  reinstate(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: ReinstateOrganisationDto,
  ): Promise<OrganisationResponse> {
    return this.admin.reinstateOrganisation(admin.userId, id, body);
  }
}
