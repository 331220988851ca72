import { Module } from '@nestjs/common';
import { MarketsModule } from '@/modules/markets/markets.module';
import { ReliabilityModule } from '@/modules/reliability/reliability.module';
import { InferenceModule } from '@/modules/inference/inference.module';
import { ProviderStatsController } from './provider-stats.controller';
import { StatsAdminController } from './stats.admin.controller';
import { StatsController } from './stats.controller';
import { StatsReadsRepository } from './stats-reads.repository';
import { StatsService } from './stats.service';

/** Market statistics read from the hourly snapshots the stats worker keeps (docs/STATS.md). */
@Module({
  imports: [MarketsModule, ReliabilityModule, InferenceModule],
  controllers: [StatsController, StatsAdminController, ProviderStatsController],
  providers: [StatsReadsRepository, StatsService],
})
export class StatsModule {}
