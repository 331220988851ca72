import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../infra/config/app-config';
import { JOBS } from '../../infra/queues/job-catalogue';
import { JobProducer } from '../../infra/queues/job-producer.service';

/** One lease-sweep schedule in Redis, whichever worker starts first (the upsert is idempotent). */
@Injectable()
export class LeasesScheduler implements OnApplicationBootstrap {
  constructor(
    private readonly producer: JobProducer,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const definition = JOBS['leases.sweep'];
    await this.producer
      .queue(definition.queue)
      .upsertJobScheduler(
        'leases.sweep',
        { every: this.config.env.LEASE_SWEEP_INTERVAL_MS },
        { name: 'leases.sweep', data: { trigger: 'schedule' }, opts: definition.options },
      );
  }
}
