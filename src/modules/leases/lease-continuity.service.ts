import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { isUUID } from 'class-validator';
import { AuditService } from '@/infra/audit/audit.service';
import type { OrganisationContext, Principal } from '@/infra/auth/principal';
import { OrganisationWriteGateService } from '@/infra/auth/write-gate/organisation-write-gate.service';
import { Clock } from '@/infra/clock/clock';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { DomainError } from '@/shared/domain-error';
import { formatMoney } from '@/shared/money';
import { LedgerService } from '@/modules/billing/ledger/ledger.service';
import { OutboxService } from '@/modules/events/outbox.service';
import { SloService } from '@/modules/slo/slo.service';
import { extensionTerms } from './domain/extension-rules';
import type {
  DecideLeaseReportDto,
  ExtendLeaseDto,
  LeaseExtensionListResponse,
  LeaseReportListResponse,
  LeaseReportResponse,
  ReportProviderFailureDto,
} from './dto/continuity.dto';
import type { LeaseResponse } from './dto/lease.dto';
import { LeaseReportsRepository, type LeaseReportRecord } from './lease-reports.repository';
import { LeasesMapper } from './leases.mapper';
import { LeasesRepository, type LeaseRecord } from './leases.repository';

const leaseNotFound = (): DomainError => new DomainError('NOT_FOUND', 'Lease not found.');
const reportNotFound = (): DomainError => new DomainError('NOT_FOUND', 'Report not found.');

function reportResponse(row: LeaseReportRecord): LeaseReportResponse {
  return {
    id: row.id,
    leaseId: row.leaseId,
    kind: row.kind,
    phase: row.phase,
    observedAt: row.observedAt.toISOString(),
    reportedAt: row.reportedAt.toISOString(),
    detail: row.detail,
    status: row.status,
    decidedAt: row.decidedAt?.toISOString() ?? null,
    decisionNote: row.decisionNote,
  };
}

/**
 * Continuity for buyers (docs/LEASES.md): extending a lease at its trade price, and reporting
 * that the provider failed, which an admin decides and a confirmed decision feeds the provider's
 * reliability (docs/RELIABILITY.md).
 */
@Injectable()
export class LeaseContinuityService {
  constructor(
    private readonly leases: LeasesRepository,
    private readonly reports: LeaseReportsRepository,
    private readonly ledger: LedgerService,
    private readonly outbox: OutboxService,
    private readonly producer: JobProducer,
    private readonly clock: Clock,
    private readonly writeGate: OrganisationWriteGateService,
    private readonly audit: AuditService,
    private readonly slo: SloService,
  ) {}

  /**
   * Adds hours to an ACTIVE lease at its trade price (rules in domain/extension-rules). Takes
   * the lease's lock, then the offer's row lock (what the matching commit, a cancel and an
   * amendment of the offer take too), then holds the added cost as a bid's hold is held; any
   * refusal rolls everything back.
   */
  @Transactional()
  async extendLease(principal: Principal, id: string, input: ExtendLeaseDto): Promise<LeaseResponse> {
    const lease = await this.lockMine(principal, id);
    if (principal.organisationRole !== 'BUYER') {
      throw new DomainError('FORBIDDEN', 'Only the buyer extends a lease.');
    }
    await this.writeGate.assertMayWrite(principal.organisationId);
    const supply = await this.leases.lockExtensionSupply(lease.offerId);
    if (supply === null) throw new Error(`lease ${id}: its offer is missing`);
    const now = this.clock.now();
    const terms = extensionTerms(lease, supply, input.hours, now);
    const extended = await this.leases.extendLease(principal.organisationId, id, {
      ...terms,
      requestedBy:
        principal.kind === 'user'
          ? { kind: 'user', id: principal.userId }
          : { kind: 'api_key', id: principal.apiKeyId },
      at: now,
    });
    if (extended === null) throw new Error(`lease ${id}: changed under its lock`);
    await this.ledger.holdLeaseExtension({
      leaseId: id,
      number: extended.number,
      organisationId: principal.organisationId,
      currency: lease.market.currency,
      currencyScale: lease.market.currencyScale,
      amount: terms.amount,
    });
    // Ends on time even if the scheduled sweep is far off; the sweep is the backstop.
    await this.producer.enqueue(
      'leases.sweep',
      { trigger: 'lease-end' },
      {
        jobId: `end-${id}-${terms.endsAt.getTime()}`,
        delay: Math.max(0, terms.endsAt.getTime() - now.getTime()) + 250,
      },
    );
    await this.outbox.record({
      type: 'lease.extended',
      aggregateType: 'lease',
      aggregateId: id,
      payload: {
        leaseId: id,
        market: lease.market.slug,
        buyerOrganisationId: lease.buyerOrganisationId,
        providerOrganisationId: lease.providerOrganisationId,
        gpus: lease.gpus,
        extension: extended.number,
        hours: terms.hours,
        pricePerGpuHour: formatMoney(terms.pricePerGpuHour, lease.market.currencyScale),
        durationHours: lease.durationHours + terms.hours,
        previousEndsAt: terms.previousEndsAt.toISOString(),
        endsAt: terms.endsAt.toISOString(),
      },
    });
    return LeasesMapper.lease(await this.mine(principal, id), principal.organisationRole);
  }

