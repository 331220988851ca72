import { Body, Controller, Get, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { CurrentPrincipal, OwnerOnly, RequireRole, RequireScope } from '@/infra/auth/auth.decorators';
import type { Principal } from '@/infra/auth/principal';
import { BillingLimitsService } from './billing-limits.service';
import {
  CurrencyQuery,
  LowBalanceThresholdResponse,
  SetLimitDto,
  SpendCapResponse,
} from './dto/billing-limits.dto';

@ApiTags('billing')
@ApiBearerAuth('api-key')
@ApiBearerAuth('access-token')
@ApiErrors(401, 429, {
  403: 'Not a buyer, key lacks the scope, or (PUT) not an owner signed in as a person',
  400: 'Bad amount or an untraded currency',
})
@RequireRole('BUYER')
@Controller('v1/billing')
export class BillingLimitsController {
  constructor(private readonly limits: BillingLimitsService) {}

  @Get('spend-cap')
  @RequireScope('read')
  @ApiOperation({
    summary: "Your monthly spend cap and this month's committed spend",
    description:
      'Committed = charges settled this calendar month (Asia/Shanghai) + everything held now. A bid ' +
      'whose hold would take it past the cap is refused (402 SPEND_CAP_EXCEEDED); settlement never is.',
  })
  @ApiOkResponse({ type: SpendCapResponse })
  getSpendCap(
    @CurrentPrincipal() principal: Principal,
    @Query() query: CurrencyQuery,
  ): Promise<SpendCapResponse> {
    return this.limits.getSpendCap(principal, query);
  }

  @Put('spend-cap')
  @OwnerOnly()
  @ApiOperation({ summary: 'Set the monthly spend cap (null removes it); later bids only' })
  @ApiOkResponse({ type: SpendCapResponse })
  setSpendCap(
    @CurrentPrincipal() principal: Principal,
    @Body() body: SetLimitDto,
  ): Promise<SpendCapResponse> {
    return this.limits.setSpendCap(principal, body);
  }

  @Get('low-balance-threshold')
  @RequireScope('read')
  @ApiOperation({ summary: 'The available credit below which balance.low is written' })
  @ApiOkResponse({ type: LowBalanceThresholdResponse })
  getLowBalanceThreshold(
    @CurrentPrincipal() principal: Principal,
    @Query() query: CurrencyQuery,
  ): Promise<LowBalanceThresholdResponse> {
    return this.limits.getLowBalanceThreshold(principal, query);
  }

  @Put('low-balance-threshold')
  @OwnerOnly()
  @ApiOperation({
    summary: 'Set the low-balance threshold (null removes it)',
    description:
      'One balance.low event each time available credit falls from at or above the threshold to below ' +
      'it, in the transaction that lowered it; re-armed when credit rises to the threshold again.',
  })
  @ApiOkResponse({ type: LowBalanceThresholdResponse })
  setLowBalanceThreshold(
    @CurrentPrincipal() principal: Principal,
    @Body() body: SetLimitDto,
  ): Promise<LowBalanceThresholdResponse> {
    return this.limits.setLowBalanceThreshold(principal, body);
  }
}
