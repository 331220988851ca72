import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '@/infra/config/app-config';
import { JOBS, type JobName } from './job-catalogue';
import { JobProducer } from './job-producer.service';

/**
 * The repeating jobs of the catalogue (those with `every`), one schedule each in Redis whichever
 * worker starts first: the upsert is idempotent, and a changed interval replaces the old one.
 */
@Injectable()
export class JobSchedules implements OnApplicationBootstrap {
  constructor(
    private readonly producer: JobProducer,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const name of Object.keys(JOBS) as JobName[]) {
      const definition = JOBS[name];
      if (!('every' in definition)) continue;
      await this.producer
        .queue(definition.queue)
        .upsertJobScheduler(
          name,
          { every: definition.every(this.config.env) },
          { name, data: { trigger: 'schedule' }, opts: definition.options },
        );
    }
  }
}
