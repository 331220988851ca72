import { Module } from '@nestjs/common';
import { AuditModule } from '@/infra/audit/audit.module';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { EventsModule } from '@/modules/events/events.module';
import { LedgerModule } from '@/modules/billing/ledger/ledger.module';
import { StatementsModule } from '@/modules/billing/statements/statements.module';
import { SloModule } from '@/modules/slo/slo.module';
import { SettlementAdminController } from './settlement.admin.controller';
import { SettlementAdminService } from './settlement.admin.service';
import { SettlementRepository } from './settlement.repository';

/**
 * Settlement's HTTP side: operators list leases and settle or correct periods by hand. The sweep
 * and the period jobs run in the worker (SettlementWorkerModule).
 */
@Module({
  imports: [AuditModule, EventsModule, LedgerModule, StatementsModule, SloModule],
  controllers: [SettlementAdminController],
  providers: [SettlementRepository, SettlementAdminService, CursorCodec],
})
export class SettlementModule {}
