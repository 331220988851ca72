import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../infra/config/app-config';
import { JOBS } from '../../infra/queues/job-catalogue';
import { JobProducer } from '../../infra/queues/job-producer.service';

/** One statistics-refresh schedule in Redis, whichever worker starts first (the upsert is idempotent). */
@Injectable()
export class StatsScheduler implements OnApplicationBootstrap {
  constructor(
    private readonly producer: JobProducer,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const definition = JOBS['stats.refresh'];
    await this.producer
      .queue(definition.queue)
      .upsertJobScheduler(
        'stats.refresh',
        { every: this.config.env.STATS_REFRESH_INTERVAL_MS },
        { name: 'stats.refresh', data: { trigger: 'schedule' }, opts: definition.options },
      );
  }
}
