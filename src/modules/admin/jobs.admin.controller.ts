import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
} from '@nestjs/swagger';
import { ErrorBody } from '../../infra/http/error-body';
import { AdminApi, CurrentAdmin } from '../../infra/auth/auth.decorators';
import type { AdminPrincipal } from '../../infra/auth/principal';
import { FailedJobPageResponse, FailedJobsQuery, QUEUE_NAMES, RetriedJobResponse } from './dto/jobs.dto';
import { JobsAdminService } from './jobs.admin.service';

@AdminApi()
@Controller('admin/jobs')
export class JobsAdminController {
  constructor(private readonly jobs: JobsAdminService) {}

  @Get('failed')
  @ApiOperation({
    summary: 'Failed jobs with their reasons, most recently failed first',
    description: 'BullMQ keeps failed jobs for their retention (catalogue options); pages are by offset.',
  })
  @ApiOkResponse({ type: FailedJobPageResponse })
  @ApiBadRequestResponse({ type: ErrorBody })
  listFailed(@Query() query: FailedJobsQuery): Promise<FailedJobPageResponse> {
    return this.jobs.listFailed(query);
  }

  @Post(':queue/:jobId/retry')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Retry a failed job with a fresh set of attempts (audited)',
    description: 'Every job is safe to run twice (docs/ARCHITECTURE.md), so a retry never doubles an effect.',
  })
  @ApiParam({ name: 'queue', enum: QUEUE_NAMES })
  @ApiOkResponse({ type: RetriedJobResponse })
  @ApiNotFoundResponse({ type: ErrorBody, description: 'Unknown queue or job' })
  @ApiConflictResponse({ type: ErrorBody, description: 'The job is not failed' })
  retry(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('queue') queue: string,
    @Param('jobId') jobId: string,
  ): Promise<RetriedJobResponse> {
    return this.jobs.retry(admin.userId, queue, jobId);
  }
}
