import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { QueueBacklog } from '@/infra/queues/queue-backlog.service';
import { RedisService } from '@/infra/redis/redis.service';
import { within } from '@/shared/within';
import { OutboxService } from '@/modules/events/outbox.service';

const PROBE_TIMEOUT_MS = 1_500;

@Injectable()
export class HealthIndicators {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly prisma: PrismaService,
    private readonly redisService: RedisService,
    private readonly outboxService: OutboxService,
    private readonly queueBacklog: QueueBacklog,
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

  /**
   * Queue backlog (the matching queue's oldest waiting age is the matching lag), for operators
   * like the outbox: reported, never a reason for 503; null when Redis does not answer.
   */
  async queues(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('queues');
    try {
      const rows = await within(this.queueBacklog.read(), PROBE_TIMEOUT_MS);
      return check.up(
        Object.fromEntries(
          rows.map((row) => [
            row.queue,
            {
              waiting: row.jobs.waiting + row.jobs.prioritized,
              active: row.jobs.active,
              delayed: row.jobs.delayed,
              failed: row.jobs.failed,
              oldestWaitingAgeSeconds: row.oldestWaitingAgeSeconds,
            },
          ]),
        ),
      );
    } catch {
      return check.up({ backlog: null });
    }
  }
}
