import { Module } from '@nestjs/common';
import { ReliabilityController } from './reliability.controller';
import { ReliabilityRepository } from './reliability.repository';
import { ReliabilityService } from './reliability.service';

/** Providers' reliability scores from lease outcomes (docs/RELIABILITY.md). */
@Module({
  controllers: [ReliabilityController],
  providers: [ReliabilityRepository, ReliabilityService],
  exports: [ReliabilityService],
})
export class ReliabilityModule {}
