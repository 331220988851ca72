import { Module } from '@nestjs/common';
import { OrderStateRepository } from './order-state.repository';
import { OrderStateService } from './order-state.service';

/** Bid and offer state, for every module that moves orders (docs/ARCHITECTURE.md "State machine homes"). */
@Module({
  providers: [OrderStateRepository, OrderStateService],
  exports: [OrderStateService],
})
export class OrderStateModule {}
