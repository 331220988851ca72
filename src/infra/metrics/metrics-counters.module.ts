import { Module } from '@nestjs/common';
import { MetricsCountersService } from './metrics-counters.service';
import { MetricsCountersRepository } from './metrics-counters.repository';

/** The counters without the HTTP side, for worker processes (maintenance folds them). */
@Module({
  providers: [MetricsCountersRepository, MetricsCountersService],
  exports: [MetricsCountersService],
})
export class MetricsCountersModule {}
