import { DomainError } from '@/shared/domain-error';
import { periodsOf, type Period } from '@/shared/periods';
import { reservedGpuSeconds } from '@/modules/billing/settlement/domain/settlement-rules';

export interface LeaseForUsage {
  status: 'SCHEDULED' | 'ACTIVE' | 'ENDED' | 'TERMINATED';
  billingMode: 'RESERVED' | 'PAY_PER_USE';
  gpus: number;
  periodSeconds: number;
  startedAt: Date | null;
  /** ACTIVE: its planned end; closed: when it ended. */
  endAt: Date | null;
  settledPeriods: number;
}

/**
 * Checks a usage report against its lease and returns the period it is for. A report is for a
 * pay-per-use lease (reserved leases are billed on what they reserve), for one whole period that
 * has ended, not above GPUs x the period's length, and arrives before that period settles (at
 * its end + grace): later, the period's money has moved and the report is refused (409).
 */
export function periodForReport(
  lease: LeaseForUsage,
  report: { periodStart: Date; gpuSeconds: bigint },
  now: Date,
  graceMs: number,
): Period {
  if (lease.billingMode !== 'PAY_PER_USE') {
    throw new DomainError(
      'CONFLICT',
      'Reserved leases are billed on reserved GPU-seconds and take no usage reports.',
    );
  }
  if (lease.startedAt === null || lease.endAt === null) {
    throw new DomainError('CONFLICT', 'The lease has not started; there is no usage to report.', {
      status: lease.status,
    });
  }
  const period = periodsOf({
    startedAt: lease.startedAt,
    endAt: lease.endAt,
    periodSeconds: lease.periodSeconds,
  }).find((p) => p.startsAt.getTime() === report.periodStart.getTime());
  if (period === undefined) {
    throw new DomainError(
      'VALIDATION_FAILED',
      "periodStart is not the start of one of the lease's billing periods.",
      {
        field: 'periodStart',
      },
    );
  }
  if (period.endsAt.getTime() > now.getTime()) {
    throw new DomainError(
      'VALIDATION_FAILED',
      'The period has not ended yet; report its usage once it has.',
      {
        field: 'periodStart',
      },
    );
  }
  const reserved = reservedGpuSeconds(lease, period);
  if (report.gpuSeconds > reserved) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `gpuSeconds is above GPUs x the period's length (${reserved}).`,
      {
        field: 'gpuSeconds',
      },
    );
  }
  if (period.index < lease.settledPeriods || now.getTime() >= period.endsAt.getTime() + graceMs) {
    throw new DomainError(
      'CONFLICT',
      'The period has settled (or its grace for reports is over); the report is too late.',
      {
        reason: 'PERIOD_SETTLED',
      },
    );
  }
  return period;
}
