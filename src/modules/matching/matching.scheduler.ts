import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../infra/config/app-config';
import { JOBS } from '../../infra/queues/job-catalogue';
import { JobProducer } from '../../infra/queues/job-producer.service';

/** One sweep schedule in Redis, whichever worker starts first (the upsert is idempotent). */
@Injectable()
export class MatchingScheduler implements OnApplicationBootstrap {
  constructor(
    private readonly producer: JobProducer,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const definition = JOBS['matching.sweep'];
    await this.producer
      .queue(definition.queue)
      .upsertJobScheduler(
        'matching.sweep',
        { every: this.config.env.MATCHING_SWEEP_INTERVAL_MS },
        { name: 'matching.sweep', data: { trigger: 'schedule' }, opts: definition.options },
      );
  }
}
