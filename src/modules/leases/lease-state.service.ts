import { Injectable } from '@nestjs/common';
import type { OutboxInsertion } from '@/modules/events/outbox.service';
import { LeaseStateRepository, type CreatedLease, type NewLease } from './lease-state.repository';

export type { CreatedLease, NewLease } from './lease-state.repository';

/**
 * How another module creates leases (docs/ARCHITECTURE.md "State machine homes"): matching's
 * commit, in its transaction. Every later move of a lease is the leases module's own.
 */
@Injectable()
export class LeaseStateService {
  constructor(private readonly leases: LeaseStateRepository) {}

  /** Create: one SCHEDULED lease per fill, stamped with the epoch of the commit, with the commit's events. */
  systemCreateLeases(
    marketId: string,
    epoch: bigint,
    ids: readonly string[],
    leases: readonly NewLease[],
    now: Date,
    events: OutboxInsertion,
  ): Promise<CreatedLease[]> {
    return this.leases.systemCreateLeases(marketId, epoch, ids, leases, now, events);
  }
}
