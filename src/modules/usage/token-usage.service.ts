import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { isUUID } from 'class-validator';
import type { OrganisationContext } from '@/infra/auth/principal';
import { OrganisationWriteGateService } from '@/infra/auth/write-gate/organisation-write-gate.service';
import { Clock } from '@/infra/clock/clock';
import { AppConfig } from '@/infra/config/app-config';
import { DomainError } from '@/shared/domain-error';
import { OutboxService } from '@/modules/events/outbox.service';
import { InferenceCatalogueService } from '@/modules/inference/inference-catalogue.service';
import type { UsageEvidence } from './domain/period-disputes';
import {
  CAPACITY_HEADROOM,
  countsAgree,
  neededGpuSeconds,
  periodForCounts,
  periodGpuSeconds,
  TOLERANCE_BPS,
  TOLERANCE_TOKENS,
  withinCapacity,
  type TokenCounts,
} from './domain/token-usage-rules';
import type { LeaseTokensResponse, StateTokenCountsDto, TokenCountsResponse } from './dto/token-usage.dto';
import { UsageMapper } from './usage.mapper';
import {
  UsageRepository,
  type LockedLease,
  type NewUsageFlag,
  type TokenCountsRecord,
} from './usage.repository';

const leaseNotFound = (): DomainError => new DomainError('NOT_FOUND', 'Lease not found.');

type Outcome =
  { kind: 'recorded'; response: TokenCountsResponse } | { kind: 'over-capacity'; flag: NewUsageFlag };

/**
 * Token counts per lease period, stated by each side (docs/USAGE.md): the provider reports what
 * it served, the buyer what it counted. A statement is final, in period order, within the
 * period's grace, and no more than the leased GPUs could serve; when both sides' counts differ
 * beyond the tolerance a USAGE dispute opens and holds the period's settlement.
 */
