import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@/infra/config/app-config';
import { QUEUE } from '@/infra/queues/job-catalogue';
import { registerProcessor } from '@/infra/queues/register-processor';
import { WORKER_CONCURRENCY } from '@/infra/queues/worker-concurrency';
import { ReliabilityWorkerModule } from '@/modules/reliability/reliability-worker.module';
import { StatsProcessor } from './stats.processor';
import { StatsRefreshService } from './stats-refresh.service';
import { StatsSnapshotsRepository } from './stats-snapshots.repository';

/** The worker side of statistics: the scheduled refresh of the hourly snapshots and of reliability scores. */
@Module({})
export class StatsWorkerModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: StatsWorkerModule,
      imports: [ReliabilityWorkerModule],
      providers: [
        StatsSnapshotsRepository,
        StatsRefreshService,
        registerProcessor(StatsProcessor, QUEUE.stats, config, WORKER_CONCURRENCY.stats),
      ],
      exports: [StatsRefreshService],
    };
  }
}
