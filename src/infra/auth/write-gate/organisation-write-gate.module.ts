import { Module } from '@nestjs/common';
import { OrganisationStatusRepository } from './organisation-status.repository';
import { OrganisationWriteGateService } from './organisation-write-gate.service';

/** The suspension check inside a write's transaction; depends on nothing but the database. */
@Module({
  providers: [OrganisationStatusRepository, OrganisationWriteGateService],
  exports: [OrganisationWriteGateService],
})
export class OrganisationWriteGateModule {}
