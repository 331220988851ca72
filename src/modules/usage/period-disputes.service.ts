import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { isUUID } from 'class-validator';
import { AuditService } from '@/infra/audit/audit.service';
import type { JsonObject } from '@/infra/events/event-catalogue';
import { Clock } from '@/infra/clock/clock';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { DomainError } from '@/shared/domain-error';
import { OutboxService } from '@/modules/events/outbox.service';
import { InferenceCatalogueService } from '@/modules/inference/inference-catalogue.service';
import { periodGpuSeconds } from './domain/token-usage-rules';
import type { DisputeDecision, DisputeEvidence, PeriodDisputeKind } from './domain/period-disputes';
import type {
  AdminDisputePageResponse,
  AdminDisputeResponse,
  AdminListDisputesQuery,
  AdminListUsageFlagsQuery,
  AdminNoteDto,
  AdminUsageFlagPageResponse,
  AdminUsageFlagResponse,
  ResolveDisputeDto,
} from './dto/period-dispute.dto';
import { UsageMapper } from './usage.mapper';
import { UsageRepository, type PeriodDisputeRecord } from './usage.repository';

const disputeNotFound = (): DomainError => new DomainError('NOT_FOUND', 'Dispute not found.');
const flagNotFound = (): DomainError => new DomainError('NOT_FOUND', 'Usage flag not found.');

/**
 * Platform admins' side of usage checks (docs/USAGE.md): period disputes decided by an audited
 * decision, after which a held period settles; usage flags reviewed, audited too.
 */
@Injectable()
export class PeriodDisputesService {
  constructor(
    private readonly usage: UsageRepository,
    private readonly outbox: OutboxService,
    private readonly audit: AuditService,
    private readonly producer: JobProducer,
    private readonly cursors: CursorCodec,
    private readonly clock: Clock,
    private readonly inference: InferenceCatalogueService,
  ) {}

  async listDisputes(query: AdminListDisputesQuery): Promise<AdminDisputePageResponse> {
    const limit = this.cursors.limit(query.limit);
    const rows = await this.usage.adminListDisputes(
      query.status ?? 'OPEN',
      limit,
      this.cursors.decode(query.cursor),
    );
    return this.cursors.page(rows, limit, (row) => UsageMapper.adminDispute(row));
  }

  async getDispute(id: string): Promise<AdminDisputeResponse> {
    const dispute = isUUID(id) ? await this.usage.adminFindDispute(id) : null;
    if (!dispute) throw disputeNotFound();
    return UsageMapper.adminDispute(dispute);
  }

  /**
   * Decides a dispute: the counts that stand are recorded (source ADMIN), the decision audited and
   * `dispute.resolved` written; then the lease's settlement runs, so a held period settles now,
   * once (settlement's own keys make a repeat a no-op). The same decision again is answered as it
   * stands, unaudited; a different one is a 409.
   */
  async resolveDispute(
    adminUserId: string,
    id: string,
    input: ResolveDisputeDto,
  ): Promise<AdminDisputeResponse> {
    const { dispute, decided } = await this.decide(adminUserId, id, input);
    // After the commit, so the job sees the dispute resolved. Lost (a crash in between): the
    // sweep finds the period due, since it no longer skips it.
    if (decided && dispute.holdsSettlement) {
      await this.producer.enqueue(
        'settlement.settle-lease',
        { leaseId: dispute.leaseId },
        { jobId: `settle-${dispute.leaseId}-dispute-${dispute.id}` },
      );
    }
    return UsageMapper.adminDispute(dispute);
  }

  /**
   * The decision itself, in the caller's transaction if there is one (a failure report's
   * decision decides its SLO dispute so, docs/SLO.md "A failure report decided"); the caller
   * has the period settle after the commit.
   */
  @Transactional()
  async decide(
    adminUserId: string,
    id: string,
    input: Pick<ResolveDisputeDto, 'note' | 'slo' | 'usage'>,
  ): Promise<{ dispute: PeriodDisputeRecord; decided: boolean }> {
    const leaseId = isUUID(id) ? await this.usage.adminFindDisputeLease(id) : null;
    // The lease's lock first, as a report and the settlement job take it: no crossing.
    const lease = leaseId === null ? null : await this.usage.adminLockLease(leaseId);
    const dispute = lease === null ? null : await this.usage.adminFindDispute(id);
    if (!lease || !dispute) throw disputeNotFound();
    const decision = decisionFor(dispute.kind, input);
    if (dispute.status === 'RESOLVED') {
      if (sameDecision(dispute.decision, decision)) return { dispute, decided: false };
      throw new DomainError('CONFLICT', 'The dispute was decided already, with another decision.', {
        reason: 'DISPUTE_RESOLVED',
      });
    }
    if (decision.kind === 'SLO') {
      // docs/SLO.md "A failure report decided": a decided failure report binds its period's dispute.
      const report = await this.usage.decidedFailureReportOf(dispute.leaseId, dispute.periodIndex);
      const bound = report === null ? null : report.status === 'CONFIRMED' ? 'MISSED' : 'MET';
      if (report !== null && bound !== decision.outcome) {
        throw new DomainError(
          'CONFLICT',
          `The buyer's failure report this dispute's evidence is was ${report.status.toLowerCase()} already: ` +
            `the dispute can only be decided ${String(bound)}.`,
          { reason: 'LEASE_REPORT_DECIDED', reportId: report.id, reportStatus: report.status },
        );
      }
    }
    const now = this.clock.now();
    if (
      !(await this.usage.adminResolveDispute(id, decision, {
        userId: adminUserId,
        note: input.note,
        at: now,
      }))
    ) {
      throw new DomainError('CONFLICT', 'The dispute was decided meanwhile.', { reason: 'DISPUTE_RESOLVED' });
    }
    // A USAGE decision's counts stand for the period; an SLO decision is read by settlement itself.
    if (decision.kind === 'USAGE') {
      await this.usage.createCounts({
        leaseId: dispute.leaseId,
        periodIndex: dispute.periodIndex,
        periodStart: dispute.periodStart,
        periodEnd: dispute.periodEnd,
        source: 'ADMIN',
        promptTokens: BigInt(decision.promptTokens),
        outputTokens: BigInt(decision.outputTokens),
        createdAt: now,
      });
      // The decided counts are a period of delivered usage, as agreed counts are.
      if (lease.modelId !== null) {
        await this.inference.confirmDelivery({
          offerId: lease.offerId,
          modelId: lease.modelId,
          counts: {
            promptTokens: BigInt(decision.promptTokens),
            outputTokens: BigInt(decision.outputTokens),
          },
          gpuSeconds: Number(
            periodGpuSeconds(lease, {
              index: dispute.periodIndex,
              startsAt: dispute.periodStart,
              endsAt: dispute.periodEnd,
            }),
          ),
        });
      }
    }
    const resolved = await this.usage.adminFindDispute(id);
    if (!resolved) throw disputeNotFound();
    await this.audit.record(
      adminUserId,
      'dispute.resolve',
      { type: 'period_dispute', id },
      {
        leaseId: dispute.leaseId,
        period: dispute.periodIndex,
        kind: dispute.kind,
        evidence: JSON.parse(JSON.stringify(dispute.evidence)) as JsonObject,
        decision: { ...decision },
        note: input.note,
      },
    );
    await this.outbox.record({
      type: 'dispute.resolved',
      aggregateType: 'lease',
      aggregateId: dispute.leaseId,
      payload: {
        ...UsageMapper.disputeEvent(resolved),
        decidedUsage:
          decision.kind === 'USAGE'
            ? { promptTokens: decision.promptTokens, outputTokens: decision.outputTokens }
            : null,
        decidedSloOutcome: decision.kind === 'SLO' ? decision.outcome : null,
        resolvedAt: now.toISOString(),
      },
    });
    return { dispute: resolved, decided: true };
  }

