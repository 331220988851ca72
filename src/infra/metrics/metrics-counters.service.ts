import { Injectable } from '@nestjs/common';
import {
  MetricsCountersRepository,
  type MarketMatchCounters,
  type TransferCounters,
} from './metrics-counters.repository';

/** The counters /metrics reads (kept by triggers), and their upkeep for the maintenance job. */
@Injectable()
export class MetricsCountersService {
  constructor(private readonly counters: MetricsCountersRepository) {}

  marketMatches(): Promise<MarketMatchCounters[]> {
    return this.counters.systemMarketMatchCounters();
  }

  transfers(): Promise<TransferCounters[]> {
    return this.counters.systemTransferCounters();
  }

  /** Folds counter slots of closed database connections into one; returns the rows folded. */
  foldGoneSlots(): Promise<number> {
    return this.counters.systemFoldGoneTransferCounterSlots();
  }
}
