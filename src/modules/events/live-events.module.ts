import { Module } from '@nestjs/common';
import { EventsModule } from './events.module';
import { LiveEventsController } from './live-events.controller';
import { LiveEventsService } from './live-events.service';
import { OutboxRepository } from './outbox.repository';
import { StreamSlots } from './stream-slots';

/** The API side of live updates: GET /v1/events/stream. */
@Module({
  imports: [EventsModule],
  controllers: [LiveEventsController],
  providers: [OutboxRepository, LiveEventsService, StreamSlots],
})
export class LiveEventsModule {}