  /**
   * Opens a dispute of another module's kind (SLO, docs/SLO.md) in the caller's transaction,
   * which holds the lease's lock: the row and `dispute.opened` to both sides. One per kind and
   * period (the unique key refuses a second).
   */
  async openDispute(dispute: {
    leaseId: string;
    periodIndex: number;
    periodStart: Date;
    periodEnd: Date;
    kind: PeriodDisputeKind;
    evidence: DisputeEvidence;
    holdsSettlement: boolean;
  }): Promise<AdminDisputeResponse> {
    const opened = await this.usage.openDispute({ ...dispute, at: this.clock.now() });
    await this.outbox.record({
      type: 'dispute.opened',
      aggregateType: 'lease',
      aggregateId: dispute.leaseId,
      payload: UsageMapper.disputeEvent(opened),
    });
    return UsageMapper.adminDispute(opened);
  }

  async listFlags(query: AdminListUsageFlagsQuery): Promise<AdminUsageFlagPageResponse> {
    const limit = this.cursors.limit(query.limit);
    const rows = await this.usage.adminListFlags(
      query.reviewed === 'true',
      limit,
      this.cursors.decode(query.cursor),
    );
    return this.cursors.page(rows, limit, (row) => UsageMapper.adminFlag(row));
  }

  /** Marks a flag reviewed with the admin's note, audited; a reviewed flag is answered as it is. */
  @Transactional()
  async reviewFlag(adminUserId: string, id: string, input: AdminNoteDto): Promise<AdminUsageFlagResponse> {
    const flag = isUUID(id) ? await this.usage.adminFindFlag(id) : null;
    if (!flag) throw flagNotFound();
    if (
      await this.usage.adminReviewFlag(id, { userId: adminUserId, note: input.note, at: this.clock.now() })
    ) {
      await this.audit.record(
        adminUserId,
        'usage_flag.review',
        { type: 'usage_flag', id },
        { leaseId: flag.leaseId, period: flag.periodIndex, source: flag.source, note: input.note },
      );
    }
    const after = await this.usage.adminFindFlag(id);
    if (!after) throw flagNotFound();
    return UsageMapper.adminFlag(after);
  }
}

/** The decision the body states for a dispute of this kind; the other kind's field is a 400. */
function decisionFor(kind: PeriodDisputeKind, input: ResolveDisputeDto): DisputeDecision {
  const wrong = (field: string): DomainError =>
    new DomainError(
      'VALIDATION_FAILED',
      `A ${kind} dispute is decided with \`${kind === 'USAGE' ? 'usage' : 'slo'}\` alone.`,
      {
        field,
      },
    );
  if (kind === 'USAGE') {
    if (input.slo !== undefined) throw wrong('slo');
    if (input.usage === undefined) throw wrong('usage');
    return {
      kind: 'USAGE',
      promptTokens: BigInt(input.usage.promptTokens).toString(),
      outputTokens: BigInt(input.usage.outputTokens).toString(),
    };
  }
  if (input.usage !== undefined) throw wrong('usage');
  if (input.slo === undefined) throw wrong('slo');
  return { kind: 'SLO', outcome: input.slo.outcome };
}

function sameDecision(stored: DisputeDecision | null, decision: DisputeDecision): boolean {
  if (stored === null) return false;
  if (stored.kind === 'USAGE' && decision.kind === 'USAGE') {
    return stored.promptTokens === decision.promptTokens && stored.outputTokens === decision.outputTokens;
  }
  return stored.kind === 'SLO' && decision.kind === 'SLO' && stored.outcome === decision.outcome;
}
