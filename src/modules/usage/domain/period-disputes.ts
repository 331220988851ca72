/**
 * Disputes about one billing period of a lease, with evidence and decision typed by kind
 * (docs/USAGE.md): USAGE (token counts, docs/USAGE.md) and SLO (a miss the buyer's evidence
 * shows and the provider contests, docs/SLO.md). Both share the rest: one dispute per kind and
 * period, an admin's audited decision, the period's settlement held while OPEN.
 */

export type PeriodDisputeKind = 'USAGE' | 'SLO';
export type PeriodDisputeStatus = 'OPEN' | 'RESOLVED';

/** Token counts as stored in JSON: decimal strings, since they may exceed 2^31. */
export type CountsJson = {
  promptTokens: string;
  outputTokens: string;
};

/** USAGE evidence: both sides' counts as each stated them, and the tolerance they missed. */
export type UsageEvidence = {
  kind: 'USAGE';
  provider: CountsJson;
  buyer: CountsJson;
  toleranceTokens: string;
  toleranceBps: number;
};

/** One side's SLO measures as evidence: availability in basis points, null where not measured. */
export type SloMeasuresJson = {
  method: string;
  availabilityBps: number | null;
  ttftP95Ms: number | null;
  outputTokensPerSecondPerGpu: number | null;
  digest: string;
  submittedAt: string;
};

/** SLO evidence: the lease's SLO, both sides' signed evidence and the provider's reason to contest. */
export type SloDisputeEvidence = {
  kind: 'SLO';
  slo: {
    availabilityBps: number;
    ttftP95Ms: number | null;
    outputTokensPerSecondPerGpu: number | null;
    creditPercent: number;
  };
  provider: SloMeasuresJson;
  buyer: SloMeasuresJson;
  /** Objectives the buyer's evidence shows missed. */
  objectivesMissed: string[];
  providerReason: string;
};

export type DisputeEvidence = UsageEvidence | SloDisputeEvidence;

/** USAGE decision: the counts that stand for the period. */
export type UsageDecision = {
  kind: 'USAGE';
  promptTokens: string;
  outputTokens: string;
};

/** SLO decision: whether the period met its SLO (MISSED credits the buyer at settlement). */
export type SloDecision = {
  kind: 'SLO';
  outcome: 'MET' | 'MISSED';
};

export type DisputeDecision = UsageDecision | SloDecision;
