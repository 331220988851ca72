import { Module } from '@nestjs/common';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { LedgerModule } from '@/modules/billing/ledger/ledger.module';
import { EventsModule } from '@/modules/events/events.module';
import { MatchingModule } from '@/modules/matching/matching.module';
import { MarketsModule } from '@/modules/markets/markets.module';
import { OrderStateModule } from '@/modules/markets/order-state.module';
import { InferenceModule } from '@/modules/inference/inference.module';
import { ReliabilityModule } from '@/modules/reliability/reliability.module';
import { BidsController } from './bids.controller';
import { BidsRepository } from './bids.repository';
import { BidsService } from './bids.service';
import { InferenceBidsService } from './inference-bids.service';

/** Buyers: bids for inference capacity under a price cap. */
@Module({
  imports: [
    MarketsModule,
    OrderStateModule,
    EventsModule,
    MatchingModule,
    LedgerModule,
    InferenceModule,
    ReliabilityModule,
  ],
  controllers: [BidsController],
  providers: [BidsRepository, BidsService, InferenceBidsService, CursorCodec],
  exports: [BidsService],
})
export class BuyersModule {}
