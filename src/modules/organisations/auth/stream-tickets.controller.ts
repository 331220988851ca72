import { Controller, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { StreamTicketResponse } from '../dto/stream-ticket.dto';
import { AllowedWhileSuspended, CurrentPrincipal, RequireScope } from '@/infra/auth/auth.decorators';
import type { Principal } from '@/infra/auth/principal';
import { STREAM_TICKET_TTL_SECONDS, StreamTickets } from './stream-tickets';

/** Tickets for the live stream; the stream itself is served by the events module. */
@ApiTags('events')
@ApiBearerAuth('api-key')
@ApiBearerAuth('access-token')
@Controller('v1/events')
export class StreamTicketsController {
  constructor(private readonly tickets: StreamTickets) {}

  @Post('stream-tickets')
  @RequireScope('read')
  // Opening the stream is a read, which a suspended organisation may still do.
  @AllowedWhileSuspended()
  @ApiOperation({
    summary: 'A ticket to open the live stream from a browser',
    description:
      'For clients that cannot send an Authorization header, like a browser’s `EventSource`: open ' +
      '`GET /v1/events/stream?ticket=<ticket>` within `expiresIn` seconds. A ticket opens one stream once, ' +
      'as the caller that asked for it (same organisation, key or person), checked again when it is used. ' +
      'For every reconnect ask for a new one, and pass the last event id as `lastEventId` (docs/BROWSER.md).',
  })
  @ApiCreatedResponse({ type: StreamTicketResponse })
  @ApiErrors(401, 429, { 403: 'The key lacks the `read` scope' })
  async issue(@CurrentPrincipal() principal: Principal): Promise<StreamTicketResponse> {
    return { ticket: await this.tickets.issue(principal), expiresIn: STREAM_TICKET_TTL_SECONDS };
  }
}
