import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../../infra/config/app-config';
import { QUEUE, WEBHOOK_BACKOFF } from '../../infra/queues/job-catalogue';
import { registerProcessor } from '../../infra/queues/register-processor';
import { retryDelayMs } from './domain/webhook-rules';
import { SafeWebhookClient } from './safe-webhook-client';
import { WebhookDeliveryService } from './webhook-delivery.service';
import { WebhookSecretCipher } from './webhook-secret-cipher';
import { WebhooksConsumer } from './webhooks.consumer';
import { WebhooksProcessor } from './webhooks.processor';
import { WebhooksRepository } from './webhooks.repository';

/** The worker side of webhooks: the event consumer that creates deliveries, and their sender. */
@Module({})
export class WebhooksWorkerModule {
  static register(config: AppConfig): DynamicModule {
    const base = config.env.WEBHOOK_RETRY_BASE_MS;
    return {
      module: WebhooksWorkerModule,
      providers: [
        WebhooksRepository,
        WebhooksConsumer,
        WebhookDeliveryService,
        SafeWebhookClient,
        WebhookSecretCipher,
        registerProcessor(WebhooksProcessor, QUEUE.webhooks, config, 8, {
          backoffStrategy: (attemptsMade: number, type?: string) =>
            type === WEBHOOK_BACKOFF ? retryDelayMs(attemptsMade, base) : 1_000,
        }),
      ],
    };
  }
}
