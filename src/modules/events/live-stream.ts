import type { Logger } from '@nestjs/common';
import { payloadFor } from './domain/event-audience';
import { commentFrame, eventFrame } from './domain/sse-frames';
import type { OutboxRepository } from './outbox.repository';
import type { StreamSlot } from './stream-slots';

const BATCH = 200;

/** Where a stream's bytes go; the HTTP side implements it (sse-reply.ts). */
export interface SseSink {
  /** False when the client is not keeping up: wait for drained() before writing more. */
  write(chunk: string): boolean;
  drained(): Promise<void>;
  onClose(listener: () => void): void;
  end(): void;
}

/**
 * One organisation's open stream. Replay and live are the same loop: read the organisation's
 * events after the last position sent, in position (commit) order, send them, repeat while a
 * wake-up came in meanwhile. There is no hand-over from replay to live where an event could
 * slip through or be sent twice.
 */
export class LiveStream {
  private reading: Promise<void> | undefined;
  private readAgain = false;
  private closed = false;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    readonly organisationId: string,
    private position: bigint,
    private readonly sink: SseSink,
    private readonly slot: StreamSlot,
    private readonly outbox: OutboxRepository,
    private readonly logger: Logger,
  ) {}

  start(heartbeatMs: number, onClosed: () => void): void {
    this.sink.onClose(() => {
      if (this.closed) return;
      this.closed = true;
      clearInterval(this.heartbeat);
      void this.slot.release().catch(() => undefined);
      onClosed();
    });
    this.heartbeat = setInterval(() => this.beat(), heartbeatMs);
    this.wake();
  }

  /** Reads again now, or right after the read in progress: no wake-up is lost. */
  wake(): void {
    if (this.closed) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = this.catchUp().finally(() => {
      this.reading = undefined;
    });
  }

  close(): void {
    this.sink.end();
  }

  private beat(): void {
    if (this.closed) return;
    this.sink.write(commentFrame('heartbeat'));
    void this.slot.renew().catch(() => undefined);
    // The backstop for a lost announcement (a relay that died between commit and publish).
    this.wake();
  }

  private async catchUp(): Promise<void> {
    try {
      do {
        this.readAgain = false;
        let events = BATCH;
        while (events === BATCH && !this.closed) {
          const batch = await this.outbox.listStreamEvents(this.organisationId, this.position, BATCH);
          events = batch.length;
          for (const { envelope, position } of batch) {
            const payload = payloadFor(envelope.type, envelope.payload, this.organisationId);
            this.position = position;
            // Cannot happen for rows read by audience; the check keeps a shaping bug from leaking.
            if (payload === null) continue;
            const data = JSON.stringify({ ...envelope, payload });
            if (!this.sink.write(eventFrame(envelope.seq, envelope.type, data))) await this.sink.drained();
            if (this.closed) return;
          }
        }
      } while (this.readAgain && !this.closed);
    } catch (error) {
      this.logger.warn(
        `live stream read failed: ${(error as Error).message}; retrying on the next heartbeat`,
      );
    }
  }
}
