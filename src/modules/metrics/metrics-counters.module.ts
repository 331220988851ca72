import { Module } from '@nestjs/common';
import { MetricsCountersService } from './metrics-counters.service';
import { MetricsRepository } from './metrics.repository';

/** The counters without the HTTP side, for worker processes (maintenance folds them). */
@Module({
  providers: [MetricsRepository, MetricsCountersService],
  exports: [MetricsCountersService],
})
export class MetricsCountersModule {}
