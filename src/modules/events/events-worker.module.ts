import { DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import type { AppConfig } from '@/infra/config/app-config';
import { QUEUE } from '@/infra/queues/job-catalogue';
import { IdempotencyRecordsModule } from '@/infra/idempotency/idempotency-records.module';
import { registerProcessor } from '@/infra/queues/register-processor';
import { MetricsCountersModule } from '@/infra/metrics/metrics-counters.module';
import { WORKER_CONCURRENCY } from '@/infra/queues/worker-concurrency';
import { EventConsumersRegistry } from './event-consumers.registry';
import { EventsModule } from './events.module';
import { EventsProcessor } from './events.processor';
import { InboxRepository } from './inbox.repository';
import { InboxService } from './inbox.service';
import { MaintenanceProcessor } from './maintenance.processor';
import { OutboxReconciler } from './outbox-reconciler.service';
import { OutboxRelay } from './outbox-relay.service';
import { RelayLeadership } from './relay-leadership';
import { OutboxRepository } from './outbox.repository';

/** The worker side of events: relay, delivery to consumers through the inbox, reconciler. */
@Module({})
export class EventsWorkerModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: EventsWorkerModule,
      imports: [DiscoveryModule, EventsModule, IdempotencyRecordsModule, MetricsCountersModule],
      providers: [
        OutboxRepository,
        EventConsumersRegistry,
        InboxRepository,
        InboxService,
        OutboxRelay,
        RelayLeadership,
        OutboxReconciler,
        registerProcessor(EventsProcessor, QUEUE.events, config, WORKER_CONCURRENCY.events),
        registerProcessor(MaintenanceProcessor, QUEUE.maintenance, config, WORKER_CONCURRENCY.maintenance),
      ],
      exports: [OutboxRelay, OutboxReconciler, InboxService],
    };
  }
}
