import { Injectable } from '@nestjs/common';
import { RedisService } from '@/infra/redis/redis.service';
import { generateOpaqueToken, hashOpaqueToken, isOpaqueTokenFormat } from '../domain/opaque-token';
import type { Principal } from '@/infra/auth/principal';

/** How long a stream ticket may wait to be used (docs/BROWSER.md). */
export const STREAM_TICKET_TTL_SECONDS = 60;

/** Who a ticket was issued to: the credential is checked again when the ticket is used. */
export type StreamTicketHolder =
  | { kind: 'api_key'; organisationId: string; apiKeyId: string }
  | { kind: 'user'; organisationId: string; userId: string };

/**
 * Single-use tickets that open `GET /v1/events/stream` where no Authorization header can be
 * sent (a browser's EventSource). Kept in Redis, so any API process accepts them, under the
 * ticket's SHA-256: the ticket itself is never stored.
 */
@Injectable()
export class StreamTickets {
  constructor(private readonly redis: RedisService) {}

  async issue(principal: Principal): Promise<string> {
    const ticket = generateOpaqueToken('st');
    const holder: StreamTicketHolder =
      principal.kind === 'api_key'
        ? { kind: 'api_key', organisationId: principal.organisationId, apiKeyId: principal.apiKeyId }
        : { kind: 'user', organisationId: principal.organisationId, userId: principal.userId };
    await this.redis.client.set(this.keyOf(ticket), JSON.stringify(holder), 'EX', STREAM_TICKET_TTL_SECONDS);
    return ticket;
  }

  /** The holder of an unexpired, unused ticket, which is used up by this call; else null. */
  async redeem(ticket: string): Promise<StreamTicketHolder | null> {
    if (!isOpaqueTokenFormat('st', ticket)) return null;
    // GETDEL: of two requests racing with one ticket, only one gets the holder.
    const stored = await this.redis.client.getdel(this.keyOf(ticket));
    return stored === null ? null : (JSON.parse(stored) as StreamTicketHolder);
  }

  private keyOf(ticket: string): string {
    return this.redis.key('stream-ticket', hashOpaqueToken(ticket).toString('hex'));
  }
}
