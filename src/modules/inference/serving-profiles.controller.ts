import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireRole, RequireScope } from '@/infra/auth/auth.decorators';
import type { Principal } from '@/infra/auth/principal';
import { ApiErrors } from '@/infra/http/api-errors';
import { PutServingProfilesDto, ServingProfileListResponse } from './dto/serving-profile.dto';
import { ServingProfilesService } from './serving-profiles.service';

@ApiTags('offers')
@ApiBearerAuth('api-key')
@ApiBearerAuth('access-token')
@ApiErrors(401, 429, { 403: 'Not a provider, key lacks the scope, or organisation suspended' })
@RequireRole('PROVIDER')
@Controller('v1/offers/:offerId/serving-profiles')
export class ServingProfilesController {
  constructor(private readonly profiles: ServingProfilesService) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'The models one of your offers serves, with their reference and review' })
  @ApiParam({ name: 'offerId', format: 'uuid' })
  @ApiOkResponse({ type: ServingProfileListResponse })
  @ApiErrors({ 404: 'No such offer among yours' })
  list(
    @CurrentPrincipal() principal: Principal,
    @Param('offerId') offerId: string,
  ): Promise<ServingProfileListResponse> {
    return this.profiles.listProfiles(principal, offerId);
  }

  @Put()
  @RequireScope('orders')
  @ApiOperation({
    summary: 'Declare what one of your offers serves: per model, measured throughput and TTFT',
    description:
      'Replaces the offer’s set (idempotent). Each declaration is compared with the reference at its ' +
      'concurrency in the offer’s market: throughput above 1.5x the reference, a TTFT below the reference ' +
      'divided by 1.5, or a model the market’s GPUs cannot hold is flagged PENDING_REVIEW for an admin ' +
      '(docs/INFERENCE.md). A restated declaration keeps its review; a changed one is checked again.',
  })
  @ApiParam({ name: 'offerId', format: 'uuid' })
  @ApiOkResponse({ type: ServingProfileListResponse })
  @ApiErrors({
    400: 'Invalid body: unknown or repeated model, zero or out-of-range figures, ttftP95Ms below ttftP50Ms',
    404: 'No such offer among yours',
    409: 'The offer is cancelled or expired',
  })
  declare(
    @CurrentPrincipal() principal: Principal,
    @Param('offerId') offerId: string,
    @Body() body: PutServingProfilesDto,
  ): Promise<ServingProfileListResponse> {
    return this.profiles.declareProfiles(principal, offerId, body);
  }
}
