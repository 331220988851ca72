import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { CurrentAdmin, AdminApi } from '@/infra/auth/auth.decorators';
import type { AdminPrincipal } from '@/infra/auth/principal';
import {
  AdminListTopUpsQuery,
  ConfirmTopUpDto,
  RejectTopUpDto,
  TopUpPageResponse,
  TopUpResponse,
} from './dto/top-up.dto';
import { TopUpsAdminService } from './top-ups.admin.service';

@AdminApi()
@Controller('admin/top-ups')
export class TopUpsAdminController {
  constructor(private readonly admin: TopUpsAdminService) {}

  @Get()
  @ApiOperation({ summary: 'Top-ups by status and organisation, newest first' })
  @ApiOkResponse({ type: TopUpPageResponse })
  @ApiErrors(400)
  list(@Query() query: AdminListTopUpsQuery): Promise<TopUpPageResponse> {
    return this.admin.listTopUps(query);
  }

  @Post(':id/confirm')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Confirm that the transfer arrived (audited; credits the buyer once)',
    description:
      'Idempotent by state: confirming a confirmed top-up returns it unchanged and credits nothing.',
  })
  @ApiOkResponse({ type: TopUpResponse })
  @ApiErrors(404, { 409: 'The top-up was rejected' })
  confirm(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: ConfirmTopUpDto,
  ): Promise<TopUpResponse> {
    return this.admin.confirmTopUp(admin.userId, id, body);
  }

  @Post(':id/reject')
  @HttpCode(200)
  @ApiOperation({ summary: 'Reject a top-up whose money never arrived (audited)' })
  @ApiOkResponse({ type: TopUpResponse })
  @ApiErrors(404, { 409: 'The top-up was confirmed' })
  reject(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: RejectTopUpDto,
  ): Promise<TopUpResponse> {
    return this.admin.rejectTopUp(admin.userId, id, body);
  }
}
