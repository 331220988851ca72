import { Module } from '@nestjs/common';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { AuditModule } from '@/infra/audit/audit.module';
import { MetricsCountersModule } from '@/infra/metrics/metrics-counters.module';
import { EventsModule } from '@/modules/events/events.module';
import { ReliabilityModule } from '@/modules/reliability/reliability.module';
import { ListingsController } from './listings.controller';
import { MarketDataRepository } from './market-data.repository';
import { MarketDataService } from './market-data.service';
import { MarketsAdminController } from './markets.admin.controller';
import { MarketsAdminService } from './markets.admin.service';
import { MarketsController } from './markets.controller';
import { MarketsRepository } from './markets.repository';
import { MarketsService } from './markets.service';
import { InactiveOrderPlacementProbe, OrderPlacementProbe } from './order-placement-probe';
import { OrderPlacementService } from './order-placement.service';
import { OrderStateModule } from './order-state.module';

/** Catalogue (markets, provinces, cities), public market data (book, listings), admin controls. */
@Module({
  imports: [AuditModule, EventsModule, MetricsCountersModule, OrderStateModule, ReliabilityModule],
  controllers: [MarketsController, ListingsController, MarketsAdminController],
  providers: [
    MarketsRepository,
    MarketsService,
    MarketsAdminService,
    MarketDataRepository,
    MarketDataService,
    OrderPlacementService,
    { provide: OrderPlacementProbe, useClass: InactiveOrderPlacementProbe },
    CursorCodec,
  ],
  exports: [MarketsService, OrderPlacementService],
})
export class MarketsModule {}
