import { Controller, HttpCode, Post, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AdminApi, CurrentAdmin } from '@/infra/auth/auth.decorators';
import type { AdminPrincipal } from '@/infra/auth/principal';
import {
  QUEUE_SESSION_COOKIE,
  QUEUE_SESSION_TTL_SECONDS,
  QueueDashboardAuthService,
} from './queue-dashboard-auth.service';

export class QueueSessionResponse {
  @ApiProperty({ format: 'date-time', description: 'When the cookie stops opening the dashboard' })
  expiresAt!: string;
}

@AdminApi()
@Controller('admin/queues')
export class QueueSessionController {
  constructor(private readonly dashboardAuth: QueueDashboardAuthService) {}

  @Post('session')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Open a BullMQ dashboard session in this browser',
    description:
      `Sets \`${QUEUE_SESSION_COOKIE}\`: HttpOnly, SameSite=Strict, Secure in production, Path=/admin/queues, ` +
      `valid ${QUEUE_SESSION_TTL_SECONDS / 60} minutes; the dashboard (GET /admin/queues, not part of this ` +
      'document) and its assets accept it or the bearer token.',
  })
  @ApiOkResponse({ type: QueueSessionResponse })
  async open(
    @CurrentAdmin() admin: AdminPrincipal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<QueueSessionResponse> {
    const session = await this.dashboardAuth.sessionCookie(admin);
    void reply.header('set-cookie', session.cookie);
    return { expiresAt: session.expiresAt };
  }
}
