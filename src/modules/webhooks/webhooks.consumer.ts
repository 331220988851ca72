import { Injectable } from '@nestjs/common';
import { Clock } from '../../infra/clock/clock';
import { JobProducer } from '../../infra/queues/job-producer.service';
import { eventAudience, EVERYONE, payloadFor } from '../events/domain/event-audience';
import { EVENT_TYPES } from '../events/domain/event-catalogue';
import { EventConsumer, type EventHandler } from '../events/event-consumer';
import type { EventEnvelope } from '../events/event-envelope.dto';
import { WebhooksRepository, type NewDelivery } from './webhooks.repository';

/**
 * Turns each event into one delivery per subscribed endpoint of the organisations that may see
 * it (in the inbox transaction, so once per event), each body shaped for its organisation and
 * frozen for retries and replays; the jobs are enqueued once those rows are committed.
 */
@Injectable()
@EventConsumer({ consumer: 'webhooks', types: EVENT_TYPES })
export class WebhooksConsumer implements EventHandler {
  constructor(
    private readonly webhooks: WebhooksRepository,
    private readonly producer: JobProducer,
    private readonly clock: Clock,
  ) {}

  async handle(event: EventEnvelope): Promise<void> {
    const audience = eventAudience(event.type, event.payload);
    if (audience.length === 0) return;
    const endpoints = await this.webhooks.systemFindSubscribers(
      audience.includes(EVERYONE) ? null : audience,
      event.type,
    );
    const deliveries: NewDelivery[] = [];
    for (const endpoint of endpoints) {
      const payload = payloadFor(event.type, event.payload, endpoint.organisationId);
      if (payload === null) continue;
      deliveries.push({
        endpointId: endpoint.id,
        organisationId: endpoint.organisationId,
        eventId: event.id,
        eventSeq: BigInt(event.seq),
        eventType: event.type,
        body: JSON.stringify({ ...event, payload }),
      });
    }
    await this.webhooks.systemCreateDeliveries(deliveries, this.clock.now());
  }

  // Job ids make this a no-op for deliveries already queued.
  async afterCommit(event: EventEnvelope): Promise<void> {
    const pending = await this.webhooks.systemPendingDeliveriesOf(event.id);
    if (pending.length === 0) return;
    await this.producer.enqueueMany(
      'webhooks.deliver',
      pending.map((d) => ({ payload: { deliveryId: d.id, run: d.run }, jobId: `${d.id}-${d.run}` })),
    );
  }
}
