import { Module } from '@nestjs/common';
import { OutboxRepository } from './outbox.repository';
import { OutboxService } from './outbox.service';

/** What producers need: recording events in their transaction, and the outbox backlog. */
@Module({
  providers: [OutboxRepository, OutboxService],
  exports: [OutboxService, OutboxRepository],
})
export class EventsModule {}
