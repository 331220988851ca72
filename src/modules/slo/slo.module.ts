import { Module } from '@nestjs/common';
import { OrganisationWriteGateModule } from '@/infra/auth/write-gate/organisation-write-gate.module';
import { LedgerModule } from '@/modules/billing/ledger/ledger.module';
import { EventsModule } from '@/modules/events/events.module';
import { UsageModule } from '@/modules/usage/usage.module';
import { SloController } from './slo.controller';
import { SloStepAdapter } from './slo-step.adapter';
import { SloRepository } from './slo.repository';
import { SloService } from './slo.service';

/** SLO-conditioned escrow (docs/SLO.md): evidence, SLO disputes, and settlement's credit step. */
@Module({
  imports: [OrganisationWriteGateModule, EventsModule, LedgerModule, UsageModule],
  controllers: [SloController],
  providers: [SloRepository, SloService, SloStepAdapter],
  exports: [SloService, SloStepAdapter],
})
export class SloModule {}