@Injectable()
export class TokenUsageService {
  constructor(
    private readonly usage: UsageRepository,
    private readonly inference: InferenceCatalogueService,
    private readonly outbox: OutboxService,
    private readonly writeGate: OrganisationWriteGateService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  /**
   * States the caller's side's counts of one period. Counts beyond what the GPUs could serve are
   * refused (422 USAGE_ABOVE_CAPACITY) and kept as a flag for an admin, and nothing else is
   * written: the flag commits on its own, after the refused statement rolled back.
   */
  async stateCounts(
    org: OrganisationContext,
    id: string,
    input: StateTokenCountsDto,
  ): Promise<TokenCountsResponse> {
    const outcome = await this.record(org, id, input);
    if (outcome.kind === 'recorded') return outcome.response;
    await this.flag(outcome.flag);
    const { flag } = outcome;
    throw new DomainError(
      'USAGE_ABOVE_CAPACITY',
      `The counts need ${Math.ceil(flag.neededGpuSeconds)} GPU-seconds at the most favourable ` +
        `${flag.basis.toLowerCase()} profile; the period had ${flag.periodGpuSeconds} (plus ${Math.round((CAPACITY_HEADROOM - 1) * 100)}%). ` +
        'The report is refused and flagged for review.',
      {
        reason: 'USAGE_ABOVE_CAPACITY',
        basis: flag.basis,
        periodGpuSeconds: Number(flag.periodGpuSeconds),
        neededGpuSeconds: Math.ceil(flag.neededGpuSeconds),
        headroom: CAPACITY_HEADROOM,
      },
    );
  }

  /** Every period of the lease with counts, as either side sees it; another's lease is a 404. */
  async leaseTokens(org: OrganisationContext, id: string): Promise<LeaseTokensResponse> {
    if (!isUUID(id) || !(await this.usage.isParty(org.organisationId, org.organisationRole, id))) {
      throw leaseNotFound();
    }
    const [rows, disputes] = await Promise.all([
      this.usage.findLeaseCounts(id),
      this.usage.findLeaseDisputes(id),
    ]);
    return UsageMapper.leaseTokens(id, rows, disputes);
  }

  @Transactional()
  private async record(org: OrganisationContext, id: string, input: StateTokenCountsDto): Promise<Outcome> {
    await this.writeGate.assertMayWrite(org.organisationId);
    const lease = isUUID(id)
      ? await this.usage.lockLease(org.organisationId, org.organisationRole, id)
      : null;
    if (!lease) throw leaseNotFound();
    const source = org.organisationRole === 'PROVIDER' ? 'PROVIDER' : 'BUYER';
    const counts: TokenCounts = {
      promptTokens: BigInt(input.promptTokens),
      outputTokens: BigInt(input.outputTokens),
    };
    const periodStart = new Date(input.periodStart);

    // A statement is final: the same counts again are the same answer, whenever they come.
    const existing = await this.usage.findCounts(id, source, periodStart);
    if (existing) {
      if (existing.promptTokens !== counts.promptTokens || existing.outputTokens !== counts.outputTokens) {
        throw new DomainError(
          'CONFLICT',
          'This period was stated with different counts; a statement is final.',
          {
            reason: 'USAGE_ALREADY_REPORTED',
          },
        );
      }
      return {
        kind: 'recorded',
        response: UsageMapper.counts(
          existing,
          await this.usage.findDispute(id, existing.periodIndex, 'USAGE'),
        ),
      };
    }

    const now = this.clock.now();
    const period = periodForCounts(
      lease,
      periodStart,
      now,
      this.config.env.SETTLEMENT_GRACE_MINUTES * 60_000,
    );
    const latest = await this.usage.latestPeriodIndex(id, source);
    if (latest !== null && latest > period.index) {
      throw new DomainError(
        'CONFLICT',
        `Counts are stated in period order; period ${latest} has been already.`,
        {
          reason: 'USAGE_OUT_OF_ORDER',
          latestPeriod: latest,
        },
      );
    }
    const gpuSeconds = periodGpuSeconds(lease, period);
    const capacity = await this.inference.servingCapacity(lease.market, lease.offerId, lease.modelId);
    if (!withinCapacity(counts, capacity, gpuSeconds)) {
      return {
        kind: 'over-capacity',
        flag: {
          leaseId: id,
          periodIndex: period.index,
          periodStart: period.startsAt,
          source,
          ...counts,
          periodGpuSeconds: gpuSeconds,
          neededGpuSeconds: neededGpuSeconds(counts, capacity) ?? 0,
          basis: capacity.basis,
          createdAt: now,
        },
      };
    }

    const row = await this.usage.createCounts({
      leaseId: id,
      periodIndex: period.index,
      periodStart: period.startsAt,
      periodEnd: period.endsAt,
      source,
      ...counts,
      createdAt: now,
    });
    const other = await this.usage.findCounts(
      id,
      source === 'PROVIDER' ? 'BUYER' : 'PROVIDER',
      period.startsAt,
    );
    let dispute = null;
    if (other !== null) {
      const [provider, buyer] = source === 'PROVIDER' ? [row, other] : [other, row];
      if (countsAgree(provider, buyer)) {
        // Both sides stand behind the lower of each figure: a period of delivered usage.
        await this.confirmDelivery(lease, Number(gpuSeconds), {
          promptTokens: min(provider.promptTokens, buyer.promptTokens),
          outputTokens: min(provider.outputTokens, buyer.outputTokens),
        });
      } else {
        dispute = await this.usage.openDispute({
          leaseId: id,
          periodIndex: period.index,
          periodStart: period.startsAt,
          periodEnd: period.endsAt,
          kind: 'USAGE',
          evidence: usageEvidence(provider, buyer),
          // Under the lease lock: the settlement job cannot have moved past this period meanwhile.
          holdsSettlement: period.index >= lease.settledPeriods,
          at: now,
        });
        await this.outbox.record({
          type: 'dispute.opened',
          aggregateType: 'lease',
          aggregateId: id,
          payload: UsageMapper.disputeEvent(dispute),
        });
      }
    }
    return { kind: 'recorded', response: UsageMapper.counts(row, dispute) };
  }

  /** A period of an inference lease both sides agreed on confirms its profile's delivery. */
  private async confirmDelivery(lease: LockedLease, gpuSeconds: number, counts: TokenCounts): Promise<void> {
    if (lease.modelId === null) return;
    await this.inference.confirmDelivery({
      offerId: lease.offerId,
      modelId: lease.modelId,
      counts,
      gpuSeconds,
    });
  }

  @Transactional()
  private async flag(flag: NewUsageFlag): Promise<void> {
    await this.usage.createFlag(flag);
  }
}

function usageEvidence(provider: TokenCountsRecord, buyer: TokenCountsRecord): UsageEvidence {
  return {
    kind: 'USAGE',
    provider: {
      promptTokens: provider.promptTokens.toString(),
      outputTokens: provider.outputTokens.toString(),
    },
    buyer: { promptTokens: buyer.promptTokens.toString(), outputTokens: buyer.outputTokens.toString() },
    toleranceTokens: TOLERANCE_TOKENS.toString(),
    toleranceBps: Number(TOLERANCE_BPS),
  };
}

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
