import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { ErrorBody } from '../../infra/http/error-body';
import { AdminApi } from '../../infra/auth/auth.decorators';
import { AuditService } from '../../infra/audit/audit.service';
import { AuditPageResponse, AuditQuery } from '../../infra/audit/audit.dto';

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
  @ApiBadRequestResponse({ type: ErrorBody })
  list(@Query() query: AuditQuery): Promise<AuditPageResponse> {
    return this.audit.listEntries(query);
  }
}
