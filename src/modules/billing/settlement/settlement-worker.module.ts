import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@/infra/config/app-config';
import { QUEUE } from '@/infra/queues/job-catalogue';
import { registerProcessor } from '@/infra/queues/register-processor';
import { WORKER_CONCURRENCY } from '@/infra/queues/worker-concurrency';
import { EventsModule } from '@/modules/events/events.module';
import { LedgerModule } from '@/modules/billing/ledger/ledger.module';
import { StatementsModule } from '@/modules/billing/statements/statements.module';
import { SloStepPort } from './domain/slo-step.port';
import type { SloStepBinding } from './settlement.module';
import { SettlementProcessor } from './settlement.processor';
import { SettlementRepository } from './settlement.repository';
import { SettlementService } from './settlement.service';

/** The worker side of billing: periods settled into earnings and fees. */
@Module({})
export class SettlementWorkerModule {
  static register(config: AppConfig, binding: SloStepBinding): DynamicModule {
    return {
      module: SettlementWorkerModule,
      imports: [EventsModule, LedgerModule, StatementsModule, ...binding.imports],
      providers: [
        SettlementRepository,
        SettlementService,
        { provide: SloStepPort, useExisting: binding.sloStep },
        registerProcessor(SettlementProcessor, QUEUE.settlement, config, WORKER_CONCURRENCY.settlement),
      ],
      exports: [SettlementService],
    };
  }
}
