import { Injectable } from '@nestjs/common';
import { Propagation, Transactional } from '@nestjs-cls/transactional';
import { Clock } from '@/infra/clock/clock';
import { InboxRepository } from './inbox.repository';

/**
 * Exactly-once effects over an at-least-once queue: the inbox row and the consumer's effect
 * commit together, so a repeated delivery (retry, reconciler, re-publication after the job
 * was removed by retention) finds the row and does nothing.
 */
@Injectable()
export class InboxService {
  constructor(
    private readonly inbox: InboxRepository,
    private readonly clock: Clock,
  ) {}

  @Transactional(Propagation.RequiresNew)
  async consumeOnce(consumer: string, eventId: string, effect: () => Promise<void>): Promise<boolean> {
    const first = await this.inbox.systemRecord(consumer, eventId, this.clock.now());
    if (!first) return false;
    await effect();
    return true;
  }
}
