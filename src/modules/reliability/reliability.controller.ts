import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireRole, RequireScope } from '@/infra/auth/auth.decorators';
import type { Principal } from '@/infra/auth/principal';
import { ApiErrors } from '@/infra/http/api-errors';
import { ReliabilityResponse } from './dto/reliability.response';
import { ReliabilityService } from './reliability.service';

@ApiTags('reliability')
@ApiBearerAuth('api-key')
@ApiBearerAuth('access-token')
@ApiErrors(401, 429, { 403: 'Not a provider, or the key lacks the read scope' })
@RequireRole('PROVIDER')
@Controller('v1/providers/reliability')
export class ReliabilityController {
  constructor(private readonly reliability: ReliabilityService) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({
    summary: 'Your reliability score',
    description: 'The score buyers see on your listings and quotes, with the outcomes behind it.',
  })
  @ApiOkResponse({ type: ReliabilityResponse })
  ownScore(@CurrentPrincipal() principal: Principal): Promise<ReliabilityResponse> {
    return this.reliability.scoreOf(principal.organisationId);
  }
}
