import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { AdminApi, CurrentAdmin } from '@/infra/auth/auth.decorators';
import type { AdminPrincipal } from '@/infra/auth/principal';
import {
  AdminDisputePageResponse,
  AdminDisputeResponse,
  AdminListDisputesQuery,
  AdminListUsageFlagsQuery,
  AdminNoteDto,
  AdminUsageFlagPageResponse,
  AdminUsageFlagResponse,
  ResolveDisputeDto,
  SloDecisionResponse,
  SloEvidenceResponse,
  UsageDecisionResponse,
  UsageEvidenceResponse,
} from './dto/period-dispute.dto';
import { PeriodDisputesService } from './period-disputes.service';

@AdminApi()
@ApiExtraModels(UsageEvidenceResponse, SloEvidenceResponse, UsageDecisionResponse, SloDecisionResponse)
@Controller('admin')
export class PeriodDisputesAdminController {
  constructor(private readonly disputes: PeriodDisputesService) {}

  @Get('disputes')
  @ApiOperation({ summary: 'Period disputes by status (default OPEN), newest first' })
  @ApiOkResponse({ type: AdminDisputePageResponse })
  @ApiErrors({ 400: 'Bad status, page size or cursor' })
  listDisputes(@Query() query: AdminListDisputesQuery): Promise<AdminDisputePageResponse> {
    return this.disputes.listDisputes(query);
  }

  @Get('disputes/:id')
  @ApiOperation({ summary: 'One period dispute, with its evidence and decision' })
  @ApiOkResponse({ type: AdminDisputeResponse })
  @ApiErrors(404)
  getDispute(@Param('id') id: string): Promise<AdminDisputeResponse> {
    return this.disputes.getDispute(id);
  }

  @Post('disputes/:id/resolve')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Decide a period dispute (audited)',
    description:
      'USAGE: `usage` holds the counts that stand for the period (they become its standing counts, source ' +
      'ADMIN). SLO: `slo.outcome` is MET or MISSED (a miss credits the buyer when the period settles, docs/SLO.md). ' +
      'The body for the other kind is a 400. Audited as `dispute.resolve` with the evidence, decision and note; writes `dispute.resolved`; ' +
      'a period whose settlement waited settles next, once. The same decision again is answered as it ' +
      'stands and recorded nowhere; different counts for a decided dispute are a 409.',
  })
  @ApiOkResponse({ type: AdminDisputeResponse })
  @ApiErrors(400, 404, {
    409:
      'Decided already with another decision (DISPUTE_RESOLVED), or an SLO outcome contradicting the ' +
      "buyer's failure report the dispute's evidence is, decided already (LEASE_REPORT_DECIDED, docs/SLO.md)",
  })
  resolveDispute(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('id') id: string,
    @Body() body: ResolveDisputeDto,
  ): Promise<AdminDisputeResponse> {
    return this.disputes.resolveDispute(admin.userId, id, body);
  }

  @Get('usage-flags')
  @ApiOperation({
    summary: 'Token counts refused as beyond capacity, unreviewed (default) or reviewed, newest first',
  })
  @ApiOkResponse({ type: AdminUsageFlagPageResponse })
  @ApiErrors({ 400: 'Bad filter, page size or cursor' })
  listFlags(@Query() query: AdminListUsageFlagsQuery): Promise<AdminUsageFlagPageResponse> {
    return this.disputes.listFlags(query);
  }

  @Post('usage-flags/:id/review')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Mark a usage flag reviewed (audited)',
    description: 'Audited as `usage_flag.review` with the note. A reviewed flag is answered as it is.',
  })
  @ApiOkResponse({ type: AdminUsageFlagResponse })
  @ApiErrors(400, 404)
  reviewFlag(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('id') id: string,
    @Body() body: AdminNoteDto,
  ): Promise<AdminUsageFlagResponse> {
    return this.disputes.reviewFlag(admin.userId, id, body);
  }
}
