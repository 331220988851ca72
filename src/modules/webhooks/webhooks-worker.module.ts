import { DataCipher } from '@/infra/crypto/data-cipher';
import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@/infra/config/app-config';
import { QUEUE, WEBHOOK_BACKOFF } from '@/infra/queues/job-catalogue';
import { registerProcessor } from '@/infra/queues/register-processor';
import { WORKER_CONCURRENCY } from '@/infra/queues/worker-concurrency';
import { EventsModule } from '@/modules/events/events.module';
import { retryDelayMs } from './domain/webhook-rules';
import { SafeWebhookClient } from './safe-webhook-client';
import { WebhookDeliveryService } from './webhook-delivery.service';
import { WebhookDispatcher } from './webhook-dispatcher.service';
import { WebhookMaintenance } from './webhook-maintenance.service';
import { WebhooksProcessor } from './webhooks.processor';
import { WebhooksRepository } from './webhooks.repository';

/** The worker side of webhooks: the dispatcher that creates deliveries, their sender, the backstops. */
@Module({})
export class WebhooksWorkerModule {
  static register(config: AppConfig): DynamicModule {
    const base = config.env.WEBHOOK_RETRY_BASE_MS;
    return {
      module: WebhooksWorkerModule,
      imports: [EventsModule],
      providers: [
        WebhooksRepository,
        WebhookDispatcher,
        WebhookMaintenance,
        WebhookDeliveryService,
        SafeWebhookClient,
        DataCipher,
        registerProcessor(WebhooksProcessor, QUEUE.webhooks, config, WORKER_CONCURRENCY.webhooks, {
          backoffStrategy: (attemptsMade: number, type?: string) =>
            type === WEBHOOK_BACKOFF ? retryDelayMs(attemptsMade, base) : 1_000,
        }),
      ],
    };
  }
}
