import { Controller, Get, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorBody } from '../../infra/http/error-body';
import { CurrentPrincipal, RequireScope } from '../organisations/auth/auth.decorators';
import type { Principal } from '../organisations/auth/principal';
import { BillingService } from './billing.service';
import { BalanceResponse, LedgerEntryPageResponse, ListEntriesQuery } from './dto/balance.dto';

@ApiTags('billing')
@ApiBearerAuth('api-key')
@ApiBearerAuth('access-token')
@ApiUnauthorizedResponse({ type: ErrorBody, description: 'Missing, invalid or revoked credentials' })
@ApiForbiddenResponse({ type: ErrorBody, description: 'Key lacks the scope' })
@ApiTooManyRequestsResponse({ type: ErrorBody, description: 'Rate limit exceeded; see Retry-After' })
@Controller('v1/billing')
export class BillingController {
  constructor(private readonly billing: BillingService) {}

  @Get('balance')
  @RequireScope('read')
  @ApiOperation({
    summary: 'Your balances per currency',
    description: 'Buyers: available and held credit. Providers: earnings after fees not yet paid out.',
  })
  @ApiOkResponse({ type: BalanceResponse })
  getBalance(@CurrentPrincipal() principal: Principal): Promise<BalanceResponse> {
    return this.billing.getBalance(principal);
  }

  @Get('entries')
  @RequireScope('read')
  @ApiOperation({ summary: 'Ledger entries on your accounts, newest first' })
  @ApiOkResponse({ type: LedgerEntryPageResponse })
  @ApiBadRequestResponse({ type: ErrorBody, description: 'Bad currency, page size or cursor' })
  listEntries(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListEntriesQuery,
  ): Promise<LedgerEntryPageResponse> {
    return this.billing.listEntries(principal, query);
  }
}
