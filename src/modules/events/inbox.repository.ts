import { Injectable } from '@nestjs/common';
import { Tx } from '@/infra/prisma/tx';

@Injectable()
export class InboxRepository {
  constructor(private readonly txHost: Tx) {}

  /** Records (consumer, event); false when it was already recorded. */
  async systemRecord(consumer: string, eventId: string, at: Date): Promise<boolean> {
    const tx = this.txHost.tx;
    const inserted = await tx.$executeRaw`
      INSERT INTO inbox_events (consumer, event_id, processed_at)
      VALUES (${consumer}, ${eventId}::uuid, ${at})
      ON CONFLICT (consumer, event_id) DO NOTHING`;
    return inserted === 1;
  }

  /** Deletes up to `batch` inbox rows processed before `cutoff`; returns how many. */
  async systemPrune(cutoff: Date, batch: number): Promise<number> {
    return this.txHost.tx.$executeRaw`
      DELETE FROM inbox_events WHERE (consumer, event_id) IN (
        SELECT consumer, event_id FROM inbox_events WHERE processed_at < ${cutoff} LIMIT ${batch})`;
  }
}
