import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../infra/config/app-config';
import { JOBS } from '../../infra/queues/job-catalogue';
import { JobProducer } from '../../infra/queues/job-producer.service';

const PRUNE_INTERVAL_MS = 3_600_000;

/** Keeps one schedule per maintenance job in Redis, whichever worker starts first (upsert is idempotent). */
@Injectable()
export class MaintenanceScheduler implements OnApplicationBootstrap {
  constructor(
    private readonly producer: JobProducer,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.schedule('maintenance.reconcile', this.config.env.RECONCILE_INTERVAL_MS);
    await this.schedule('maintenance.prune', PRUNE_INTERVAL_MS);
  }

  private async schedule(name: 'maintenance.reconcile' | 'maintenance.prune', every: number): Promise<void> {
    const definition = JOBS[name];
    await this.producer
      .queue(definition.queue)
      .upsertJobScheduler(name, { every }, { name, data: { trigger: 'schedule' }, opts: definition.options });
  }
}
