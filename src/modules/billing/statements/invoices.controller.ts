import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiStatementResponse, replyCsv, toCsv } from '@/infra/http/csv';
import { ApiErrors } from '@/infra/http/api-errors';
import { CurrentPrincipal, RequireRole, RequireScope } from '@/infra/auth/auth.decorators';
import type { Principal } from '@/infra/auth/principal';
import {
  InvoicePageResponse,
  InvoiceResponse,
  ListInvoicesQuery,
  StatementFormatQuery,
} from './dto/statement.dto';
import { InvoicesService } from './invoices.service';
import { INVOICE_COLUMNS, INVOICE_LINE_COLUMNS } from './statements.csv';

@ApiTags('billing')
@ApiBearerAuth('api-key')
@ApiBearerAuth('access-token')
@ApiErrors(401, 429, { 403: 'Not a buyer, or the key lacks the scope' })
@RequireRole('BUYER')
@Controller('v1/invoices')
export class InvoicesController {
  constructor(private readonly invoices: InvoicesService) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({
    summary: 'Your invoices, newest first',
    description:
      'One per lease, issued when its settlement completes. `from`/`to` filter on the issue instant. ' +
      '`?format=csv` answers the page as a CSV attachment, the next cursor in `X-Next-Cursor`.',
  })
  @ApiStatementResponse(InvoicePageResponse, { paginated: true })
  @ApiErrors({ 400: 'Bad instants, page size, cursor or format' })
  async listInvoices(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListInvoicesQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<InvoicePageResponse | string> {
    const page = await this.invoices.listInvoices(principal, query);
    if (query.format !== 'csv') return page;
    return replyCsv(reply, 'invoices.csv', toCsv(INVOICE_COLUMNS, page.data), page.nextCursor);
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({
    summary: 'One of your invoices with its lines (one per settled period)',
    description: '`?format=csv` answers its lines as a CSV attachment named after the invoice number.',
  })
  @ApiStatementResponse(InvoiceResponse)
  @ApiErrors({ 404: 'No such invoice of yours' })
  async getInvoice(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query() query: StatementFormatQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<InvoiceResponse | string> {
    const invoice = await this.invoices.getInvoice(principal, id);
    if (query.format !== 'csv') return invoice;
    return replyCsv(reply, `${invoice.number}.csv`, toCsv(INVOICE_LINE_COLUMNS, invoice.lines ?? []));
  }
}
