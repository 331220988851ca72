import { Module } from '@nestjs/common';
import { DataCipher } from '@/infra/crypto/data-cipher';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { AuditModule } from '@/infra/audit/audit.module';
import { LedgerModule } from '@/modules/billing/ledger/ledger.module';
import { EventsModule } from '@/modules/events/events.module';
import { MarketsModule } from '@/modules/markets/markets.module';
import { OrderStateModule } from '@/modules/markets/order-state.module';
import { SloModule } from '@/modules/slo/slo.module';
import { LeaseContinuityController } from './lease-continuity.controller';
import { LeaseContinuityService } from './lease-continuity.service';
import { LeaseReportsAdminController } from './lease-reports.admin.controller';
import { LeaseReportsRepository } from './lease-reports.repository';
import { LeasesAdminController } from './leases.admin.controller';
import { LeasesController } from './leases.controller';
import { LeasesRepository } from './leases.repository';
import { LeasesService } from './leases.service';
import { OrganisationWriteGateModule } from '@/infra/auth/write-gate/organisation-write-gate.module';

/**
 * Leases as their buyer and provider use them over HTTP (access, reading, ending early, extending,
 * reporting a failure); admins end them and decide failure reports.
 */
@Module({
  imports: [
    OrganisationWriteGateModule,
    AuditModule,
    LedgerModule,
    EventsModule,
    MarketsModule,
    OrderStateModule,
    SloModule,
  ],
  controllers: [
    LeasesController,
    LeaseContinuityController,
    LeasesAdminController,
    LeaseReportsAdminController,
  ],
  providers: [
    LeasesRepository,
    LeasesService,
    LeaseReportsRepository,
    LeaseContinuityService,
    DataCipher,
    CursorCodec,
  ],
})
export class LeasesModule {}
