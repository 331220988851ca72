import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '@/infra/config/app-config';
import { DomainError } from '@/shared/domain-error';
import type { OrganisationContext } from '@/infra/auth/principal';
import { EVERYONE } from './domain/event-audience';
import { cursorFrame, eventFrame, parseCursor } from './domain/sse-frames';
import { LiveEventsBus } from './live-events.bus';
import { LiveStream, type SseSink } from './live-stream';
import { OutboxRepository } from './outbox.repository';
import { StreamSlots } from './stream-slots';

const RECONNECT_DELAY_MS = 2_000;

interface StreamStart {
  position: bigint;
  /** The id the client is told it is at, so a reconnect before the first event resumes here. */
  id: string;
  /** The client's cursor is unknown (pruned, or never one of its events). */
  reset: boolean;
}

/**
 * An organisation's events as a live stream (docs/EVENTS.md, "Live updates"). Streams resume
 * by stream position, the order in which events were committed as published, which the client
 * names by the `seq` of the last event it received.
 */
@Injectable()
export class LiveEventsService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(LiveEventsService.name);
  private readonly streams = new Set<LiveStream>();
  private listening: Promise<unknown> | undefined;
  private stopping = false;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly bus: LiveEventsBus,
    private readonly slots: StreamSlots,
    private readonly config: AppConfig,
  ) {}

  /**
   * Admits a stream (cursor valid, under the organisation's cap), then opens the response and
   * streams until the client goes away or the process stops. Errors before `open` are ordinary
   * HTTP errors.
   */
  async stream(
    org: OrganisationContext,
    lastEventId: string | undefined,
    open: () => SseSink,
  ): Promise<void> {
    if (this.stopping) {
      throw new DomainError('SERVICE_UNAVAILABLE', 'This server is shutting down; reconnect.', {
        retryAfterSeconds: 1,
      });
    }
    const cursor = parseCursor(lastEventId);
    if (cursor.kind === 'invalid') {
      throw new DomainError(
        'VALIDATION_FAILED',
        'Last-Event-ID must be the id of an event this stream sent.',
        {
          field: 'Last-Event-ID',
        },
      );
    }
    this.listening ??= this.bus.listen((audience) => this.wake(audience));
    await this.listening;
    const slot = await this.slots.acquire(org.organisationId);
    if (slot === null) {
      const cap = this.config.env.SSE_MAX_STREAMS_PER_ORG;
      throw new DomainError(
        'RATE_LIMITED',
        `At most ${cap} live streams per organisation may be open at once.`,
        {
          retryAfterSeconds: Math.ceil((this.config.env.SSE_HEARTBEAT_MS * 3) / 1000),
        },
      );
    }
    let start: StreamStart;
    try {
      start = await this.startOf(org.organisationId, cursor.kind === 'seq' ? cursor.seq : undefined);
    } catch (error) {
      await slot.release().catch(() => undefined);
      throw error;
    }
    const sink = open();
    sink.write(cursorFrame(start.id, RECONNECT_DELAY_MS));
    if (start.reset) {
      const data = JSON.stringify({ reason: 'UNKNOWN_CURSOR', lastEventId: lastEventId?.trim() ?? null });
      sink.write(eventFrame(start.id, 'stream.reset', data));
    }
    const stream = new LiveStream(org.organisationId, start.position, sink, slot, this.outbox, this.logger);
    this.streams.add(stream);
    stream.start(this.config.env.SSE_HEARTBEAT_MS, () => this.streams.delete(stream));
  }

  /** Open streams in this process; for tests and metrics. */
  openStreams(): number {
    return this.streams.size;
  }

  // Before the HTTP server closes: it waits for open responses, and a stream never ends by itself.
  beforeApplicationShutdown(): void {
    this.stopping = true;
    for (const stream of this.streams) stream.close();
  }

  private wake(audience: readonly string[]): void {
    const everyone = audience.includes(EVERYONE);
    for (const stream of this.streams) {
      if (everyone || audience.includes(stream.organisationId)) stream.wake();
    }
  }

  private async startOf(organisationId: string, seq: bigint | undefined): Promise<StreamStart> {
    if (seq === 0n) return { position: 0n, id: '0', reset: false };
    if (seq !== undefined) {
      const cursor = await this.outbox.findStreamCursor(organisationId, seq);
      if (cursor) return { position: cursor.position, id: cursor.seq.toString(), reset: false };
    }
    // No cursor (or an unknown one): from now on. The latest event the organisation may see
    // names "now" as an id it can resume from; events after it that it may not see are skipped
    // either way.
    const latest = await this.outbox.findLatestStreamCursor(organisationId);
    return {
      position: latest?.position ?? 0n,
      id: latest?.seq.toString() ?? '0',
      reset: seq !== undefined,
    };
  }
}
