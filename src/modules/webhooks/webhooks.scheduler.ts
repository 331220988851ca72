import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../infra/config/app-config';
import { JOBS, type JobName } from '../../infra/queues/job-catalogue';
import { JobProducer } from '../../infra/queues/job-producer.service';

const HOUR_MS = 3_600_000;

/** The webhook backstops' schedules in Redis, whichever worker starts first (upserts are idempotent). */
@Injectable()
export class WebhooksScheduler implements OnApplicationBootstrap {
  constructor(
    private readonly producer: JobProducer,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.schedule('webhooks.dispatch', this.config.env.WEBHOOK_DISPATCH_INTERVAL_MS);
    await this.schedule('webhooks.sweep', this.config.env.RECONCILE_INTERVAL_MS);
    await this.schedule('webhooks.prune', HOUR_MS);
  }

  private async schedule(
    name: 'webhooks.dispatch' | 'webhooks.sweep' | 'webhooks.prune',
    every: number,
  ): Promise<void> {
    const definition = JOBS[name satisfies JobName];
    await this.producer
      .queue(definition.queue)
      .upsertJobScheduler(name, { every }, { name, data: { trigger: 'schedule' }, opts: definition.options });
  }
}
