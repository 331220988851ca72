import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { Idempotent } from '@/infra/idempotency/idempotent.decorator';
import { CurrentPrincipal, OwnerOnly, RequireScope } from '@/infra/auth/auth.decorators';
import type { Principal } from '@/infra/auth/principal';
import { ListPayoutsQuery, PayoutPageResponse, PayoutResponse, RequestPayoutDto } from './dto/payout.dto';
import { PayoutsService } from './payouts.service';

@ApiTags('billing')
@ApiBearerAuth('access-token')
@ApiBearerAuth('api-key')
@ApiErrors(401, 429, { 403: 'Money moves only for owners signed in as people' })
@Controller('v1/payouts')
export class PayoutsController {
  constructor(private readonly payouts: PayoutsService) {}

  @Post()
  @Idempotent()
  @OwnerOnly()
  @ApiOperation({
    summary: 'Ask to be paid out by bank transfer',
    description:
      'Providers are paid from earnings, buyers withdraw unused credit. The amount leaves the account at ' +
      'once (PENDING) and is sent to the bank account on file; an admin confirms the transfer (`payout.paid`) ' +
      'or rejects it, which returns the amount.',
  })
  @ApiCreatedResponse({ type: PayoutResponse })
  @ApiErrors(400, {
    402: 'The account does not hold the amount',
    409: 'No bank account on file, or too many pending payouts',
  })
  requestPayout(
    @CurrentPrincipal() principal: Principal,
    @Body() body: RequestPayoutDto,
  ): Promise<PayoutResponse> {
    return this.payouts.requestPayout(principal, body);
  }

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'Your payouts, newest first' })
  @ApiOkResponse({ type: PayoutPageResponse })
  listPayouts(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListPayoutsQuery,
  ): Promise<PayoutPageResponse> {
    return this.payouts.listPayouts(principal, query);
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({ summary: 'One of your payouts' })
  @ApiOkResponse({ type: PayoutResponse })
  @ApiErrors(404)
  getPayout(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<PayoutResponse> {
    return this.payouts.getPayout(principal, id);
  }
}
