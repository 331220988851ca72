import { DataCipher } from '@/infra/crypto/data-cipher';
import { Module } from '@nestjs/common';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { SafeWebhookClient } from './safe-webhook-client';
import { WebhooksController } from './webhooks.controller';
import { WebhooksRepository } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

/** The API side of webhooks: endpoints, delivery log, replay. */
@Module({
  controllers: [WebhooksController],
  providers: [WebhooksService, WebhooksRepository, SafeWebhookClient, DataCipher, CursorCodec],
})
export class WebhooksModule {}
