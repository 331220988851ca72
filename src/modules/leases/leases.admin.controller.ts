import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { AdminApi, CurrentAdmin } from '@/infra/auth/auth.decorators';
import type { AdminPrincipal } from '@/infra/auth/principal';
import { AdminLeaseResponse, TerminateLeaseAdminDto } from './dto/lease.dto';
import { LeasesService } from './leases.service';

@AdminApi()
@Controller('admin/leases')
export class LeasesAdminController {
  constructor(private readonly leases: LeasesService) {}

  @Post(':id/terminate')
  @HttpCode(200)
  @ApiOperation({
    summary: 'End a lease (audited)',
    description:
      'TERMINATED(ADMIN) now, settled as a provider’s early end: before access a full refund; once ACTIVE ' +
      'the current period is paid for the time elapsed (pay-per-use: usage reported, no minimum), nothing ' +
      'after. The reason goes to the audit log. Writes `lease.terminated`. An ended lease, or an ACTIVE one ' +
      'past its end (it ends as ENDED), is answered as it is and nothing is recorded.',
  })
  @ApiOkResponse({ type: AdminLeaseResponse })
  @ApiErrors({ 400: 'reason missing, shorter than 3 or over 1000 characters', 404: 'No such lease' })
  terminate(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('id') id: string,
    @Body() body: TerminateLeaseAdminDto,
  ): Promise<AdminLeaseResponse> {
    return this.leases.adminTerminateLease(admin.userId, id, body.reason);
  }
}
