import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { dispatchJob, type JobHandlers } from '@/infra/queues/job-dispatch';
import { QueueProcessor } from '@/infra/queues/queue-processor.base';
import { WebhookDeliveryService } from './webhook-delivery.service';
import { WebhookDispatcher } from './webhook-dispatcher.service';
import { WebhookMaintenance } from './webhook-maintenance.service';

/**
 * Sends webhook deliveries (a failed attempt throws so BullMQ retries it with WEBHOOK_BACKOFF),
 * and runs the dispatcher's scheduled pass, the sweep and the prune.
 */
@Injectable()
export class WebhooksProcessor extends QueueProcessor {
  private readonly handlers: JobHandlers<'webhooks'> = {
    'webhooks.deliver': async ({ deliveryId, run }, job) => {
      const tries = job.attemptsMade + 1;
      const result = await this.deliveries.attemptDelivery(deliveryId, run, tries, job.opts.attempts ?? 1);
      if (result === 'retry') throw new Error(`webhook delivery ${deliveryId} failed; retrying`);
    },
    'webhooks.dispatch': async () => {
      await this.dispatcher.dispatchPending();
    },
    'webhooks.sweep': async () => {
      await this.maintenance.sweepStranded();
    },
    'webhooks.prune': async () => {
      await this.maintenance.pruneDeliveries();
    },
  };

  constructor(
    private readonly deliveries: WebhookDeliveryService,
    private readonly dispatcher: WebhookDispatcher,
    private readonly maintenance: WebhookMaintenance,
  ) {
    super();
  }

  async process(job: Job): Promise<void> {
    await dispatchJob(this.handlers, job);
  }
}
