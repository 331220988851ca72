import { Module } from '@nestjs/common';
import { AuditModule } from '@/infra/audit/audit.module';
import { OrganisationWriteGateModule } from '@/infra/auth/write-gate/organisation-write-gate.module';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { EventsModule } from '@/modules/events/events.module';
import { ProvidersModule } from '@/modules/providers/providers.module';
import { InferenceAdminController } from './inference.admin.controller';
import { InferenceCatalogueService } from './inference-catalogue.service';
import { InferenceController } from './inference.controller';
import { InferenceRepository } from './inference.repository';
import { ServingProfilesController } from './serving-profiles.controller';
import { ServingProfilesService } from './serving-profiles.service';

/** Inference in model terms: the model catalogue, reference profiles and offers' serving profiles. */
@Module({
  imports: [AuditModule, EventsModule, OrganisationWriteGateModule, ProvidersModule],
  controllers: [InferenceController, ServingProfilesController, InferenceAdminController],
  providers: [InferenceRepository, InferenceCatalogueService, ServingProfilesService, CursorCodec],
  exports: [InferenceCatalogueService, ServingProfilesService],
})
export class InferenceModule {}
