import { Module } from '@nestjs/common';
import { DataCipher } from '../../infra/crypto/data-cipher';
import { CursorCodec } from '../../infra/pagination/cursor-codec';
import { BillingModule } from '../billing/billing.module';
import { EventsModule } from '../events/events.module';
import { MarketsModule } from '../markets/markets.module';
import { LeasesController } from './leases.controller';
import { LeasesRepository } from './leases.repository';
import { LeasesService } from './leases.service';
import { OrganisationWriteGateModule } from '../../infra/auth/write-gate/organisation-write-gate.module';

/** Leases as their buyer and provider use them over HTTP: access handover, reading, ending early. */
@Module({
  imports: [OrganisationWriteGateModule, BillingModule, EventsModule, MarketsModule],
  controllers: [LeasesController],
  providers: [LeasesRepository, LeasesService, DataCipher, CursorCodec],
})
export class LeasesModule {}
