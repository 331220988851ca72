import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { isUUID } from 'class-validator';
import type { OrganisationContext, Principal } from '@/infra/auth/principal';
import { OrganisationWriteGateService } from '@/infra/auth/write-gate/organisation-write-gate.service';
import { Clock } from '@/infra/clock/clock';
import { AppConfig } from '@/infra/config/app-config';
import type { NewEvent } from '@/infra/events/event-catalogue';
import { DomainError } from '@/shared/domain-error';
import { formatMoney } from '@/shared/money';
import { periodsOf, periodStartingAt, type Period } from '@/shared/periods';
import { sloCreditTransfer } from '@/modules/billing/ledger/domain/ledger-rules';
import { LedgerService } from '@/modules/billing/ledger/ledger.service';
import type { SloSettlingCharge, SloSettlingLease } from '@/modules/billing/settlement/domain/slo-step.port';
import { OutboxService } from '@/modules/events/outbox.service';
import { SloTermsResponse } from '@/modules/markets/dto/slo-terms.response';
import type { SloMeasuresJson } from '@/modules/usage/domain/period-disputes';
import { PeriodDisputesService } from '@/modules/usage/period-disputes.service';
import {
  checkEvidence,
  contestable,
  decidePeriod,
  disputeClosesAt,
  evidenceClosesAt,
  evidenceDigest,
  evidenceKey,
  objectivesMissed,
  percentToBps,
  sloCredit,
  type Slo,
  type SloMeasures,
  type SloMethod,
  type SloSource,
} from './domain/slo-rules';
import type {
  DisputeSloDto,
  LeaseSloResponse,
  ReportSloDto,
  SloDisputeRefResponse,
  SloReportResponse,
} from './dto/slo.dto';
import { SloMapper } from './slo.mapper';
import { SloRepository, type SloLease, type SloOutcomeRecord, type SloReportRecord } from './slo.repository';

const leaseNotFound = (): DomainError => new DomainError('NOT_FOUND', 'Lease not found.');
const NOT_STARTED = 'The lease has not started; there is no period to measure.';

/** Who submitted a piece of evidence: an API key or a signed-in person. */
export interface EvidenceSigner {
  kind: 'api_key' | 'user';
  id: string;
}

/** Evidence a buyer states through another flow (continuity's "provider failed"). */
export interface BuyerEvidenceInput {
  buyerOrganisationId: string;
  leaseId: string;
  periodStart: Date;
  method: SloMethod;
  measures: SloMeasures;
  note: string | null;
  signer: EvidenceSigner;
}

/** What the provider earned from a period: its proceeds (the payout, per token) less the fee. */
function providerNetOf(charge: SloSettlingCharge): bigint {
  return charge.cost - (charge.tokens?.spread ?? 0n) - charge.fee;
}

interface NewEvidence {
  source: SloSource;
  method: SloMethod;
  measures: SloMeasures;
  periodStart: Date;
  note: string | null;
  signer: EvidenceSigner;
}

/**
 * SLO-conditioned escrow (docs/SLO.md): each side's signed evidence per lease period, the
 * provider's dispute of the buyer's evidence (a period dispute of kind SLO, decided by an admin),
 * and the settlement step that decides each period's outcome and credits a miss to the buyer
 * from the provider's proceeds through the ledger.
 */
@Injectable()
export class SloService {
  private key: Buffer | undefined;

