import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { CurrentPrincipal, RequireScope } from '@/infra/auth/auth.decorators';
import type { Principal } from '@/infra/auth/principal';
import { LeaseTokensResponse, StateTokenCountsDto, TokenCountsResponse } from './dto/token-usage.dto';
import { TokenUsageService } from './token-usage.service';

@ApiTags('leases')
@ApiBearerAuth('api-key')
@ApiBearerAuth('access-token')
@ApiErrors(401, 429, { 403: 'Key lacks the scope' })
@Controller('v1/leases')
export class TokenUsageController {
  constructor(private readonly tokens: TokenUsageService) {}

  @Post(':id/tokens')
  @HttpCode(200)
  @RequireScope('usage')
  @ApiOperation({
    summary: "State one period's token counts (provider: served; buyer: counted)",
    description:
      'Rules in docs/USAGE.md. Once per side and period: the same counts again answer the stored statement. ' +
      "Refused, writing nothing: a period that is not one of the lease's or has not ended, a count that is " +
      'negative, fractional or above 2^53 - 1 (400); different counts for a stated period ' +
      '(409 `USAGE_ALREADY_REPORTED`), a period before the latest stated (409 `USAGE_OUT_OF_ORDER`), after ' +
      "the period's grace (409 `GRACE_OVER`), a lease not started (409); counts the leased GPUs could not " +
      "serve in the period at the offer's declared (else the reference) profile: 422 `USAGE_ABOVE_CAPACITY`, " +
      'kept as a usage flag for an admin. When both sides have stated and differ beyond the tolerance, a ' +
      "USAGE dispute opens (`dispute.opened`) and the period's settlement waits for an admin's decision.",
  })
  @ApiOkResponse({ type: TokenCountsResponse })
  @ApiErrors(400, 404, 409, { 422: 'USAGE_ABOVE_CAPACITY: more tokens than the GPUs could serve; flagged' })
  stateCounts(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() body: StateTokenCountsDto,
  ): Promise<TokenCountsResponse> {
    return this.tokens.stateCounts(principal, id, body);
  }

  @Get(':id/tokens')
  @RequireScope('read')
  @ApiOperation({
    summary:
      "Token counts of the lease's periods: each side's, any decision, the counts that stand, disputes",
  })
  @ApiOkResponse({ type: LeaseTokensResponse })
  @ApiErrors(404)
  leaseTokens(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
  ): Promise<LeaseTokensResponse> {
    return this.tokens.leaseTokens(principal, id);
  }
}
