import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import { ApiErrors } from '@/infra/http/api-errors';
import { Public } from '@/infra/auth/auth.decorators';
import { HealthIndicators } from './health.indicators';

@ApiTags('operations')
@Public()
@SkipThrottle()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicators,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @ApiOkResponse({ schema: { type: 'object', properties: { status: { type: 'string', example: 'ok' } } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness: PostgreSQL and Redis answer',
    description:
      '503 when either is down. Backlog (outbox, queue depth and oldest waiting age) is reported in details but never fails readiness.',
  })
  @ApiErrors({ 503: 'A dependency is down; details name it' })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.indicators.postgres(),
      () => this.indicators.redis(),
      () => this.indicators.outbox(),
      () => this.indicators.queues(),
    ]);
  }
}
