import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { AppConfig } from '@/infra/config/app-config';
import { SkipThrottle } from '@nestjs/throttler';
import { ApiErrors } from '@/infra/http/api-errors';
import { Public } from '@/infra/auth/auth.decorators';
import { DomainError } from '@/shared/domain-error';
import { MetricsService } from './metrics.service';

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

@ApiTags('operations')
// Open, or guarded by METRICS_TOKEN below; never by organisation credentials.
@Public()
@SkipThrottle()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Prometheus metrics',
    description:
      'Open unless METRICS_TOKEN is set; then a Bearer token is required. HTTP latency and process ' +
      'metrics of this process; queue depth and age, job outcomes, matches and filled GPU-hours per ' +
      'market, ledger transfers and outbox backlog for the whole cluster (docs/OBSERVABILITY.md).',
  })
  @ApiBearerAuth('metrics-token')
  @ApiOkResponse({
    description: 'Prometheus text exposition format',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  @ApiErrors(401)
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const token = this.config.env.METRICS_TOKEN;
    if (token !== undefined && !sameSecret(authorization ?? '', `Bearer ${token}`)) {
      throw new DomainError('UNAUTHENTICATED', 'A valid metrics token is required.');
    }
    const { contentType, body } = await this.metrics.exposition();
    await reply.header('content-type', contentType).send(body);
  }
}
