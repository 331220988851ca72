import { Injectable, Logger } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { Clock } from '@/infra/clock/clock';
import { LedgerService } from '@/modules/billing/ledger/ledger.service';
import { OutboxService } from '@/modules/events/outbox.service';
import { OrderStateService } from '@/modules/markets/order-state.service';
import { leaseClosed } from './domain/lease-events';
import { LeasesRepository } from './leases.repository';

const BATCH = 200;

export interface LeaseSweepReport {
  failed: number;
  ended: number;
}

/**
 * Time-driven lease transitions as an idempotent sweep(now) (DESIGN, Time): a SCHEDULED lease
 * past its provisioning deadline terminates as PROVIDER_FAILURE with a full refund; an ACTIVE
 * lease at its end is ENDED. Either way its GPUs return to the offer, and the event asks
 * matching to run the market again. A lease whose end was a provider's notice closes as
 * TERMINATED(PROVIDER_NOTICE). Delayed jobs only bring a sweep forward.
 */
@Injectable()
export class LeaseLifecycleService {
  private readonly logger = new Logger(LeaseLifecycleService.name);

  constructor(
    private readonly leases: LeasesRepository,
    private readonly orderState: OrderStateService,
    private readonly ledger: LedgerService,
    private readonly outbox: OutboxService,
    private readonly clock: Clock,
  ) {}

  async sweep(): Promise<LeaseSweepReport> {
    const now = this.clock.now();
    let failed = 0;
    let ended = 0;
    for (let batch = BATCH; batch === BATCH; failed += batch) batch = await this.failProvisioning(now);
    for (let batch = BATCH; batch === BATCH; ended += batch) batch = await this.endDue(now);
    if (failed + ended > 0) this.logger.log(`leases: ${failed} provider failures, ${ended} ended`);
    return { failed, ended };
  }

  @Transactional()
  private async failProvisioning(now: Date): Promise<number> {
    const failed = await this.leases.systemFailProvisioning(now, BATCH);
    await this.orderState.systemReturnGpus(failed, now);
    await this.ledger.refundLeases(
      failed.map((lease) => ({
        leaseId: lease.id,
        buyerOrganisationId: lease.buyerOrganisationId,
        currency: lease.currency,
        pricePerGpuHour: lease.pricePerGpuHour,
        gpus: lease.gpus,
        durationHours: lease.durationHours,
        reason: 'no access by the provisioning deadline',
      })),
    );
    await this.outbox.recordMany(
      failed.map((lease) => leaseClosed(lease, { status: 'TERMINATED', reason: 'PROVIDER_FAILURE' })),
    );
    return failed.length;
  }

  @Transactional()
  private async endDue(now: Date): Promise<number> {
    const ended = await this.leases.systemEndDue(now, BATCH);
    await this.orderState.systemReturnGpus(ended, now);
    await this.outbox.recordMany(ended.map((lease) => leaseClosed(lease)));
    return ended.length;
  }
}
