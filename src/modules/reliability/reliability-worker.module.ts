import { Module } from '@nestjs/common';
import { ReliabilityConsumer } from './reliability.consumer';
import { ReliabilityRepository } from './reliability.repository';
import { ReliabilityService } from './reliability.service';

/** The worker side: the stored scores, refreshed on lease outcomes (and daily by `stats.reliability`). */
@Module({
  providers: [ReliabilityRepository, ReliabilityService, ReliabilityConsumer],
  exports: [ReliabilityService],
})
export class ReliabilityWorkerModule {}
