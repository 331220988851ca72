import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { AllowedWhileSuspended, CurrentPrincipal, RequireScope } from '@/infra/auth/auth.decorators';
import type { Principal } from '@/infra/auth/principal';
import {
  AccessDetailsResponse,
  BuyerLeaseResponse,
  HandOverAccessDto,
  LEASE_RESPONSE_SCHEMA,
  LeasePageResponse,
  ProviderLeaseResponse,
  type LeaseResponse,
  ListLeasesQuery,
  TerminateLeaseDto,
} from './dto/lease.dto';
import { ReportUsageDto, UsageReportResponse } from './dto/usage.dto';
import { LeasesService } from './leases.service';

// docs/EVENTS.md, "Who sees whom".
const VIEWS =
  'The lease in your view (`view`): a buyer sees the provider by name and the site by province and city, ' +
  'never offer, site or provider ids nor the fee; a provider sees its own offer, site and fee and the buyer ' +
  'by name.';

@ApiTags('leases')
@ApiBearerAuth('api-key')
@ApiBearerAuth('access-token')
@ApiErrors(401, 429, { 403: 'Key lacks the scope, or the wrong side of the lease' })
@ApiExtraModels(BuyerLeaseResponse, ProviderLeaseResponse)
@Controller('v1/leases')
export class LeasesController {
  constructor(private readonly leases: LeasesService) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'Leases you buy (buyers) or provide (providers), newest first' })
  @ApiOkResponse({ type: LeasePageResponse, description: VIEWS })
  @ApiErrors({ 400: 'Unknown market, bad filter, page size or cursor' })
  listLeases(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListLeasesQuery,
  ): Promise<LeasePageResponse> {
    return this.leases.listLeases(principal, query);
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({ summary: 'One of your leases' })
  @ApiOkResponse({ schema: LEASE_RESPONSE_SCHEMA, description: VIEWS })
  @ApiErrors(404)
  getLease(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<LeaseResponse> {
    return this.leases.getLease(principal, id);
  }

  @Post(':id/access')
  @HttpCode(200)
  @RequireScope('orders')
  @AllowedWhileSuspended()
  @ApiOperation({
    summary: 'Hand over access (provider): the lease becomes ACTIVE and billing starts',
    description:
      'Endpoint and credentials are stored encrypted and readable by the buyer only. Allowed once, while ' +
      'the lease is SCHEDULED, from its `startsAt` (a lease on idle windows waits for its window) and before ' +
      'its provisioning deadline; writes `lease.started`. A suspended ' +
      'provider may still do this: the lease is binding.',
  })
  @ApiOkResponse({ schema: LEASE_RESPONSE_SCHEMA, description: VIEWS })
  @ApiErrors(400, 404, {
    409: 'Handed over already, deadline passed, lease closed, or its idle window not open yet (`details.startsAt`)',
  })
  handOverAccess(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() body: HandOverAccessDto,
  ): Promise<LeaseResponse> {
    return this.leases.handOverAccess(principal, id, body);
  }

  @Get(':id/access')
  @RequireScope('read')
  @ApiOperation({ summary: 'Read access details (buyer)' })
  @ApiOkResponse({ type: AccessDetailsResponse })
  @ApiErrors(404, { 409: 'Not handed over yet' })
  readAccess(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
  ): Promise<AccessDetailsResponse> {
    return this.leases.readAccess(principal, id);
  }

  @Post(':id/usage')
  @HttpCode(200)
  @RequireScope('usage')
  @ApiOperation({
    summary: 'Report usage of one billing period (provider, pay-per-use leases)',
    description:
      'Keyed by (lease, periodStart): the same numbers again answer the stored report. Refused: a period ' +
      "that is not one of the lease's or has not ended (400), more than GPUs x the period's length (400), " +
      'different numbers for a reported period, a reserved lease, or a period already settled (409). ' +
      'Writes `usage.reported`.',
  })
  @ApiOkResponse({ type: UsageReportResponse })
  @ApiErrors(400, 404, 409)
  reportUsage(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() body: ReportUsageDto,
  ): Promise<UsageReportResponse> {
    return this.leases.reportUsage(principal, id, body);
  }

  @Post(':id/terminate')
  @HttpCode(200)
  @RequireScope('orders')
  @ApiOperation({
    summary: 'End a lease early (either side; rule in docs/LEASES.md)',
    description:
      'Before access: TERMINATED with a full refund. Active, buyer: ends at the end of the current billing ' +
      'period. Active, provider: `{"mode":"NOTICE"}` (default) moves the end to now + the offer’s ' +
      '`terminationNoticeHours` (writes `lease.termination_scheduled`; at that end the lease is TERMINATED ' +
      'with reason PROVIDER_NOTICE); `{"mode":"IMMEDIATE"}` terminates it now (PROVIDER_REQUEST) and credits ' +
      'the buyer a penalty, min(notice, time left) x GPUs at the trade price, from the provider’s earnings or, ' +
      'beyond them, as a receivable netted from later proceeds. `{"mode":"RECLAIM"}`, reclaimable leases only ' +
      '(an interruptible bid on idle windows, docs/LEASES.md "Idle windows"): ends it at now + the offer’s ' +
      '`reclaimNoticeMinutes` with no penalty (writes `lease.reclaimed`; at that end TERMINATED with reason ' +
      'RECLAIMED), or before its window opens, at least the notice ahead, at once with a full refund. ' +
      'Idempotent by state; an active lease past its end (not yet closed, it ends as ENDED) is answered as it is.',
  })
  @ApiOkResponse({ schema: LEASE_RESPONSE_SCHEMA, description: VIEWS })
  @ApiErrors(404, {
    400: 'Unknown mode, or a mode sent by a buyer',
    409: 'RECLAIM of a lease that is not reclaimable, or whose window opens within the reclaim notice',
  })
  terminateLease(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() body: TerminateLeaseDto,
  ): Promise<LeaseResponse> {
    return this.leases.terminateLease(principal, id, body ?? {});
  }
}
