import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '@/infra/auth/auth.decorators';
import { ApiErrors } from '@/infra/http/api-errors';
import { InferenceModelListResponse } from './dto/inference-model.dto';
import { ReferenceProfileListResponse, ReferenceProfilesQuery } from './dto/reference-profile.dto';
import { InferenceCatalogueService } from './inference-catalogue.service';

@ApiTags('inference')
@ApiErrors({ 429: 'Rate limit per IP exceeded; see Retry-After' })
@Public()
@Controller('v1/inference')
export class InferenceController {
  constructor(private readonly catalogue: InferenceCatalogueService) {}

  @Get('models')
  @ApiOperation({
    summary: 'List the model catalogue: family, parameters, quantisation, context length, sizing figures',
  })
  @ApiOkResponse({ type: InferenceModelListResponse })
  listModels(): Promise<InferenceModelListResponse> {
    return this.catalogue.listModels();
  }

  @Get('reference-profiles')
  @ApiOperation({
    summary: 'Reference serving profiles per model x market',
    description:
      'Derived from first principles (docs/INFERENCE.md): decode from memory bandwidth over bytes read per ' +
      'step, prefill from FLOPs, at MBU 0.6 and MFU 0.4, for the reference workload (1,024 prompt and 256 ' +
      'output tokens) at `concurrency` requests per GPU.',
  })
  @ApiOkResponse({ type: ReferenceProfileListResponse })
  @ApiErrors({ 400: 'Unknown model or market, or concurrency outside 1..1024' })
  listReferenceProfiles(@Query() query: ReferenceProfilesQuery): Promise<ReferenceProfileListResponse> {
    return this.catalogue.listReferenceProfiles(query);
  }
}
