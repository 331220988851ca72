import { Body, Controller, Get, Put, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiStatementResponse, replyCsv, toCsv } from '@/infra/http/csv';
import { ApiErrors } from '@/infra/http/api-errors';
import { CurrentPrincipal, OwnerOnly, RequireRole, RequireScope } from '@/infra/auth/auth.decorators';
import type { Principal } from '@/infra/auth/principal';
import { BillingService } from './billing.service';
import { BalanceResponse, LedgerEntryPageResponse, ListEntriesQuery } from './dto/balance.dto';
import {
  BillingProfileResponse,
  EarningsQuery,
  EarningsResponse,
  SetBillingProfileDto,
  StatementFormatQuery,
} from './dto/statement.dto';
import { BALANCE_COLUMNS, EARNINGS_COLUMNS, ENTRY_COLUMNS, earningsCsvRows } from './statements.csv';
import { StatementsService } from './statements.service';

const CSV_NOTE = ' `?format=csv` answers the same rows as a CSV attachment.';

@ApiTags('billing')
@ApiBearerAuth('api-key')
@ApiBearerAuth('access-token')
@ApiErrors(401, 429, { 403: 'Key lacks the scope' })
@Controller('v1/billing')
export class BillingController {
  constructor(
    private readonly billing: BillingService,
    private readonly statements: StatementsService,
  ) {}

  @Get('balance')
  @RequireScope('read')
  @ApiOperation({
    summary: 'Your balances per currency',
    description:
      'Buyers: available and held credit. Providers: earnings after fees not yet paid out, and penalties owed.' +
      CSV_NOTE,
  })
  @ApiStatementResponse(BalanceResponse)
  async getBalance(
    @CurrentPrincipal() principal: Principal,
    @Query() query: StatementFormatQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<BalanceResponse | string> {
    const balance = await this.billing.getBalance(principal);
    if (query.format !== 'csv') return balance;
    return replyCsv(reply, 'balance.csv', toCsv(BALANCE_COLUMNS, balance.balances));
  }

  @Get('entries')
  @RequireScope('read')
  @ApiOperation({
    summary: 'Ledger entries on your accounts, newest first',
    description: `One page per request.${CSV_NOTE} The CSV's next page cursor is in \`X-Next-Cursor\`.`,
  })
  @ApiStatementResponse(LedgerEntryPageResponse, { paginated: true })
  @ApiErrors({ 400: 'Bad currency, page size, cursor or format' })
  async listEntries(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListEntriesQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<LedgerEntryPageResponse | string> {
    const page = await this.billing.listEntries(principal, query);
    if (query.format !== 'csv') return page;
    return replyCsv(reply, 'entries.csv', toCsv(ENTRY_COLUMNS, page.data), page.nextCursor);
  }

  @Get('earnings')
  @RequireRole('PROVIDER')
  @RequireScope('read')
  @ApiOperation({
    summary: 'Your earnings per lease, site, day or period, from settled periods',
    description:
      'What buyers were charged, your proceeds (what they paid; on per-token periods the payout: ' +
      'GPU-seconds used, at least your pay-per-use floor, at your ask, capped by the charge), platform ' +
      'fee and net (credited to your earnings) of the periods settled in [from, to), with tokens, ' +
      'price per million, GPU-seconds and ask; `groupBy=period` gives one line per period. At most ' +
      '366 days; days are cut in `tz` (default Asia/Shanghai). ' +
      'At most 5,000 groups (422 beyond: narrow the range).' +
      CSV_NOTE,
  })
  @ApiStatementResponse(EarningsResponse)
  @ApiErrors({
    400: 'Bad groupBy, instants, range over 366 days, or INVALID_TIME_ZONE',
    422: 'More than 5,000 groups',
  })
  async earnings(
    @CurrentPrincipal() principal: Principal,
    @Query() query: EarningsQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<EarningsResponse | string> {
    const earnings = await this.statements.earnings(principal, query);
    if (query.format !== 'csv') return earnings;
    return replyCsv(
      reply,
      `earnings-by-${query.groupBy}.csv`,
      toCsv(EARNINGS_COLUMNS, earningsCsvRows(earnings)),
    );
  }

  @Get('profile')
  @RequireScope('read')
  @ApiOperation({ summary: 'Your billing profile: the legal name, tax id and address invoices carry' })
  @ApiOkResponse({ type: BillingProfileResponse })
  @ApiErrors({ 404: 'None on file' })
  getProfile(@CurrentPrincipal() principal: Principal): Promise<BillingProfileResponse> {
    return this.statements.getProfile(principal);
  }

  @Put('profile')
  @OwnerOnly()
  @ApiOperation({
    summary: 'Set your billing profile (owners signed in)',
    description: 'Copied onto invoices issued from now on; issued invoices never change.',
  })
  @ApiOkResponse({ type: BillingProfileResponse })
  @ApiErrors(400)
  setProfile(
    @CurrentPrincipal() principal: Principal,
    @Body() body: SetBillingProfileDto,
  ): Promise<BillingProfileResponse> {
    return this.statements.setProfile(principal, body);
  }
}
