import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AllowedWhileSuspended, CurrentPrincipal, RequireScope } from '@/infra/auth/auth.decorators';
import type { Principal } from '@/infra/auth/principal';
import { ApiErrors } from '@/infra/http/api-errors';
import { Idempotent } from '@/infra/idempotency/idempotent.decorator';
import {
  ExtendLeaseDto,
  LeaseExtensionListResponse,
  LeaseReportListResponse,
  LeaseReportResponse,
  ReportProviderFailureDto,
} from './dto/continuity.dto';
import { LEASE_RESPONSE_SCHEMA, type LeaseResponse } from './dto/lease.dto';
import { LeaseContinuityService } from './lease-continuity.service';

@ApiTags('leases')
@ApiBearerAuth('api-key')
@ApiBearerAuth('access-token')
@ApiErrors(401, 429, { 403: 'Key lacks the scope, or the wrong side of the lease' })
@Controller('v1/leases')
export class LeaseContinuityController {
  constructor(private readonly continuity: LeaseContinuityService) {}

  @Post(':id/extend')
  @HttpCode(200)
  @Idempotent()
  @RequireScope('orders')
  @ApiOperation({
    summary: 'Extend an ACTIVE lease (buyer), at its trade price',
    description:
      'Adds `hours` (1-720) to the lease’s end at the lease’s own trade price; the added cost (price x GPUs x ' +
      'hours) is held from available credit exactly as a bid’s hold is (402 INSUFFICIENT_FUNDS or ' +
      'SPEND_CAP_EXCEEDED). 409 (`details.reason`) when the lease is not ACTIVE or has reached its end ' +
      '(LEASE_NOT_ACTIVE), is under the provider’s notice or your own early end (TERMINATION_SCHEDULED), its ' +
      'settlement awaits an admin (SETTLEMENT_HELD), its offer is cancelled, expired or its provider suspended ' +
      '(OFFER_CLOSED), the market is paused (MARKET_PAUSED), the offer is not available until the new end ' +
      '(OUTSIDE_AVAILABILITY, `details.availableUntil`), the hours added leave the idle window the lease ends in ' +
      '(OUTSIDE_IDLE_WINDOW, `details.windowEndsAt`) or now asks more than the lease’s price ' +
      '(ASK_ABOVE_LEASE_PRICE, `details.ask`). Writes `lease.extended`; rules in docs/LEASES.md.',
  })
  @ApiOkResponse({ schema: LEASE_RESPONSE_SCHEMA })
  @ApiErrors(400, 404, {
    402: 'Available credit or the spend cap does not cover the extension',
    409: 'The lease or its offer cannot be extended now (details.reason)',
  })
  extendLease(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() body: ExtendLeaseDto,
  ): Promise<LeaseResponse> {
    return this.continuity.extendLease(principal, id, body);
  }

  @Get(':id/extensions')
  @RequireScope('read')
  @ApiOperation({ summary: 'A lease’s extensions, oldest first (either side; `amount` for the buyer only)' })
  @ApiOkResponse({ type: LeaseExtensionListResponse })
  @ApiErrors(404)
  listExtensions(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
  ): Promise<LeaseExtensionListResponse> {
    return this.continuity.listExtensions(principal, id);
  }

  @Post(':id/failure-reports')
  @HttpCode(200)
  @Idempotent()
  @RequireScope('orders')
  @AllowedWhileSuspended()
  @ApiOperation({
    summary: 'Report that the provider failed (buyer), during provisioning or after the start',
    description:
      'Stored with the exchange’s timestamp (`reportedAt`) as evidence for the SLO and dispute flows; phase ' +
      'PROVISIONING while the lease is SCHEDULED, RUNNING once ACTIVE. One per lease: a second answers the ' +
      'first. It moves no money and counts in the provider’s reliability only once an admin confirms it ' +
      '(docs/RELIABILITY.md). On an ACTIVE lease with an SLO it is also the buyer’s SLO evidence (method ' +
      'PROVIDER_FAILED) for the period it was observed in (docs/SLO.md). Writes `lease.failure_reported`. 409 ' +
      'when the lease has ended.',
  })
  @ApiOkResponse({ type: LeaseReportResponse })
  @ApiErrors(400, 404, { 409: 'The lease has ended' })
  reportProviderFailure(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() body: ReportProviderFailureDto,
  ): Promise<LeaseReportResponse> {
    return this.continuity.reportProviderFailure(principal, id, body ?? {});
  }

  @Get(':id/failure-reports')
  @RequireScope('read')
  @ApiOperation({ summary: 'Failure reports on one of your leases (either side)' })
  @ApiOkResponse({ type: LeaseReportListResponse })
  @ApiErrors(404)
  listReports(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
  ): Promise<LeaseReportListResponse> {
    return this.continuity.listReports(principal, id);
  }
}
