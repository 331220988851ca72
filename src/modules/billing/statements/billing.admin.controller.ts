import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiStatementResponse, replyCsv, toCsv } from '@/infra/http/csv';
import { ApiErrors } from '@/infra/http/api-errors';
import { AdminApi } from '@/infra/auth/auth.decorators';
import { PlatformFeesQuery, PlatformFeesResponse, TrialBalanceResponse } from './dto/statement.dto';
import { PERIOD_GROUP_COLUMNS } from './statements.csv';
import { StatementsService } from './statements.service';

/** The platform's own money: its fees and a trial balance of the whole ledger. Reads only. */
@AdminApi()
@Controller('admin/billing')
export class BillingAdminController {
  constructor(private readonly statements: StatementsService) {}

  @Get('fees')
  @ApiOperation({
    summary: "The platform's fees per market or day, from settled periods",
    description:
      'What buyers were charged, the spread per-token periods kept (PLATFORM_SPREAD), what ' +
      'providers were paid (proceeds), the platform fee and net credited to providers, of every ' +
      "provider's periods settled in [from, to), at most 366 days; days are cut in `tz` (default " +
      'Asia/Shanghai). `?format=csv` answers the same rows as a CSV attachment.',
  })
  @ApiStatementResponse(PlatformFeesResponse)
  @ApiErrors({
    400: 'Bad groupBy, instants, range over 366 days, or INVALID_TIME_ZONE',
    422: 'More than 5,000 groups',
  })
  async fees(
    @Query() query: PlatformFeesQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PlatformFeesResponse | string> {
    const fees = await this.statements.platformFees(query);
    if (query.format !== 'csv') return fees;
    return replyCsv(reply, `fees-by-${query.groupBy}.csv`, toCsv(PERIOD_GROUP_COLUMNS, fees.groups));
  }

  @Get('trial-balance')
  @ApiOperation({
    summary: 'Every account kind summed per currency; each currency totals zero',
    description:
      'Organisation accounts (buyer available and held, provider earnings) by their cached ' +
      'balances; system accounts (PLATFORM_FEES, PLATFORM_SPREAD, EXTERNAL_FUNDING, PAYOUT_CLEARING) ' +
      'from their entries. PLATFORM_FEES is what the platform has earned in fees, PLATFORM_SPREAD what ' +
      'per-token periods charged beyond their payouts; EXTERNAL_FUNDING is negative by the ' +
      'money that came in from outside and is still in the exchange.',
  })
  @ApiOkResponse({ type: TrialBalanceResponse })
  trialBalance(): Promise<TrialBalanceResponse> {
    return this.statements.trialBalance();
  }
}
