import type { EventPayloads } from '@/infra/events/event-catalogue';
import { standingCounts } from '@/modules/billing/settlement/domain/token-settlement-rules';
import type { AdminDisputeResponse, AdminUsageFlagResponse } from './dto/period-dispute.dto';
import type {
  DisputeRef,
  LeaseTokensResponse,
  PeriodTokensResponse,
  StatedCounts,
  TokenCountsResponse,
} from './dto/token-usage.dto';
import type { PeriodDisputeRecord, TokenCountsRecord, UsageFlagRecord } from './usage.repository';

const stated = (row: TokenCountsRecord | undefined): StatedCounts | null =>
  row === undefined
    ? null
    : {
        promptTokens: Number(row.promptTokens),
        outputTokens: Number(row.outputTokens),
        at: row.createdAt.toISOString(),
      };

/** Token counts, disputes and flags as the API shows them (docs/USAGE.md). */
export const UsageMapper = {
  disputeRef(dispute: PeriodDisputeRecord | null): DisputeRef | null {
    if (dispute === null) return null;
    return {
      id: dispute.id,
      kind: dispute.kind,
      status: dispute.status,
      holdsSettlement: dispute.holdsSettlement,
      openedAt: dispute.createdAt.toISOString(),
      resolvedAt: dispute.resolvedAt?.toISOString() ?? null,
    };
  },

  counts(row: TokenCountsRecord, dispute: PeriodDisputeRecord | null): TokenCountsResponse {
    return {
      leaseId: row.leaseId,
      period: row.periodIndex,
      periodStart: row.periodStart.toISOString(),
      periodEnd: row.periodEnd.toISOString(),
      source: row.source,
      promptTokens: Number(row.promptTokens),
      outputTokens: Number(row.outputTokens),
      createdAt: row.createdAt.toISOString(),
      dispute: UsageMapper.disputeRef(dispute),
    };
  },

  /**
   * Each period with any counts. The counts that stand: an admin's decision, else the provider's
   * report unless a dispute about it is open. Per-token billing charges from these.
   */
  leaseTokens(
    leaseId: string,
    rows: TokenCountsRecord[],
    disputes: PeriodDisputeRecord[],
  ): LeaseTokensResponse {
    const byPeriod = new Map<number, TokenCountsRecord[]>();
    for (const row of rows) byPeriod.set(row.periodIndex, [...(byPeriod.get(row.periodIndex) ?? []), row]);
    const periods: PeriodTokensResponse[] = [...byPeriod.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, counts]) => {
        const of = (source: TokenCountsRecord['source']): TokenCountsRecord | undefined =>
          counts.find((c) => c.source === source);
        const dispute = disputes.find((d) => d.periodIndex === index && d.kind === 'USAGE') ?? null;
        const decided = of('ADMIN');
        const provider = of('PROVIDER');
        const standingRow = standingCounts(counts, dispute?.status === 'OPEN');
        const first = counts[0]!;
        return {
          period: index,
          periodStart: first.periodStart.toISOString(),
          periodEnd: first.periodEnd.toISOString(),
          provider: stated(provider),
          buyer: stated(of('BUYER')),
          decided: stated(decided),
          standing:
            standingRow === null
              ? null
              : {
                  promptTokens: Number(standingRow.promptTokens),
                  outputTokens: Number(standingRow.outputTokens),
                  source: standingRow.source,
                },
          dispute: UsageMapper.disputeRef(dispute),
        };
      });
    return { leaseId, periods };
  },

  adminDispute(dispute: PeriodDisputeRecord): AdminDisputeResponse {
    return {
      id: dispute.id,
      leaseId: dispute.leaseId,
      buyerOrganisationId: dispute.buyerOrganisationId,
      providerOrganisationId: dispute.providerOrganisationId,
      period: dispute.periodIndex,
      periodStart: dispute.periodStart.toISOString(),
      periodEnd: dispute.periodEnd.toISOString(),
      kind: dispute.kind,
      status: dispute.status,
      evidence: dispute.evidence,
      decision: dispute.decision,
      holdsSettlement: dispute.holdsSettlement,
      openedAt: dispute.createdAt.toISOString(),
      resolvedAt: dispute.resolvedAt?.toISOString() ?? null,
      resolvedByUserId: dispute.resolvedByUserId,
      resolutionNote: dispute.resolutionNote,
    };
  },

  adminFlag(flag: UsageFlagRecord): AdminUsageFlagResponse {
    return {
      id: flag.id,
      leaseId: flag.leaseId,
      period: flag.periodIndex,
      periodStart: flag.periodStart.toISOString(),
      source: flag.source,
      promptTokens: flag.promptTokens.toString(),
      outputTokens: flag.outputTokens.toString(),
      periodGpuSeconds: flag.periodGpuSeconds.toString(),
      neededGpuSeconds: flag.neededGpuSeconds,
      basis: flag.basis,
      createdAt: flag.createdAt.toISOString(),
      reviewedAt: flag.reviewedAt?.toISOString() ?? null,
      reviewedByUserId: flag.reviewedByUserId,
      reviewNote: flag.reviewNote,
    };
  },

  /** The fields `dispute.opened` and `dispute.resolved` share. */
  disputeEvent(dispute: PeriodDisputeRecord): EventPayloads['dispute.opened'] {
    return {
      disputeId: dispute.id,
      leaseId: dispute.leaseId,
      buyerOrganisationId: dispute.buyerOrganisationId,
      providerOrganisationId: dispute.providerOrganisationId,
      kind: dispute.kind,
      period: dispute.periodIndex,
      periodStart: dispute.periodStart.toISOString(),
      periodEnd: dispute.periodEnd.toISOString(),
      holdsSettlement: dispute.holdsSettlement,
      usage:
        dispute.evidence.kind === 'USAGE'
          ? {
              providerPromptTokens: dispute.evidence.provider.promptTokens,
              providerOutputTokens: dispute.evidence.provider.outputTokens,
              buyerPromptTokens: dispute.evidence.buyer.promptTokens,
              buyerOutputTokens: dispute.evidence.buyer.outputTokens,
            }
          : null,
      slo:
        dispute.evidence.kind === 'SLO'
          ? {
              objectivesMissed: [...dispute.evidence.objectivesMissed],
              providerAvailabilityBps: dispute.evidence.provider.availabilityBps,
              buyerAvailabilityBps: dispute.evidence.buyer.availabilityBps,
            }
          : null,
    };
  },
};
