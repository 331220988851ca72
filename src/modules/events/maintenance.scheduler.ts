import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../infra/config/app-config';
import { JOBS } from '../../infra/queues/job-catalogue';
import { JobProducer } from '../../infra/queues/job-producer.service';

/** Keeps one reconcile schedule in Redis, whichever worker starts first (upsert is idempotent). */
@Injectable()
export class MaintenanceScheduler implements OnApplicationBootstrap {
  constructor(
    private readonly producer: JobProducer,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const definition = JOBS['maintenance.reconcile'];
    await this.producer
      .queue(definition.queue)
      .upsertJobScheduler(
        'maintenance.reconcile',
        { every: this.config.env.RECONCILE_INTERVAL_MS },
        { name: 'maintenance.reconcile', data: { trigger: 'schedule' }, opts: definition.options },
      );
  }
}
