import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@/infra/config/app-config';
import { QUEUE } from '@/infra/queues/job-catalogue';
import { registerProcessor } from '@/infra/queues/register-processor';
import { WORKER_CONCURRENCY } from '@/infra/queues/worker-concurrency';
import { LedgerModule } from '@/modules/billing/ledger/ledger.module';
import { EventsModule } from '@/modules/events/events.module';
import { OrderStateModule } from '@/modules/markets/order-state.module';
import { LeaseLifecycleService } from './lease-lifecycle.service';
import { LeaseTimersTrigger } from './lease-timers-trigger';
import { LeasesProcessor } from './leases.processor';
import { LeasesRepository } from './leases.repository';

/** The worker side of leases: the sweep, its schedule and the timers that bring it forward. */
@Module({})
export class LeasesWorkerModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: LeasesWorkerModule,
      imports: [EventsModule, LedgerModule, OrderStateModule],
      providers: [
        LeasesRepository,
        LeaseLifecycleService,
        LeaseTimersTrigger,
        registerProcessor(LeasesProcessor, QUEUE.leases, config, WORKER_CONCURRENCY.leases),
      ],
      exports: [LeaseLifecycleService],
    };
  }
}
