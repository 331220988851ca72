import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { Idempotent } from '@/infra/idempotency/idempotent.decorator';
import { CurrentPrincipal, RequireRole, RequireScope } from '@/infra/auth/auth.decorators';
import type { Principal } from '@/infra/auth/principal';
import { ListTopUpsQuery, RequestTopUpDto, TopUpPageResponse, TopUpResponse } from './dto/top-up.dto';
import { TopUpsService } from './top-ups.service';

@ApiTags('billing')
@ApiBearerAuth('api-key')
@ApiBearerAuth('access-token')
@ApiErrors(401, 429, { 403: 'Not a buyer, key lacks the scope, or suspended' })
@RequireRole('BUYER')
@Controller('v1/top-ups')
export class TopUpsController {
  constructor(private readonly topUps: TopUpsService) {}

  @Post()
  @Idempotent()
  @RequireScope('orders')
  @ApiOperation({
    summary: 'Ask to add credit by bank transfer',
    description:
      'Returns PENDING with payment instructions and a reference to write on the transfer. The credit ' +
      'becomes available when an admin confirms the money arrived (`topup.confirmed`).',
  })
  @ApiCreatedResponse({ type: TopUpResponse })
  @ApiErrors({
    400: 'Amount not a decimal string, zero, above the cap, or an untraded currency',
    409: 'Too many top-ups awaiting confirmation',
  })
  requestTopUp(
    @CurrentPrincipal() principal: Principal,
    @Body() body: RequestTopUpDto,
  ): Promise<TopUpResponse> {
    return this.topUps.requestTopUp(principal, body);
  }

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'List your top-ups, newest first' })
  @ApiOkResponse({ type: TopUpPageResponse })
  @ApiErrors({ 400: 'Bad filter, page size or cursor' })
  listTopUps(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListTopUpsQuery,
  ): Promise<TopUpPageResponse> {
    return this.topUps.listTopUps(principal, query);
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({ summary: 'One of your top-ups' })
  @ApiOkResponse({ type: TopUpResponse })
  @ApiErrors(404)
  getTopUp(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<TopUpResponse> {
    return this.topUps.getTopUp(principal, id);
  }
}
