import { Body, Controller, Get, Put } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBadRequestResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorBody } from '../../infra/http/error-body';
import { CurrentPrincipal, OwnerOnly, RequireScope } from '../../infra/auth/auth.decorators';
import type { Principal } from '../../infra/auth/principal';
import { BankAccountResponse, SetBankAccountDto } from './dto/payout.dto';
import { PayoutsService } from './payouts.service';

@ApiTags('billing')
@ApiBearerAuth('access-token')
@ApiBearerAuth('api-key')
@ApiUnauthorizedResponse({ type: ErrorBody })
@ApiForbiddenResponse({ type: ErrorBody, description: 'Only owners signed in as people change it' })
@Controller('v1/bank-account')
export class BankAccountController {
  constructor(private readonly payouts: PayoutsService) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'The bank account payouts go to (number shown as its last 4 digits)' })
  @ApiOkResponse({ type: BankAccountResponse })
  @ApiNotFoundResponse({ type: ErrorBody, description: 'None on file' })
  getBankAccount(@CurrentPrincipal() principal: Principal): Promise<BankAccountResponse> {
    return this.payouts.getBankAccount(principal);
  }

  @Put()
  @OwnerOnly()
  @ApiOperation({ summary: 'Set the bank account payouts go to (stored encrypted; later payouts only)' })
  @ApiOkResponse({ type: BankAccountResponse })
  @ApiBadRequestResponse({ type: ErrorBody })
  setBankAccount(
    @CurrentPrincipal() principal: Principal,
    @Body() body: SetBankAccountDto,
  ): Promise<BankAccountResponse> {
    return this.payouts.setBankAccount(principal, body);
  }
}
