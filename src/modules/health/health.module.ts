import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { EventsModule } from '@/modules/events/events.module';
import { HealthController } from './health.controller';
import { HealthIndicators } from './health.indicators';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), EventsModule],
  controllers: [HealthController],
  providers: [HealthIndicators],
})
export class HealthModule {}