  /** A lease's extensions, oldest first, for either side (the amount held is the buyer's only). */
  async listExtensions(org: OrganisationContext, id: string): Promise<LeaseExtensionListResponse> {
    const lease = await this.mine(org, id);
    const scale = lease.market.currencyScale;
    const rows = await this.leases.listExtensions(id);
    return {
      data: rows.map((row) => ({
        number: row.number,
        hours: row.hours,
        pricePerGpuHour: formatMoney(row.pricePerGpuHour, scale),
        ...(org.organisationRole === 'BUYER' ? { amount: formatMoney(row.amount, scale) } : {}),
        previousEndsAt: row.previousEndsAt.toISOString(),
        endsAt: row.endsAt.toISOString(),
        createdAt: row.createdAt.toISOString(),
      })),
    };
  }

  /**
   * The buyer reports the provider failed, while the lease is SCHEDULED (PROVISIONING) or
   * ACTIVE (RUNNING): stored with the exchange's timestamp as evidence, `lease.failure_reported`
   * written. One per lease: a second report answers the first. Allowed while suspended: a
   * suspended buyer's leases run on, and so does its recourse.
   */
  @Transactional()
  async reportProviderFailure(
    principal: Principal,
    id: string,
    input: ReportProviderFailureDto,
  ): Promise<LeaseReportResponse> {
    const lease = await this.lockMine(principal, id);
    if (principal.organisationRole !== 'BUYER') {
      throw new DomainError('FORBIDDEN', 'Only the buyer reports a provider failure.');
    }
    const existing = await this.reports.findFailureReport(id);
    if (existing !== null) return reportResponse(existing);
    if (lease.status !== 'SCHEDULED' && lease.status !== 'ACTIVE') {
      throw new DomainError(
        'CONFLICT',
        `The lease is ${lease.status.toLowerCase()}; report while it is live.`,
        {
          reason: 'LEASE_CLOSED',
          status: lease.status,
        },
      );
    }
    const now = this.clock.now();
    const observedAt = input.observedAt === undefined ? now : new Date(input.observedAt);
    if (observedAt.getTime() > now.getTime() || observedAt.getTime() < lease.createdAt.getTime()) {
      throw new DomainError(
        'VALIDATION_FAILED',
        'observedAt must lie between the lease’s creation and now.',
        { field: 'observedAt' },
      );
    }
    const report = await this.reports.createFailureReport({
      leaseId: id,
      buyerOrganisationId: lease.buyerOrganisationId,
      providerOrganisationId: lease.providerOrganisationId,
      phase: lease.status === 'SCHEDULED' ? 'PROVISIONING' : 'RUNNING',
      observedAt,
      reportedAt: now,
      detail: input.detail ?? null,
    });
    if (lease.status === 'ACTIVE') await this.recordSloEvidence(principal, lease, observedAt, report.id);
    await this.outbox.record({
      type: 'lease.failure_reported',
      aggregateType: 'lease',
      aggregateId: id,
      payload: {
        reportId: report.id,
        leaseId: id,
        market: lease.market.slug,
        buyerOrganisationId: lease.buyerOrganisationId,
        providerOrganisationId: lease.providerOrganisationId,
        phase: report.phase,
        observedAt: report.observedAt.toISOString(),
        reportedAt: report.reportedAt.toISOString(),
      },
    });
    return reportResponse(report);
  }

  /**
   * A RUNNING failure is the buyer's SLO evidence for the period it was observed in (docs/SLO.md
   * "Evidence"): available until then, not after. Nothing is recorded when the lease has no SLO,
   * when the buyer already stated that period's evidence (final) or its evidence window is over;
   * the report stands either way.
   */
  private async recordSloEvidence(
    principal: Principal,
    lease: LeaseRecord,
    failedAt: Date,
    reportId: string,
  ): Promise<void> {
    try {
      await this.slo.recordProviderFailed({
        buyerOrganisationId: lease.buyerOrganisationId,
        leaseId: lease.id,
        failedAt,
        // The report's id, not its detail: evidence notes are short, and the report keeps the detail.
        note: `failure report ${reportId}`,
        signer:
          principal.kind === 'user'
            ? { kind: 'user', id: principal.userId }
            : { kind: 'api_key', id: principal.apiKeyId },
      });
    } catch (error) {
      const reason = error instanceof DomainError ? error.details?.reason : undefined;
      if (reason !== 'SLO_EVIDENCE_ALREADY_STATED' && reason !== 'EVIDENCE_CLOSED') throw error;
    }
  }

