import { type DynamicModule, type ModuleMetadata, Module, type Type } from '@nestjs/common';
import type { AppConfig } from '@/infra/config/app-config';
import { QUEUE } from '@/infra/queues/job-catalogue';
import { registerProcessor } from '@/infra/queues/register-processor';
import { WORKER_CONCURRENCY } from '@/infra/queues/worker-concurrency';
import { EventsModule } from '@/modules/events/events.module';
import { LeaseStateModule } from '@/modules/leases/lease-state.module';
import { OrderStateModule } from '@/modules/markets/order-state.module';
import { ClearingSolver } from './clearing-solver';
import { FundsPort } from '@/modules/markets/domain/funds.port';
import { MarketBooks } from './market-books';
import { MarketRunLock } from './market-run-lock';
import { InactiveMatchingRunProbe, MatchingRunProbe } from './matching-run-probe';
import { MatchingScheduler } from './matching-scheduler';
import { MatchingTrigger } from './matching-trigger';
import { MatchingProcessor } from './matching.processor';
import { MatchingRepository } from './matching.repository';
import { MatchingService } from './matching.service';
import { OrderExpiryService } from './order-expiry.service';

/** How the composition root binds the funds port: the module that provides the adapter, and its class. */
export interface FundsBinding {
  imports: NonNullable<ModuleMetadata['imports']>;
  funds: Type<FundsPort>;
}

/** The worker side of matching: runs, commits, expiry sweeps and the events that trigger them. */
@Module({})
export class MatchingWorkerModule {
  static register(config: AppConfig, binding: FundsBinding): DynamicModule {
    return {
      module: MatchingWorkerModule,
      imports: [EventsModule, OrderStateModule, LeaseStateModule, ...binding.imports],
      providers: [
        MatchingRepository,
        MatchingService,
        MarketBooks,
        MarketRunLock,
        {
          provide: ClearingSolver,
          useFactory: () =>
            new ClearingSolver({
              threads: config.env.MATCHING_SOLVE_THREADS,
              timeoutMs: config.env.MATCHING_SOLVE_TIMEOUT_MS,
            }),
        },
        { provide: MatchingRunProbe, useClass: InactiveMatchingRunProbe },
        MatchingScheduler,
        MatchingTrigger,
        OrderExpiryService,
        { provide: FundsPort, useExisting: binding.funds },
        registerProcessor(MatchingProcessor, QUEUE.matching, config, WORKER_CONCURRENCY.matching),
      ],
      exports: [MatchingService, OrderExpiryService],
    };
  }
}
