import { formatMoney } from '@/shared/money';
import { objectivesMissed, type Slo } from './domain/slo-rules';
import type { SloDisputeRefResponse, SloOutcomeResponse, SloReportResponse } from './dto/slo.dto';
import type { SloDisputeRecord, SloOutcomeRecord, SloReportRecord } from './slo.repository';

const percent = (bps: number | null): number | null => (bps === null ? null : bps / 100);

/** SLO evidence and outcomes as the API shows them (docs/SLO.md); the terms are markets' SloTermsResponse.of. */
export const SloMapper = {
  /** `withdrawn`: the evidence came from a failure report an admin rejected. */
  report(row: SloReportRecord, slo: Slo, withdrawn = false): SloReportResponse {
    return {
      leaseId: row.leaseId,
      period: row.periodIndex,
      periodStart: row.periodStart.toISOString(),
      periodEnd: row.periodEnd.toISOString(),
      source: row.source,
      method: row.method,
      availabilityPercent: percent(row.availabilityBps),
      ttftP95Ms: row.ttftP95Ms,
      outputTokensPerSecondPerGpu: row.outputTokensPerSecondPerGpu,
      note: row.note,
      objectivesMissed: objectivesMissed(slo, row),
      signer: { kind: row.signerKind, id: row.signerId },
      digest: row.digest,
      submittedAt: row.createdAt.toISOString(),
      withdrawn,
    };
  },

  dispute(row: SloDisputeRecord): SloDisputeRefResponse {
    return {
      id: row.id,
      status: row.status,
      outcome: row.outcome,
      openedAt: row.openedAt.toISOString(),
      resolvedAt: row.resolvedAt?.toISOString() ?? null,
    };
  },

  outcome(row: SloOutcomeRecord, currencyScale: number): SloOutcomeResponse {
    return {
      outcome: row.outcome,
      reason: row.reason,
      objectivesMissed: [...row.objectivesMissed],
      creditPercent: row.creditPercent,
      credit: formatMoney(row.credit, currencyScale),
      settledAt: row.settledAt.toISOString(),
    };
  },
};
