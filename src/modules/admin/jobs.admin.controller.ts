import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { AdminApi, CurrentAdmin } from '@/infra/auth/auth.decorators';
import type { AdminPrincipal } from '@/infra/auth/principal';
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
  @ApiErrors(400)
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
  @ApiErrors({ 404: 'Unknown queue or job', 409: 'The job is not failed' })
  retry(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('queue') queue: string,
    @Param('jobId') jobId: string,
  ): Promise<RetriedJobResponse> {
    return this.jobs.retry(admin.userId, queue, jobId);
  }
}
