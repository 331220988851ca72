import { Controller, Get, Headers, Query, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { EVENT_SCHEMA_REF } from '@/infra/events/event-openapi';
import { ApiErrors } from '@/infra/http/api-errors';
import { CurrentPrincipal, RequireScope, StreamTicketAccepted } from '@/infra/auth/auth.decorators';
import type { Principal } from '@/infra/auth/principal';
import { StreamQuery } from './dto/stream-query.dto';
import { LiveEventsService } from './live-events.service';
import { openSseReply } from './sse-reply';

@ApiTags('events')
@ApiBearerAuth('api-key')
@ApiBearerAuth('access-token')
@ApiErrors({
  401: 'Missing, invalid or revoked credentials, or a stream ticket that expired or was used',
  403: 'The key lacks the `read` scope',
})
@Controller('v1/events')
export class LiveEventsController {
  constructor(private readonly live: LiveEventsService) {}

  @Get('stream')
  @RequireScope('read')
  @StreamTicketAccepted()
  @ApiSecurity('stream-ticket')
  @ApiOperation({
    summary: 'Your organisation’s events, live (Server-Sent Events)',
    description:
      'A `text/event-stream` of the events your organisation may see (docs/EVENTS.md, "Live updates"): ' +
      '`id` is the event’s `seq`, `event` its type, `data` the event envelope as JSON. Send the last id you ' +
      'received as `Last-Event-ID` (browsers do on reconnect) to receive exactly what you missed, in order, ' +
      'then live events. Without it the stream starts now. A comment line comes every 15 s. An unknown id ' +
      '(older than the 7-day retention) answers a `stream.reset` event, then live events. Browsers, whose ' +
      '`EventSource` cannot send the Authorization header, open it with `?ticket=` from ' +
      '`POST /v1/events/stream-tickets` instead (docs/BROWSER.md). The response schema is that of each ' +
      'event’s `data:` line, the envelope of its type (`bid.placed`: `BidPlacedEvent`, its `payload` ' +
      '`BidPlacedEventPayload`); a `stream.reset` event’s data is `{"reason":"UNKNOWN_CURSOR","lastEventId":…}`.',
  })
  @ApiProduces('text/event-stream')
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'Resume after this event id (`0`: every retained event).',
  })
  @ApiOkResponse({
    description: 'The stream; it stays open until you close it or the server restarts',
    content: {
      'text/event-stream': {
        schema: { $ref: EVENT_SCHEMA_REF },
        example:
          'retry: 2000\nid: 1041\n\nid: 1042\nevent: bid.placed\ndata: {"id":"0193a0f6-…","seq":"1042",' +
          '"type":"bid.placed","aggregateType":"bid","aggregateId":"…","occurredAt":"2026-12-01T10:00:00.000Z",' +
          '"payload":{}}\n\n: heartbeat\n\n',
      },
    },
  })
  @ApiErrors({
    400: 'Last-Event-ID is not an event id',
    429: 'Your organisation has its maximum of open streams, or the rate limit is exceeded; see Retry-After',
    503: 'This server is shutting down; reconnect',
  })
  async streamEvents(
    @CurrentPrincipal() principal: Principal,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Query() query: StreamQuery,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.live.stream(principal, lastEventId ?? query.lastEventId, () => openSseReply(reply));
  }
}
