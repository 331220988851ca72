import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { dispatchJob, type JobHandlers } from '@/infra/queues/job-dispatch';
import { QueueProcessor } from '@/infra/queues/queue-processor.base';
import { EventConsumersRegistry } from './event-consumers.registry';
import { typedEnvelope, type EventEnvelope } from '@/infra/events/event-envelope.dto';
import { InboxService } from './inbox.service';

/** Delivers each outbox event to every consumer of its type, once per consumer. */
@Injectable()
export class EventsProcessor extends QueueProcessor {
  private readonly handlers: JobHandlers<'events'> = {
    'events.deliver': (event) => this.deliver(event),
  };

  constructor(
    private readonly consumers: EventConsumersRegistry,
    private readonly inbox: InboxService,
  ) {
    super();
  }

  async process(job: Job): Promise<void> {
    await dispatchJob(this.handlers, job);
  }

  private async deliver(envelope: EventEnvelope): Promise<void> {
    const event = typedEnvelope(envelope);
    for (const { consumer, handler } of this.consumers.for(event.type)) {
      await this.inbox.consumeOnce(consumer, event.id, () => handler.handle(event));
    }
  }
}
