import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam } from '@nestjs/swagger';
import { AdminApi, CurrentAdmin } from '@/infra/auth/auth.decorators';
import type { AdminPrincipal } from '@/infra/auth/principal';
import { ApiErrors } from '@/infra/http/api-errors';
import { CreateInferenceModelDto, InferenceModelResponse } from './dto/inference-model.dto';
import {
  AdminListServingProfilesQuery,
  AdminServingProfilePageResponse,
  AdminServingProfileResponse,
  ReviewServingProfileDto,
} from './dto/serving-profile.dto';
import { InferenceCatalogueService } from './inference-catalogue.service';
import { ServingProfilesService } from './serving-profiles.service';

@AdminApi()
@Controller('admin/inference')
export class InferenceAdminController {
  constructor(
    private readonly catalogue: InferenceCatalogueService,
    private readonly profiles: ServingProfilesService,
  ) {}

  @Post('models')
  @ApiOperation({
    summary: 'Add a model to the catalogue (audited)',
    description: 'Writes `inference_model.create` to the audit log. Reference profiles include it at once.',
  })
  @ApiCreatedResponse({ type: InferenceModelResponse })
  @ApiErrors({
    400: 'Invalid body, or activeParameters above parameters',
    409: 'A model with this slug exists',
  })
  createModel(
    @CurrentAdmin() admin: AdminPrincipal,
    @Body() body: CreateInferenceModelDto,
  ): Promise<InferenceModelResponse> {
    return this.catalogue.createModel(admin.userId, body);
  }

  @Get('serving-profiles')
  @ApiOperation({ summary: 'Serving profiles by review state (default PENDING_REVIEW), newest first' })
  @ApiOkResponse({ type: AdminServingProfilePageResponse })
  @ApiErrors({ 400: 'Unknown review state, bad page size or cursor' })
  listProfiles(@Query() query: AdminListServingProfilesQuery): Promise<AdminServingProfilePageResponse> {
    return this.profiles.adminListProfiles(query);
  }

  @Post('serving-profiles/:id/review')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Accept or reject a flagged serving profile (audited)',
    description:
      'Writes `serving_profile.accept` or `serving_profile.reject`. Accepted profiles are used for sizing ' +
      '(at the lower of declared and reference figures); rejected ones are not until the provider declares ' +
      'again. Restating the current decision changes nothing.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: AdminServingProfileResponse })
  @ApiErrors({ 400: 'Invalid body', 404: 'No such serving profile', 409: 'The profile is not flagged' })
  review(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('id') id: string,
    @Body() body: ReviewServingProfileDto,
  ): Promise<AdminServingProfileResponse> {
    return this.profiles.reviewProfile(admin.userId, id, body);
  }
}
