import { type DynamicModule, type ModuleMetadata, Module, type Type } from '@nestjs/common';
import { AuditModule } from '@/infra/audit/audit.module';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { EventsModule } from '@/modules/events/events.module';
import { LedgerModule } from '@/modules/billing/ledger/ledger.module';
import { StatementsModule } from '@/modules/billing/statements/statements.module';
import { SloStepPort } from './domain/slo-step.port';
import { SettlementAdminController } from './settlement.admin.controller';
import { SettlementAdminService } from './settlement.admin.service';
import { SettlementRepository } from './settlement.repository';

/** How the composition root binds the SLO step port: the module that provides the adapter, and its class. */
export interface SloStepBinding {
  imports: NonNullable<ModuleMetadata['imports']>;
  sloStep: Type<SloStepPort>;
}

/**
 * Settlement's HTTP side: operators list leases and settle or correct periods by hand. The sweep
 * and the period jobs run in the worker (SettlementWorkerModule).
 */
@Module({})
export class SettlementModule {
  static register(binding: SloStepBinding): DynamicModule {
    return {
      module: SettlementModule,
      imports: [AuditModule, EventsModule, LedgerModule, StatementsModule, ...binding.imports],
      controllers: [SettlementAdminController],
      providers: [
        SettlementRepository,
        SettlementAdminService,
        CursorCodec,
        { provide: SloStepPort, useExisting: binding.sloStep },
      ],
    };
  }
}
