import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { CurrentPrincipal, OwnerOnly, RequireScope } from '@/infra/auth/auth.decorators';
import type { Principal } from '@/infra/auth/principal';
import { BankAccountResponse, SetBankAccountDto } from './dto/payout.dto';
import { PayoutsService } from './payouts.service';

@ApiTags('billing')
@ApiBearerAuth('access-token')
@ApiBearerAuth('api-key')
@ApiErrors(401, { 403: 'Only owners signed in as people change it' })
@Controller('v1/bank-account')
export class BankAccountController {
  constructor(private readonly payouts: PayoutsService) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'The bank account payouts go to (number shown as its last 4 digits)' })
  @ApiOkResponse({ type: BankAccountResponse })
  @ApiErrors({ 404: 'None on file' })
  getBankAccount(@CurrentPrincipal() principal: Principal): Promise<BankAccountResponse> {
    return this.payouts.getBankAccount(principal);
  }

  @Put()
  @OwnerOnly()
  @ApiOperation({ summary: 'Set the bank account payouts go to (stored encrypted; later payouts only)' })
  @ApiOkResponse({ type: BankAccountResponse })
  @ApiErrors(400)
  setBankAccount(
    @CurrentPrincipal() principal: Principal,
    @Body() body: SetBankAccountDto,
  ): Promise<BankAccountResponse> {
    return this.payouts.setBankAccount(principal, body);
  }
}
