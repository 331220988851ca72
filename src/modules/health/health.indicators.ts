import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { PrismaService } from '../../infra/prisma/prisma.service';
import { RedisService } from '../../infra/redis/redis.service';
import { OutboxService } from '../events/outbox.service';

const PROBE_TIMEOUT_MS = 1_500;

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

@Injectable()
export class HealthIndicators {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly prisma: PrismaService,
    private readonly redisService: RedisService,
    private readonly outboxService: OutboxService,
  ) {}

  async postgres(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('postgres');
    try {
      await within(this.prisma.$queryRaw`SELECT 1`, PROBE_TIMEOUT_MS);
      return check.up();
    } catch (error) {
      return check.down({ message: (error as Error).message || 'unreachable' });
    }
  }

  async redis(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('redis');
    try {
      await this.redisService.ping(PROBE_TIMEOUT_MS);
      return check.up();
    } catch (error) {
      return check.down({ message: (error as Error).message || 'unreachable' });
    }
  }

  /** Backlog is information for operators, not a reason to take the API out of rotation. */
  async outbox(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('outbox');
    try {
      return check.up(await within(this.outboxService.backlog(), PROBE_TIMEOUT_MS));
    } catch {
      return check.up({ unpublished: null, oldestAgeSeconds: null });
    }
  }
}
