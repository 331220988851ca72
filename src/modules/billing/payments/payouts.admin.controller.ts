import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { CurrentAdmin, AdminApi } from '@/infra/auth/auth.decorators';
import type { AdminPrincipal } from '@/infra/auth/principal';
import {
  AdminListPayoutsQuery,
  AdminPayoutPageResponse,
  AdminPayoutResponse,
  ConfirmPayoutDto,
  RejectPayoutDto,
} from './dto/payout.dto';
import { PayoutsAdminService } from './payouts.admin.service';

@AdminApi()
@Controller('admin/payouts')
export class PayoutsAdminController {
  constructor(private readonly admin: PayoutsAdminService) {}

  @Get()
  @ApiOperation({ summary: 'Payouts by status and organisation, with the account to pay' })
  @ApiOkResponse({ type: AdminPayoutPageResponse })
  @ApiErrors(400)
  list(@Query() query: AdminListPayoutsQuery): Promise<AdminPayoutPageResponse> {
    return this.admin.listPayouts(query);
  }

  @Post(':id/confirm')
  @HttpCode(200)
  @ApiOperation({ summary: 'Confirm the bank transfer was sent (audited; once)' })
  @ApiOkResponse({ type: AdminPayoutResponse })
  @ApiErrors(404, { 409: 'The payout was rejected' })
  confirm(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: ConfirmPayoutDto,
  ): Promise<AdminPayoutResponse> {
    return this.admin.confirmPayout(admin.userId, id, body);
  }

  @Post(':id/reject')
  @HttpCode(200)
  @ApiOperation({ summary: 'Reject a payout; its amount returns to the account (audited)' })
  @ApiOkResponse({ type: AdminPayoutResponse })
  @ApiErrors(404, { 409: 'The payout was paid' })
  reject(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: RejectPayoutDto,
  ): Promise<AdminPayoutResponse> {
    return this.admin.rejectPayout(admin.userId, id, body);
  }
}
