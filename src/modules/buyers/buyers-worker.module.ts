import { Module } from '@nestjs/common';
import { EventsModule } from '@/modules/events/events.module';
import { BidReplacementConsumer } from './bid-replacement.consumer';
import { BuyersModule } from './buyers.module';

/** The worker side of buyers: automatic re-placement of bids whose leases closed. */
@Module({
  imports: [BuyersModule, EventsModule],
  providers: [BidReplacementConsumer],
})
export class BuyersWorkerModule {}