  /** The reports on one of your leases (either side). */
  async listReports(org: OrganisationContext, id: string): Promise<LeaseReportListResponse> {
    await this.mine(org, id);
    return { data: (await this.reports.listForLease(id)).map(reportResponse) };
  }

  /** Open (or decided) reports for a platform admin, newest first. */
  async adminListReports(
    status: 'OPEN' | 'CONFIRMED' | 'REJECTED',
    limit: number,
  ): Promise<LeaseReportListResponse> {
    return { data: (await this.reports.adminList(status, limit)).map(reportResponse) };
  }

  /**
   * A platform admin decides a report (audited): CONFIRMED makes it a fault in the provider's
   * reliability score, REJECTED withdraws it as SLO evidence. Either decides the SLO dispute of
   * the period the report is evidence for, in the same transaction (docs/SLO.md "A failure
   * report decided"), and that period then settles. Once: deciding it again the same way
   * answers it as it is; the other way is 409, as is a decision contradicting a decided dispute.
   */
  async adminDecideReport(
    adminUserId: string,
    reportId: string,
    input: DecideLeaseReportDto,
  ): Promise<LeaseReportResponse> {
    const { response, disputes } = await this.decideReport(adminUserId, reportId, input);
    // After the commit, so the job sees the disputes resolved; the sweep is the backstop.
    for (const dispute of disputes.filter((d) => d.holdsSettlement)) {
      await this.producer.enqueue(
        'settlement.settle-lease',
        { leaseId: dispute.leaseId },
        { jobId: `settle-${dispute.leaseId}-dispute-${dispute.id}` },
      );
    }
    return response;
  }

  @Transactional()
  private async decideReport(
    adminUserId: string,
    reportId: string,
    input: DecideLeaseReportDto,
  ): Promise<{
    response: LeaseReportResponse;
    disputes: Array<{ id: string; leaseId: string; holdsSettlement: boolean }>;
  }> {
    const leaseId = isUUID(reportId) ? await this.reports.adminFindReportLease(reportId) : null;
    // The lease's lock first, as a dispute's decision and settlement take it: no crossing.
    if (leaseId !== null) await this.leases.adminLockLease(leaseId);
    const report = isUUID(reportId) ? await this.reports.adminLockReport(reportId) : null;
    if (report === null) throw reportNotFound();
    if (report.status !== 'OPEN') {
      if (report.status === input.status) return { response: reportResponse(report), disputes: [] };
      throw new DomainError('CONFLICT', `The report was ${report.status.toLowerCase()} already.`, {
        status: report.status,
      });
    }
    const now = this.clock.now();
    const disputes = await this.slo.decideFailureReportDispute({
      adminUserId,
      leaseId: report.leaseId,
      reportId,
      status: input.status,
      note: input.note,
    });
    const decided = await this.reports.adminDecide(reportId, {
      status: input.status,
      note: input.note,
      userId: adminUserId,
      at: now,
    });
    if (decided === null) throw new Error(`report ${reportId}: decided under its lock`);
    await this.audit.record(
      adminUserId,
      'lease_report.decide',
      { type: 'lease_report', id: reportId },
      {
        reason: input.note,
        leaseId: report.leaseId,
        before: { status: 'OPEN' },
        after: { status: input.status },
      },
    );
    await this.outbox.record({
      type: 'lease.report_decided',
      aggregateType: 'lease',
      aggregateId: report.leaseId,
      payload: {
        reportId,
        leaseId: report.leaseId,
        buyerOrganisationId: report.buyerOrganisationId,
        providerOrganisationId: report.providerOrganisationId,
        status: input.status,
        decidedAt: now.toISOString(),
      },
    });
    return { response: reportResponse(decided), disputes };
  }

  /** A lease of the caller's side, row-locked until the transaction ends; 404 otherwise. */
  private async lockMine(org: OrganisationContext, id: string): Promise<LeaseRecord> {
    if (!isUUID(id) || !(await this.leases.lockLease(org.organisationId, org.organisationRole, id))) {
      throw leaseNotFound();
    }
    return this.mine(org, id);
  }

  private async mine(org: OrganisationContext, id: string): Promise<LeaseRecord> {
    const lease = isUUID(id)
      ? await this.leases.findLease(org.organisationId, org.organisationRole, id)
      : null;
    if (!lease) throw leaseNotFound();
    return lease;
  }
}
