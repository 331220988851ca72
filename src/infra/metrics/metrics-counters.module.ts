import { Module } from '@nestjs/common';
import { MetricsCountersService } from './metrics-counters.service';
import { MetricsCountersRepository } from './metrics-counters.repository';
import { PlacementTimings } from './placement-timings';

/**
 * The counters without the HTTP side, for worker processes (maintenance folds them), and the
 * group commit's timings, which the API's `/metrics` exposes.
 */
@Module({
  providers: [MetricsCountersRepository, MetricsCountersService, PlacementTimings],
  exports: [MetricsCountersService, PlacementTimings],
})
export class MetricsCountersModule {}
