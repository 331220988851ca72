import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { AdminApi } from '@/infra/auth/auth.decorators';
import { AuditService } from '@/infra/audit/audit.service';
import { AuditPageResponse, AuditQuery } from '@/infra/audit/audit.dto';

@AdminApi()
@Controller('admin/audit')
export class AuditAdminController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({
    summary: 'The audit log: every admin mutation, newest first',
    description:
      'Cursor-paginated. Filters combine: `actor` (admin user id), `targetType` and/or `targetId`, ' +
      '`action`, and the range `from` (inclusive) .. `to` (exclusive).',
  })
  @ApiOkResponse({ type: AuditPageResponse })
  @ApiErrors(400)
  list(@Query() query: AuditQuery): Promise<AuditPageResponse> {
    return this.audit.listEntries(query);
  }
}
