import { Module } from '@nestjs/common';
import { AuditModule } from '@/infra/audit/audit.module';
import { OrganisationWriteGateModule } from '@/infra/auth/write-gate/organisation-write-gate.module';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { EventsModule } from '@/modules/events/events.module';
import { InferenceModule } from '@/modules/inference/inference.module';
import { PeriodDisputesAdminController } from './period-disputes.admin.controller';
import { PeriodDisputesService } from './period-disputes.service';
import { TokenUsageController } from './token-usage.controller';
import { TokenUsageService } from './token-usage.service';
import { UsageRepository } from './usage.repository';

/** Usage that can be checked: token counts per lease period, period disputes, usage flags. */
@Module({
  imports: [AuditModule, OrganisationWriteGateModule, EventsModule, InferenceModule],
  controllers: [TokenUsageController, PeriodDisputesAdminController],
  providers: [UsageRepository, TokenUsageService, PeriodDisputesService, CursorCodec],
  exports: [PeriodDisputesService],
})
export class UsageModule {}