  constructor(
    private readonly slo: SloRepository,
    private readonly disputes: PeriodDisputesService,
    private readonly ledger: LedgerService,
    private readonly outbox: OutboxService,
    private readonly writeGate: OrganisationWriteGateService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  private get graceMs(): number {
    return this.config.env.SETTLEMENT_GRACE_MINUTES * 60_000;
  }

  private get disputeWindowMs(): number {
    return this.config.env.SLO_DISPUTE_WINDOW_MINUTES * 60_000;
  }

  private get evidenceKey(): Buffer {
    this.key ??= evidenceKey(this.config.secrets.API_KEY_PEPPER);
    return this.key;
  }

  /** States the caller's side's evidence for one period (POST /v1/leases/{id}/slo-reports). */
  @Transactional()
  async reportEvidence(
    principal: Principal,
    leaseId: string,
    input: ReportSloDto,
  ): Promise<SloReportResponse> {
    await this.writeGate.assertMayWrite(principal.organisationId);
    const source: SloSource = principal.organisationRole === 'PROVIDER' ? 'PROVIDER' : 'BUYER';
    let availabilityBps: number | null = null;
    if (input.availabilityPercent !== undefined) {
      availabilityBps = percentToBps(input.availabilityPercent);
      if (availabilityBps === null) {
        throw new DomainError('VALIDATION_FAILED', 'availabilityPercent takes at most two decimals.', {
          field: 'availabilityPercent',
        });
      }
    }
    const lease = isUUID(leaseId)
      ? await this.slo.findLease(principal.organisationId, principal.organisationRole, leaseId, true)
      : null;
    return this.record(lease, {
      source,
      method: input.method ?? 'REPORT',
      measures: {
        availabilityBps,
        ttftP95Ms: input.ttftP95Ms ?? null,
        outputTokensPerSecondPerGpu: input.outputTokensPerSecondPerGpu ?? null,
      },
      periodStart: new Date(input.periodStart),
      note: input.note ?? null,
      signer:
        principal.kind === 'api_key'
          ? { kind: 'api_key', id: principal.apiKeyId }
          : { kind: 'user', id: principal.userId },
    });
  }

  /**
   * Records a buyer's evidence from another flow, in the caller's transaction if there is one
   * (for continuity's "provider failed" report, docs/SLO.md "Evidence"): the same rules as the
   * HTTP route (final per period, within the evidence window, measures the SLO has).
   */
  @Transactional()
  async recordBuyerEvidence(input: BuyerEvidenceInput): Promise<SloReportResponse> {
    const lease = await this.slo.findLease(input.buyerOrganisationId, 'BUYER', input.leaseId, true);
    return this.record(lease, { source: 'BUYER', ...input });
  }

  /**
   * A buyer's "provider failed" at `failedAt` as SLO evidence for the period it falls in: the
   * period was available until then and not after (availability = the share before `failedAt`).
   * Null when there is nothing to record: the lease has no SLO or has not started.
   */
  @Transactional()
  async recordProviderFailed(input: {
    buyerOrganisationId: string;
    leaseId: string;
    failedAt: Date;
    note: string | null;
    signer: EvidenceSigner;
  }): Promise<SloReportResponse | null> {
    const lease = await this.slo.findLease(input.buyerOrganisationId, 'BUYER', input.leaseId, true);
    if (!lease) throw leaseNotFound();
    if (lease.slo === null || lease.startedAt === null || lease.endAt === null) return null;
    const at = input.failedAt.getTime();
    const period = periodsOf({
      startedAt: lease.startedAt,
      endAt: lease.endAt,
      periodSeconds: lease.periodSeconds,
    })
      .filter((p) => p.startsAt.getTime() <= at)
      .at(-1);
    if (period === undefined) return null;
    const length = period.endsAt.getTime() - period.startsAt.getTime();
    const up = Math.min(Math.max(at - period.startsAt.getTime(), 0), length);
    return this.record(lease, {
      source: 'BUYER',
      method: 'PROVIDER_FAILED',
      measures: {
        availabilityBps: Math.floor((up * 10_000) / length),
        ttftP95Ms: null,
        outputTokensPerSecondPerGpu: null,
      },
      periodStart: period.startsAt,
      note: input.note,
      signer: input.signer,
    });
  }

  /**
   * docs/SLO.md "A failure report decided": an admin's decision on a buyer's failure report
   * decides, in the caller's (the report decision's) transaction, the SLO dispute of the period
   * that report is evidence for (the buyer's PROVIDER_FAILED evidence of the lease). CONFIRMED:
   * MISSED. REJECTED withdraws that evidence: the outcome the rest shows (the provider's own
   * report, `decidePeriod` without the buyer's), MET for any dispute the provider could open.
   * An OPEN dispute is decided as `POST /admin/disputes/{id}/resolve` decides it (audited,
   * `dispute.resolved`); one decided the other way already is a 409 `SLO_DISPUTE_DECIDED`, and
   * nothing is written. Returns the disputes decided now, whose periods then settle.
   */
  @Transactional()
  async decideFailureReportDispute(input: {
    adminUserId: string;
    leaseId: string;
    reportId: string;
    status: 'CONFIRMED' | 'REJECTED';
    note: string;
  }): Promise<Array<{ id: string; leaseId: string; holdsSettlement: boolean }>> {
    const evidence = (await this.slo.findReports(input.leaseId)).filter(
      (r) => r.source === 'BUYER' && r.method === 'PROVIDER_FAILED',
    );
    if (evidence.length === 0) return [];
    const slo = await this.slo.systemLeaseSlo(input.leaseId);
    if (slo === null) return [];
    const periods = evidence.map((r) => r.periodIndex);
    const [disputes, reports] = await Promise.all([
      this.slo.findSloDisputes(input.leaseId, periods),
      this.slo.findReports(input.leaseId, periods),
    ]);
    const decided: Array<{ id: string; leaseId: string; holdsSettlement: boolean }> = [];
    for (const dispute of disputes) {
      const provider = reports.find((r) => r.periodIndex === dispute.periodIndex && r.source === 'PROVIDER');
      const outcome =
        input.status === 'CONFIRMED' ? 'MISSED' : decidePeriod(slo, provider ?? null, null, null).outcome;
      if (dispute.status === 'RESOLVED') {
        if (dispute.outcome === outcome) continue;
        throw new DomainError(
          'CONFLICT',
          `The SLO dispute this report is evidence for was decided ${String(dispute.outcome)} already; ` +
            `${input.status.toLowerCase()} would contradict it.`,
          { reason: 'SLO_DISPUTE_DECIDED', disputeId: dispute.id, outcome: dispute.outcome },
        );
      }
      const result = await this.disputes.decide(input.adminUserId, dispute.id, {
        note: `failure report ${input.reportId} ${input.status.toLowerCase()}: ${input.note}`,
        slo: { outcome },
      });
      if (result.decided) {
        decided.push({
          id: result.dispute.id,
          leaseId: result.dispute.leaseId,
          holdsSettlement: result.dispute.holdsSettlement,
        });
      }
    }
    return decided;
  }

  private async record(lease: SloLease | null, evidence: NewEvidence): Promise<SloReportResponse> {
    if (!lease) throw leaseNotFound();
    const slo = assertHasSlo(lease);
    const period = periodStartingAt(lease, evidence.periodStart, NOT_STARTED);
    const existing = await this.slo.findReport(lease.id, period.index, evidence.source);
    if (existing) {
      if (!sameEvidence(existing, evidence)) {
        throw new DomainError('CONFLICT', 'This period has your evidence already; evidence is final.', {
          reason: 'SLO_EVIDENCE_ALREADY_STATED',
        });
      }
      return SloMapper.report(existing, slo);
    }
    const now = this.clock.now();
    // A measurement covers the whole period; a "provider failed" report may come while it runs.
    if (evidence.method !== 'PROVIDER_FAILED' && period.endsAt.getTime() > now.getTime()) {
      throw new DomainError('VALIDATION_FAILED', 'The period has not ended yet; measure it once it has.', {
        field: 'periodStart',
      });
    }
    const closes = evidenceClosesAt(period.endsAt, this.graceMs);
    if (now.getTime() >= closes.getTime() || period.index < lease.settledPeriods) {
      throw new DomainError('CONFLICT', "The period's evidence window is over.", {
        reason: 'EVIDENCE_CLOSED',
        closedAt: closes.toISOString(),
      });
    }
    checkEvidence(slo, { source: evidence.source, method: evidence.method, ...evidence.measures });
    const fields = {
      leaseId: lease.id,
      periodIndex: period.index,
      periodStart: period.startsAt,
      source: evidence.source,
      method: evidence.method,
      ...evidence.measures,
      note: evidence.note,
      signerKind: evidence.signer.kind,
      signerId: evidence.signer.id,
      submittedAt: now,
    };
    const { submittedAt: _submittedAt, ...stored } = fields;
    const row = await this.slo.createReport({
      ...stored,
      periodEnd: period.endsAt,
      digest: evidenceDigest(fields, this.evidenceKey),
      createdAt: now,
    });
    return SloMapper.report(row, slo);
  }

  /** The lease's SLO, each started period's evidence, dispute and outcome (either side). */
  async leaseSlo(org: OrganisationContext, leaseId: string): Promise<LeaseSloResponse> {
    const lease = isUUID(leaseId)
      ? await this.slo.findLease(org.organisationId, org.organisationRole, leaseId, false)
      : null;
    if (!lease) throw leaseNotFound();
    const [reports, disputes, outcomes, failureRejected] = await Promise.all([
      this.slo.findReports(lease.id),
      this.slo.findSloDisputes(lease.id),
      this.slo.findOutcomes(lease.id),
      this.slo.failureReportRejected(lease.id),
    ]);
    const now = this.clock.now().getTime();
    const periods =
      lease.startedAt === null || lease.endAt === null
        ? []
        : periodsOf({ startedAt: lease.startedAt, endAt: lease.endAt, periodSeconds: lease.periodSeconds });
    const slo = lease.slo;
    return {
      leaseId: lease.id,
      slo: SloTermsResponse.of(slo),
      credited: formatMoney(
        outcomes.reduce((sum, o) => sum + o.credit, 0n),
        lease.currencyScale,
      ),
      periods:
        slo === null
          ? []
          : periods
              .filter((period) => period.startsAt.getTime() <= now)
              .map((period) => {
                const of = (source: SloSource): SloReportRecord | undefined =>
                  reports.find((r) => r.periodIndex === period.index && r.source === source);
                const provider = of('PROVIDER');
                const buyer = of('BUYER');
                const dispute = disputes.find((d) => d.periodIndex === period.index);
                const outcome = outcomes.find((o) => o.periodIndex === period.index);
                return {
                  period: period.index,
                  periodStart: period.startsAt.toISOString(),
                  periodEnd: period.endsAt.toISOString(),
                  provider: provider === undefined ? null : SloMapper.report(provider, slo),
                  buyer:
                    buyer === undefined
                      ? null
                      : SloMapper.report(buyer, slo, failureRejected && buyer.method === 'PROVIDER_FAILED'),
                  evidenceClosesAt: evidenceClosesAt(period.endsAt, this.graceMs).toISOString(),
                  disputeClosesAt: disputeClosesAt(
                    period.endsAt,
                    this.graceMs,
                    this.disputeWindowMs,
                  ).toISOString(),
                  dispute: dispute === undefined ? null : SloMapper.dispute(dispute),
                  outcome: outcome === undefined ? null : SloMapper.outcome(outcome, lease.currencyScale),
                };
              }),
    };
  }

  /**
   * The provider contests the miss the buyer's evidence shows for a period (its own report shows
   * none): an SLO period dispute opens, `dispute.opened` goes to both sides, and the period's
   * settlement waits for an admin's decision. Only until the dispute window closes; the same
   * dispute again is answered as it stands.
   */
  @Transactional()
  async disputePeriod(
    org: OrganisationContext,
    leaseId: string,
    input: DisputeSloDto,
  ): Promise<SloDisputeRefResponse> {
    await this.writeGate.assertMayWrite(org.organisationId);
    if (org.organisationRole !== 'PROVIDER') {
      throw new DomainError('FORBIDDEN', "Only the lease's provider disputes SLO evidence.");
    }
    const lease = isUUID(leaseId)
      ? await this.slo.findLease(org.organisationId, 'PROVIDER', leaseId, true)
      : null;
    if (!lease) throw leaseNotFound();
    const slo = assertHasSlo(lease);
    const period = periodStartingAt(lease, new Date(input.periodStart), NOT_STARTED);
    const [existing] = await this.slo.findSloDisputes(lease.id, [period.index]);
    if (existing !== undefined) return SloMapper.dispute(existing);
    const now = this.clock.now();
    const closes = disputeClosesAt(period.endsAt, this.graceMs, this.disputeWindowMs);
    if (now.getTime() >= closes.getTime() || period.index < lease.settledPeriods) {
      throw new DomainError('CONFLICT', "The period's dispute window is over.", {
        reason: 'DISPUTE_WINDOW_OVER',
        closedAt: closes.toISOString(),
      });
    }
    const reports = await this.slo.findReports(lease.id, [period.index]);
    const provider = reports.find((r) => r.source === 'PROVIDER');
    const buyer = reports.find((r) => r.source === 'BUYER');
    if (provider === undefined || buyer === undefined || !contestable(slo, provider, buyer)) {
      throw new DomainError(
        'CONFLICT',
        "Only a miss the buyer's evidence shows and your own report does not can be disputed.",
        {
          reason: 'NOT_CONTESTABLE',
          providerReported: provider !== undefined,
          buyerReported: buyer !== undefined,
        },
      );
    }
    await this.disputes.openDispute({
      leaseId: lease.id,
      periodIndex: period.index,
      periodStart: period.startsAt,
      periodEnd: period.endsAt,
      kind: 'SLO',
      evidence: {
        kind: 'SLO',
        slo: {
          availabilityBps: slo.availabilityBps,
          ttftP95Ms: slo.ttftP95Ms ?? null,
          outputTokensPerSecondPerGpu: slo.outputTokensPerSecondPerGpu ?? null,
          creditPercent: slo.creditPercent,
        },
        provider: measuresJson(provider),
        buyer: measuresJson(buyer),
        objectivesMissed: objectivesMissed(slo, buyer),
        providerReason: input.reason,
      },
      holdsSettlement: true,
    });
    const [opened] = await this.slo.findSloDisputes(lease.id, [period.index]);
    if (opened === undefined)
      throw new Error(`SLO dispute of lease ${lease.id} period ${period.index} not found`);
    return SloMapper.dispute(opened);
  }

  /**
   * When a period of this lease may settle: as settlement says (`base`), and for a lease with an
   * SLO not before its dispute window closes, so both sides' evidence and a dispute are in.
   */
  settlesAt(lease: Pick<SloSettlingLease, 'hasSlo'>, period: Period, base: Date): Date {
    if (!lease.hasSlo) return base;
    const closes = disputeClosesAt(period.endsAt, this.graceMs, this.disputeWindowMs);
    return closes.getTime() > base.getTime() ? closes : base;
  }

  /**
   * Settlement's SLO step, in its transaction after the periods' proceeds are posted: each
   * period's outcome recorded once (unique per lease period), and each miss credited to the
   * buyer from the provider's earnings (SLO_CREDIT, at most the period's proceeds) with
   * `slo.credited`. Returns the credits' total, which settlement's receivable netting must not
   * count as earnings.
   */
  async settlePeriods(
    lease: SloSettlingLease,
    charges: readonly SloSettlingCharge[],
    now: Date,
  ): Promise<bigint> {
    if (!lease.hasSlo || charges.length === 0) return 0n;
    const slo = await this.slo.systemLeaseSlo(lease.id);
    if (slo === null) return 0n;
    const indexes = charges.map((charge) => charge.index);
    const reports = await this.slo.findReports(lease.id, indexes);
    const disputes = await this.slo.findSloDisputes(lease.id, indexes);
    // A rejected failure report's evidence is withdrawn (docs/SLO.md "A failure report decided").
    const withdrawn = await this.slo.failureReportRejected(lease.id);
    const outcomes: SloOutcomeRecord[] = charges.map((charge) => {
      const of = (source: SloSource): SloReportRecord | null =>
        reports.find(
          (r) =>
            r.periodIndex === charge.index &&
            r.source === source &&
            !(withdrawn && r.source === 'BUYER' && r.method === 'PROVIDER_FAILED'),
        ) ?? null;
      const decided = disputes.find((d) => d.periodIndex === charge.index && d.status === 'RESOLVED');
      const outcome = decidePeriod(slo, of('PROVIDER'), of('BUYER'), decided?.outcome ?? null);
      return {
        ...outcome,
        leaseId: lease.id,
        periodIndex: charge.index,
        providerOrganisationId: lease.providerOrganisationId,
        creditPercent: slo.creditPercent,
        credit:
          outcome.outcome === 'MISSED'
            ? sloCredit(charge.cost, providerNetOf(charge), slo.creditPercent)
            : 0n,
        settledAt: now,
      };
    });
    await this.slo.systemRecordOutcomes(outcomes);
    const credited = outcomes.filter((outcome) => outcome.credit > 0n);
    await this.ledger.postSettlement(
      credited.map((outcome) =>
        sloCreditTransfer({
          leaseId: lease.id,
          periodIndex: outcome.periodIndex,
          buyerOrganisationId: lease.buyerOrganisationId,
          providerOrganisationId: lease.providerOrganisationId,
          currency: lease.currency,
          amount: outcome.credit,
          memo: `SLO missed, period ${outcome.periodIndex + 1} (${outcome.reason.toLowerCase()})`,
        }),
      ),
    );
    await this.outbox.recordMany(
      credited.map((outcome) =>
        sloCredited(
          lease,
          charges.find((c) => c.index === outcome.periodIndex)!,
          outcome,
        ),
      ),
    );
    return credited.reduce((sum, outcome) => sum + outcome.credit, 0n);
  }
}

function assertHasSlo(lease: SloLease): Slo {
  if (lease.slo === null) {
    throw new DomainError('CONFLICT', 'The lease has no SLO: its offer promised none.', { reason: 'NO_SLO' });
  }
  return lease.slo;
}

function sameEvidence(row: SloReportRecord, evidence: NewEvidence): boolean {
  return (
    row.method === evidence.method &&
    row.availabilityBps === evidence.measures.availabilityBps &&
    row.ttftP95Ms === evidence.measures.ttftP95Ms &&
    row.outputTokensPerSecondPerGpu === evidence.measures.outputTokensPerSecondPerGpu &&
    row.note === evidence.note
  );
}

function measuresJson(row: SloReportRecord): SloMeasuresJson {
  return {
    method: row.method,
    availabilityBps: row.availabilityBps,
    ttftP95Ms: row.ttftP95Ms,
    outputTokensPerSecondPerGpu: row.outputTokensPerSecondPerGpu,
    digest: row.digest,
    submittedAt: row.createdAt.toISOString(),
  };
}

function sloCredited(
  lease: SloSettlingLease,
  charge: SloSettlingCharge,
  outcome: SloOutcomeRecord,
): NewEvent {
  return {
    type: 'slo.credited',
    aggregateType: 'lease',
    aggregateId: lease.id,
    payload: {
      leaseId: lease.id,
      market: lease.market,
      buyerOrganisationId: lease.buyerOrganisationId,
      providerOrganisationId: lease.providerOrganisationId,
      period: charge.index,
      startsAt: charge.startsAt.toISOString(),
      endsAt: charge.endsAt.toISOString(),
      reason: outcome.reason,
      objectivesMissed: [...outcome.objectivesMissed],
      periodCost: formatMoney(charge.cost, lease.currencyScale),
      creditPercent: outcome.creditPercent,
      credit: formatMoney(outcome.credit, lease.currencyScale),
      currency: lease.currency,
    },
  };
}
