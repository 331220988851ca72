import { Module } from '@nestjs/common';
import { LiveEventsBus } from './live-events.bus';
import { OutboxRepository } from './outbox.repository';
import { OutboxService } from './outbox.service';

/**
 * What producers need: recording events in their transaction, and the outbox backlog; and the
 * live fan-out the relay announces on and streams listen to.
 */
@Module({
  providers: [OutboxRepository, OutboxService, LiveEventsBus],
  exports: [OutboxService, LiveEventsBus],
})
export class EventsModule {}
