import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../infra/config/app-config';
import { JOBS } from '../../infra/queues/job-catalogue';
import { JobProducer } from '../../infra/queues/job-producer.service';

/** One settlement-sweep schedule in Redis, whichever worker starts first (the upsert is idempotent). */
@Injectable()
export class SettlementScheduler implements OnApplicationBootstrap {
  constructor(
    private readonly producer: JobProducer,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const definition = JOBS['settlement.sweep'];
    await this.producer
      .queue(definition.queue)
      .upsertJobScheduler(
        'settlement.sweep',
        { every: this.config.env.SETTLEMENT_SWEEP_INTERVAL_MS },
        { name: 'settlement.sweep', data: { trigger: 'schedule' }, opts: definition.options },
      );
  }
}
