import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { ErrorBody } from '../../infra/http/error-body';
import { CurrentAdmin, AdminApi } from '../../infra/auth/auth.decorators';
import type { AdminPrincipal } from '../../infra/auth/principal';
import {
  AdminListSettlementLeasesQuery,
  SettleByHandDto,
  SettlementLeasePageResponse,
  SettlementLeaseResponse,
  SettlementReasonDto,
} from './dto/settlement-admin.dto';
import { SettlementAdminService } from './settlement.admin.service';

@AdminApi()
@Controller('admin/settlement/leases')
export class SettlementAdminController {
  constructor(private readonly admin: SettlementAdminService) {}

  @Get()
  @ApiOperation({
    summary: 'Started leases by settlement state (default NEEDS_ATTENTION), newest first, with the error',
  })
  @ApiOkResponse({ type: SettlementLeasePageResponse })
  @ApiBadRequestResponse({ type: ErrorBody })
  list(@Query() query: AdminListSettlementLeasesQuery): Promise<SettlementLeasePageResponse> {
    return this.admin.listLeases(query);
  }

  @Get(':id')
  @ApiOperation({ summary: "One started lease's settlement" })
  @ApiOkResponse({ type: SettlementLeaseResponse })
  @ApiNotFoundResponse({ type: ErrorBody })
  get(@Param('id', ParseUUIDPipe) id: string): Promise<SettlementLeaseResponse> {
    return this.admin.getLease(id);
  }

  @Post(':id/retry')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Settle it automatically again: back to OPEN, settle job re-queued (audited)',
    description: 'Idempotent by state: retrying an OPEN lease queues its job again and changes nothing.',
  })
  @ApiOkResponse({ type: SettlementLeaseResponse })
  @ApiNotFoundResponse({ type: ErrorBody })
  @ApiConflictResponse({ type: ErrorBody, description: 'Settlement is COMPLETE or VOIDED' })
  retry(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<SettlementLeaseResponse> {
    return this.admin.retry(admin.userId, id);
  }

  @Post(':id/settle')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Settle the next period by hand with stated GPU-seconds (audited)',
    description:
      'Priced as any period: cost = floor(price x GPU-seconds / 3600), fee = floor(cost x bps / 10,000); ' +
      'the same unique keys as the worker, so a period is never settled twice. Repeating the same ' +
      'request answers the lease unchanged.',
  })
  @ApiOkResponse({ type: SettlementLeaseResponse })
  @ApiBadRequestResponse({ type: ErrorBody, description: 'GPU-seconds above what the period reserved' })
  @ApiNotFoundResponse({ type: ErrorBody })
  @ApiConflictResponse({
    type: ErrorBody,
    description: 'Not NEEDS_ATTENTION, period settled already, not the next one, or not over yet',
  })
  settle(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: SettleByHandDto,
  ): Promise<SettlementLeaseResponse> {
    return this.admin.settleByHand(admin.userId, id, body);
  }

  @Post(':id/void')
  @HttpCode(200)
  @ApiOperation({
    summary: "Void the lease's settlement: the rest of its hold back to the buyer (audited)",
    description:
      'No further period is charged; one CORRECTION transfer returns what the lease still holds. ' +
      'Idempotent by state: voiding a VOIDED lease answers it unchanged.',
  })
  @ApiOkResponse({ type: SettlementLeaseResponse })
  @ApiBadRequestResponse({ type: ErrorBody })
  @ApiNotFoundResponse({ type: ErrorBody })
  @ApiConflictResponse({ type: ErrorBody, description: 'Settlement is not NEEDS_ATTENTION' })
  void(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: SettlementReasonDto,
  ): Promise<SettlementLeaseResponse> {
    return this.admin.void(admin.userId, id, body);
  }
}
