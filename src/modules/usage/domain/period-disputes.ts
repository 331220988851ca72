/**
 * Disputes about one billing period of a lease, with evidence and decision typed by kind
 * (docs/USAGE.md). USAGE is the only kind yet; another kind (SLO evidence, from the trust issue)
 * adds a member to each union below and its own decision rule, and reuses the rest: one dispute
 * per kind and period, an admin's audited decision, the period's settlement held while OPEN.
 */

export type PeriodDisputeKind = 'USAGE';
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

export type DisputeEvidence = UsageEvidence;

/** USAGE decision: the counts that stand for the period. */
export type UsageDecision = {
  kind: 'USAGE';
  promptTokens: string;
  outputTokens: string;
};

export type DisputeDecision = UsageDecision;
