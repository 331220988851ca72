import { Module } from '@nestjs/common';
import { EventsModule } from '@/modules/events/events.module';
import { MetricsCountersModule } from '@/infra/metrics/metrics-counters.module';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

@Module({
  imports: [EventsModule, MetricsCountersModule],
  controllers: [MetricsController],
  providers: [MetricsService],
  exports: [MetricsService],
})
export class MetricsModule {}
