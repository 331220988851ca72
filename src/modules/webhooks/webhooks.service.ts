import { DataCipher } from '@/infra/crypto/data-cipher';
import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { isUUID } from 'class-validator';
import { Clock } from '@/infra/clock/clock';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import type { Page } from '@/infra/pagination/page';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { DomainError } from '@/shared/domain-error';
import type { OrganisationContext } from '@/infra/auth/principal';
import { assertNotSuspended } from '@/infra/auth/suspension';
import { MAX_WEBHOOK_ENDPOINTS, newWebhookSecret, secretContext } from './domain/webhook-rules';
import type {
  CreatedWebhookResponse,
  CreateWebhookDto,
  DeliveryPageResponse,
  DeliveryResponse,
  ListDeliveriesQuery,
  UpdateWebhookDto,
  WebhookResponse,
} from './dto/webhook.dto';
import type { PageQuery } from '@/infra/pagination/page';
import { SafeWebhookClient } from './safe-webhook-client';
import { WebhooksMapper } from './webhooks.mapper';
import { WebhooksRepository } from './webhooks.repository';

const notFound = (): DomainError => new DomainError('NOT_FOUND', 'Webhook not found.');

/** Organisations' webhook endpoints and their deliveries (docs/EVENTS.md, "Webhooks"). */
@Injectable()
export class WebhooksService {
  constructor(
    private readonly webhooks: WebhooksRepository,
    private readonly client: SafeWebhookClient,
    private readonly cipher: DataCipher,
    private readonly producer: JobProducer,
    private readonly cursors: CursorCodec,
    private readonly clock: Clock,
  ) {}

  @Transactional()
  async registerWebhook(org: OrganisationContext, input: CreateWebhookDto): Promise<CreatedWebhookResponse> {
    this.assertWritable(org);
    const url = await this.client.assertAllowed(input.url);
    if ((await this.webhooks.countEndpoints(org.organisationId)) >= MAX_WEBHOOK_ENDPOINTS) {
      throw new DomainError(
        'CONFLICT',
        `At most ${MAX_WEBHOOK_ENDPOINTS} webhook endpoints per organisation.`,
      );
    }
    const secret = newWebhookSecret();
    const row = await this.webhooks.createEndpoint(
      org.organisationId,
      {
        url: url.toString(),
        description: input.description ?? null,
        eventTypes: input.eventTypes ?? [],
        secret: this.cipher.encrypt(secret, secretContext(org.organisationId)),
      },
      this.clock.now(),
    );
    return { ...WebhooksMapper.endpoint(row), secret };
  }

  async listWebhooks(org: OrganisationContext, query: PageQuery): Promise<Page<WebhookResponse>> {
    const limit = this.cursors.limit(query.limit);
    const rows = await this.webhooks.listEndpoints(
      org.organisationId,
      limit,
      this.cursors.decode(query.cursor),
    );
    return this.cursors.page(rows, limit, (row) => WebhooksMapper.endpoint(row));
  }

  /** A missing id, a malformed one and another organisation's are the same 404. */
  async getWebhook(org: OrganisationContext, id: string): Promise<WebhookResponse> {
    const row = isUUID(id) ? await this.webhooks.findEndpoint(org.organisationId, id) : null;
    if (!row) throw notFound();
    return WebhooksMapper.endpoint(row);
  }

  async updateWebhook(
    org: OrganisationContext,
    id: string,
    input: UpdateWebhookDto,
  ): Promise<WebhookResponse> {
    this.assertWritable(org);
    if (!isUUID(id) || !(await this.webhooks.findEndpoint(org.organisationId, id))) throw notFound();
    const url = input.url === undefined ? undefined : (await this.client.assertAllowed(input.url)).toString();
    const row = await this.webhooks.updateEndpoint(
      org.organisationId,
      id,
      {
        ...(url === undefined ? {} : { url }),
        ...(input.description === undefined ? {} : { description: input.description }),
        ...(input.eventTypes === undefined ? {} : { eventTypes: input.eventTypes }),
        ...(input.enabled === undefined ? {} : { enabled: input.enabled }),
      },
      this.clock.now(),
    );
    if (!row) throw notFound();
    return WebhooksMapper.endpoint(row);
  }

  async deleteWebhook(org: OrganisationContext, id: string): Promise<void> {
    this.assertWritable(org);
    if (!isUUID(id) || !(await this.webhooks.deleteEndpoint(org.organisationId, id))) throw notFound();
  }

  async listDeliveries(
    org: OrganisationContext,
    id: string,
    query: ListDeliveriesQuery,
  ): Promise<DeliveryPageResponse> {
    if (!isUUID(id) || !(await this.webhooks.findEndpoint(org.organisationId, id))) throw notFound();
    const limit = this.cursors.limit(query.limit);
    const rows = await this.webhooks.listDeliveries(
      org.organisationId,
      id,
      query.status,
      limit,
      this.cursors.decode(query.cursor),
    );
    return this.cursors.page(rows, limit, (row) => WebhooksMapper.delivery(row));
  }

  /**
   * Sends a finished delivery again, as a new run with the same webhook-id (receivers
   * deduplicate on it). Not in a transaction: the job is enqueued after the row says PENDING.
   */
  async replayDelivery(org: OrganisationContext, id: string, deliveryId: string): Promise<DeliveryResponse> {
    this.assertWritable(org);
    if (!isUUID(id) || !isUUID(deliveryId)) throw new DomainError('NOT_FOUND', 'Delivery not found.');
    const requeued = await this.webhooks.requeueDelivery(
      org.organisationId,
      id,
      deliveryId,
      this.clock.now(),
    );
    if (requeued === 'not-found') throw new DomainError('NOT_FOUND', 'Delivery not found.');
    if (requeued === 'pending') {
      throw new DomainError(
        'CONFLICT',
        'The delivery is still being attempted; replay it once it has finished.',
      );
    }
    await this.producer.enqueue(
      'webhooks.deliver',
      { deliveryId, run: requeued.run },
      { jobId: `${deliveryId}-${requeued.run}` },
    );
    const row = await this.webhooks.findDelivery(org.organisationId, id, deliveryId);
    if (!row) throw new DomainError('NOT_FOUND', 'Delivery not found.');
    return WebhooksMapper.delivery(row);
  }

  private assertWritable(org: OrganisationContext): void {
    assertNotSuspended(org.organisationStatus);
  }
}
