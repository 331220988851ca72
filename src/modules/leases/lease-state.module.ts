import { Module } from '@nestjs/common';
import { LeaseStateRepository } from './lease-state.repository';
import { LeaseStateService } from './lease-state.service';

/** Lease creation for matching's commit (docs/ARCHITECTURE.md "State machine homes"). */
@Module({
  providers: [LeaseStateRepository, LeaseStateService],
  exports: [LeaseStateService],
})
export class LeaseStateModule {}
