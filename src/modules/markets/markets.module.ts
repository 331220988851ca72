import { Module } from '@nestjs/common';
import { CursorCodec } from '../../infra/pagination/cursor-codec';
import { ListingsController } from './listings.controller';
import { MarketDataRepository } from './market-data.repository';
import { MarketDataService } from './market-data.service';
import { MarketsController } from './markets.controller';
import { MarketsRepository } from './markets.repository';
import { MarketsService } from './markets.service';

/** Catalogue (markets, provinces, cities) and public market data (book, listings). */
@Module({
  controllers: [MarketsController, ListingsController],
  providers: [MarketsRepository, MarketsService, MarketDataRepository, MarketDataService, CursorCodec],
  exports: [MarketsService],
})
export class MarketsModule {}
