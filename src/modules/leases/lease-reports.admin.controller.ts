import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { AdminApi, CurrentAdmin } from '@/infra/auth/auth.decorators';
import type { AdminPrincipal } from '@/infra/auth/principal';
import { ApiErrors } from '@/infra/http/api-errors';
import {
  DecideLeaseReportDto,
  LeaseReportListResponse,
  LeaseReportResponse,
  ListLeaseReportsQuery,
} from './dto/continuity.dto';
import { LeaseContinuityService } from './lease-continuity.service';

@AdminApi()
@Controller('admin/lease-reports')
export class LeaseReportsAdminController {
  constructor(private readonly continuity: LeaseContinuityService) {}

  @Get()
  @ApiOperation({ summary: 'Buyers’ failure reports by status (default OPEN), newest first' })
  @ApiOkResponse({ type: LeaseReportListResponse })
  @ApiErrors(400)
  list(@Query() query: ListLeaseReportsQuery): Promise<LeaseReportListResponse> {
    return this.continuity.adminListReports(query.status ?? 'OPEN', query.limit ?? 50);
  }

  @Post(':id/decide')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Decide a buyer’s failure report (audited)',
    description:
      'CONFIRMED: the provider was at fault, and the report counts as a fault in its reliability score ' +
      '(docs/RELIABILITY.md); REJECTED: its SLO evidence is withdrawn. Either decides the open SLO dispute of ' +
      'the period the report is evidence for in the same transaction, MISSED or MET, audited and announced as ' +
      'a resolve is (docs/SLO.md "A failure report decided"). Once: the same decision again answers the report ' +
      'as it is, the other one is 409. Writes `lease.report_decided`.',
  })
  @ApiOkResponse({ type: LeaseReportResponse })
  @ApiErrors(400, 404, {
    409: 'Decided the other way already, or contradicting its SLO dispute decided already (SLO_DISPUTE_DECIDED)',
  })
  decide(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('id') id: string,
    @Body() body: DecideLeaseReportDto,
  ): Promise<LeaseReportResponse> {
    return this.continuity.adminDecideReport(admin.userId, id, body);
  }
}
