import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { CurrentAdmin, AdminApi } from '@/infra/auth/auth.decorators';
import type { AdminPrincipal } from '@/infra/auth/principal';
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
  @ApiErrors(400)
  list(@Query() query: AdminListSettlementLeasesQuery): Promise<SettlementLeasePageResponse> {
    return this.admin.listLeases(query);
  }

  @Get(':id')
  @ApiOperation({ summary: "One started lease's settlement" })
  @ApiOkResponse({ type: SettlementLeaseResponse })
  @ApiErrors(404)
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
  @ApiErrors(404, { 409: 'Settlement is COMPLETE or VOIDED' })
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
  @ApiErrors(404, {
    400: 'GPU-seconds above what the period reserved',
    409: 'Not NEEDS_ATTENTION, period settled already, not the next one, or not over yet',
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
  @ApiErrors(400, 404, { 409: 'Settlement is not NEEDS_ATTENTION' })
  void(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: SettlementReasonDto,
  ): Promise<SettlementLeaseResponse> {
    return this.admin.void(admin.userId, id, body);
  }
}
