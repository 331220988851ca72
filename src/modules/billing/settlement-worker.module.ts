import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../../infra/config/app-config';
import { QUEUE } from '../../infra/queues/job-catalogue';
import { registerProcessor } from '../../infra/queues/register-processor';
import { EventsModule } from '../events/events.module';
import { BillingModule } from './billing.module';
import { SettlementProcessor } from './settlement.processor';
import { SettlementRepository } from './settlement.repository';
import { SettlementService } from './settlement.service';

// Leases settle independently; a lease never settles twice at once (row lock).
const SETTLEMENT_CONCURRENCY = 4;

/** The worker side of billing: periods settled into earnings and fees. */
@Module({})
export class SettlementWorkerModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: SettlementWorkerModule,
      imports: [EventsModule, BillingModule],
      providers: [
        SettlementRepository,
        SettlementService,
        registerProcessor(SettlementProcessor, QUEUE.settlement, config, SETTLEMENT_CONCURRENCY),
      ],
      exports: [SettlementService],
    };
  }
}
