import { Module } from '@nestjs/common';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { EventsModule } from '@/modules/events/events.module';
import { MarketsModule } from '@/modules/markets/markets.module';
import { OrderStateModule } from '@/modules/markets/order-state.module';
import { OffersController } from './offers.controller';
import { OffersRepository } from './offers.repository';
import { OffersService } from './offers.service';
import { SitesController } from './sites.controller';
import { SitesRepository } from './sites.repository';
import { SitesService } from './sites.service';
import { OrganisationWriteGateModule } from '@/infra/auth/write-gate/organisation-write-gate.module';

/** Providers: their sites and the offers of idle GPUs at them. */
@Module({
  imports: [OrganisationWriteGateModule, MarketsModule, OrderStateModule, EventsModule],
  controllers: [SitesController, OffersController],
  providers: [SitesRepository, SitesService, OffersRepository, OffersService, CursorCodec],
  exports: [OffersService, SitesService],
})
export class ProvidersModule {}
