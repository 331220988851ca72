import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScope } from '@/infra/auth/auth.decorators';
import type { Principal } from '@/infra/auth/principal';
import { ApiErrors } from '@/infra/http/api-errors';
import {
  DisputeSloDto,
  LeaseSloResponse,
  ReportSloDto,
  SloDisputeRefResponse,
  SloReportResponse,
} from './dto/slo.dto';
import { SloService } from './slo.service';

@ApiTags('leases')
@ApiBearerAuth('api-key')
@ApiBearerAuth('access-token')
@ApiErrors(401, 429, { 403: 'Key lacks the scope' })
@Controller('v1/leases')
export class SloController {
  constructor(private readonly slo: SloService) {}

  @Post(':id/slo-reports')
  @HttpCode(200)
  @RequireScope('usage')
  @ApiOperation({
    summary: "State one period's SLO evidence (provider: its report; buyer: its report or a probe result)",
    description:
      'Rules in docs/SLO.md. Once per side and period, signed by the exchange (HMAC digest with the submitting ' +
      'key or user): the same evidence again answers the stored one. The provider reports every objective of ' +
      "the lease's SLO (method REPORT); the buyer measures at least one (REPORT or PROBE). Refused, writing " +
      "nothing: a period that is not one of the lease's or has not ended, a measure out of range or for an " +
      'objective the SLO lacks (400); other evidence for a stated period (409 `SLO_EVIDENCE_ALREADY_STATED`), ' +
      "after the period's evidence window, its end + SETTLEMENT_GRACE_MINUTES (409 `EVIDENCE_CLOSED`), a lease " +
      'without an SLO (409 `NO_SLO`) or not started (409 `LEASE_NOT_STARTED`).',
  })
  @ApiOkResponse({ type: SloReportResponse })
  @ApiErrors(400, 404, 409)
  reportEvidence(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() body: ReportSloDto,
  ): Promise<SloReportResponse> {
    return this.slo.reportEvidence(principal, id, body);
  }

  @Post(':id/slo-disputes')
  @HttpCode(200)
  @RequireScope('usage')
  @ApiOperation({
    summary: "Provider: dispute the miss the buyer's SLO evidence shows for a period",
    description:
      "Opens a period dispute of kind SLO (`dispute.opened`); the period's settlement waits for an admin's " +
      "decision (`POST /admin/disputes/{id}/resolve`). Only when the buyer's evidence shows a miss and your " +
      'report does not (409 `NOT_CONTESTABLE`), and before the dispute window closes, the evidence window + ' +
      'SLO_DISPUTE_WINDOW_MINUTES (409 `DISPUTE_WINDOW_OVER`). The same dispute again answers it as it stands. ' +
      'Buyers get 403.',
  })
  @ApiOkResponse({ type: SloDisputeRefResponse })
  @ApiErrors(400, 404, 409)
  disputePeriod(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() body: DisputeSloDto,
  ): Promise<SloDisputeRefResponse> {
    return this.slo.disputePeriod(principal, id, body);
  }

  @Get(':id/slo')
  @RequireScope('read')
  @ApiOperation({
    summary: "The lease's SLO and, per started period, each side's evidence, any dispute and the outcome",
  })
  @ApiOkResponse({ type: LeaseSloResponse })
  @ApiErrors(404)
  leaseSlo(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<LeaseSloResponse> {
    return this.slo.leaseSlo(principal, id);
  }
}
