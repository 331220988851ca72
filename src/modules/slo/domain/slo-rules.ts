import { createHmac } from 'node:crypto';
import { canonicalJson } from '@/shared/canonical-json';
import { DomainError } from '@/shared/domain-error';

/**
 * SLO-conditioned escrow as plain code (docs/SLO.md): what an offer may promise, which evidence
 * a period takes, how a period's outcome is decided from both sides' evidence and any dispute,
 * and what a miss credits the buyer. Pure, apart from the HMAC of the evidence digest.
 */

export {
  MIN_AVAILABILITY_BPS,
  MAX_AVAILABILITY_BPS,
  MAX_TTFT_MS,
  MAX_OUTPUT_TOKENS_PER_SECOND_PER_GPU,
  DEFAULT_CREDIT_PERCENT,
  percentToBps,
  parseOfferSlo,
  type OfferSloInput,
} from '@/modules/providers/domain/offer-slo';

/** An SLO as stored on offers and leases (JSON). Absent objectives are not promised. */
import type { Slo } from '@/modules/markets/domain/order-terms';
export type { Slo };

export type SloObjective = 'AVAILABILITY' | 'TTFT_P95' | 'THROUGHPUT';
export type SloSource = 'PROVIDER' | 'BUYER';
export type SloMethod = 'REPORT' | 'PROBE' | 'PROVIDER_FAILED';

/** What one side measured for one period. A null measure was not measured. */
export interface SloMeasures {
  availabilityBps: number | null;
  ttftP95Ms: number | null;
  outputTokensPerSecondPerGpu: number | null;
}

export interface SloEvidence extends SloMeasures {
  source: SloSource;
  method: SloMethod;
}

export type SloOutcomeReason =
  'MET' | 'PROVIDER_SILENT' | 'PROVIDER_REPORTED' | 'BUYER_REPORTED' | 'DISPUTE_MET' | 'DISPUTE_MISSED';

export interface SloOutcome {
  outcome: 'MET' | 'MISSED';
  reason: SloOutcomeReason;
  objectivesMissed: SloObjective[];
}

const invalid = (field: string, message: string): DomainError =>
  new DomainError('VALIDATION_FAILED', message, { field });

/** The objectives an SLO promises. */
export function objectivesOf(slo: Slo): SloObjective[] {
  return [
    'AVAILABILITY',
    ...(slo.ttftP95Ms === undefined ? [] : ['TTFT_P95' as const]),
    ...(slo.outputTokensPerSecondPerGpu === undefined ? [] : ['THROUGHPUT' as const]),
  ];
}

const MEASURE_FIELD: Record<SloObjective, keyof SloMeasures> = {
  AVAILABILITY: 'availabilityBps',
  TTFT_P95: 'ttftP95Ms',
  THROUGHPUT: 'outputTokensPerSecondPerGpu',
};

const REQUEST_FIELD: Record<SloObjective, string> = {
  AVAILABILITY: 'availabilityPercent',
  TTFT_P95: 'ttftP95Ms',
  THROUGHPUT: 'outputTokensPerSecondPerGpu',
};

/**
 * Whether a side's evidence fits the lease's SLO (400 naming the field otherwise): it measures
 * nothing the SLO does not promise; the provider's report measures every objective (it runs the
 * service, so it can) and is a REPORT; the buyer's measures at least one.
 */
export function checkEvidence(slo: Slo, evidence: SloEvidence): void {
  const promised = new Set(objectivesOf(slo));
  for (const objective of ['AVAILABILITY', 'TTFT_P95', 'THROUGHPUT'] as const) {
    if (!promised.has(objective) && evidence[MEASURE_FIELD[objective]] !== null) {
      throw invalid(REQUEST_FIELD[objective], `The lease's SLO has no ${objective} objective to measure.`);
    }
  }
  if (evidence.source === 'PROVIDER') {
    if (evidence.method !== 'REPORT') throw invalid('method', "A provider's evidence is a REPORT.");
    for (const objective of promised) {
      if (evidence[MEASURE_FIELD[objective]] === null) {
        throw invalid(REQUEST_FIELD[objective], "The provider's report measures every objective of the SLO.");
      }
    }
  } else if ([...promised].every((objective) => evidence[MEASURE_FIELD[objective]] === null)) {
    throw invalid('availabilityPercent', 'Evidence measures at least one objective of the SLO.');
  }
}

/** The objectives a side's measures show missed (unmeasured ones show nothing). */
export function objectivesMissed(slo: Slo, measures: SloMeasures): SloObjective[] {
  const missed: SloObjective[] = [];
  if (measures.availabilityBps !== null && measures.availabilityBps < slo.availabilityBps) {
    missed.push('AVAILABILITY');
  }
  if (slo.ttftP95Ms !== undefined && measures.ttftP95Ms !== null && measures.ttftP95Ms > slo.ttftP95Ms) {
    missed.push('TTFT_P95');
  }
  if (
    slo.outputTokensPerSecondPerGpu !== undefined &&
    measures.outputTokensPerSecondPerGpu !== null &&
    measures.outputTokensPerSecondPerGpu < slo.outputTokensPerSecondPerGpu
  ) {
    missed.push('THROUGHPUT');
  }
  return missed;
}

/**
 * A period's outcome at settlement (docs/SLO.md "Which evidence counts"), in order: an admin's
 * decision on an SLO dispute; no provider report (silent: missed); the provider's own report
 * showing a miss; the buyer's evidence showing a miss (the provider did not dispute it in time,
 * or settlement would be waiting); else met.
 */
export function decidePeriod(
  slo: Slo,
  provider: SloMeasures | null,
  buyer: SloMeasures | null,
  decision: 'MET' | 'MISSED' | null,
): SloOutcome {
  const buyerMissed = buyer === null ? [] : objectivesMissed(slo, buyer);
  if (decision === 'MET') return { outcome: 'MET', reason: 'DISPUTE_MET', objectivesMissed: [] };
  if (decision === 'MISSED') {
    return { outcome: 'MISSED', reason: 'DISPUTE_MISSED', objectivesMissed: buyerMissed };
  }
  if (provider === null)
    return { outcome: 'MISSED', reason: 'PROVIDER_SILENT', objectivesMissed: buyerMissed };
  const providerMissed = objectivesMissed(slo, provider);
  if (providerMissed.length > 0) {
    return { outcome: 'MISSED', reason: 'PROVIDER_REPORTED', objectivesMissed: providerMissed };
  }
  if (buyerMissed.length > 0)
    return { outcome: 'MISSED', reason: 'BUYER_REPORTED', objectivesMissed: buyerMissed };
  return { outcome: 'MET', reason: 'MET', objectivesMissed: [] };
}

/**
 * What a missed period credits the buyer: creditPercent of the period's charge, floored, and
 * never more than what the provider earned from that period, its proceeds net of the fee
 * (`net`), which it comes out of. By GPU-seconds the proceeds are the charge; per token they are
 * the payout (capped by the charge), so the spread is not the provider's to give back.
 */
export function sloCredit(cost: bigint, net: bigint, creditPercent: number): bigint {
  const share = (cost * BigInt(creditPercent)) / 100n;
  return share < net ? share : net > 0n ? net : 0n;
}

/** When evidence for a period closes: its end plus the settlement grace. */
export function evidenceClosesAt(periodEnd: Date, graceMs: number): Date {
  return new Date(periodEnd.getTime() + graceMs);
}

/**
 * When the provider's time to dispute the buyer's evidence ends, which is when a period of a
 * lease with an SLO settles: the evidence window, then the dispute window.
 */
export function disputeClosesAt(periodEnd: Date, graceMs: number, disputeWindowMs: number): Date {
  return new Date(periodEnd.getTime() + graceMs + disputeWindowMs);
}

/** Whether a contested miss may be disputed: the buyer's evidence shows one, the provider's none. */
export function contestable(slo: Slo, provider: SloMeasures | null, buyer: SloMeasures | null): boolean {
  return (
    provider !== null &&
    buyer !== null &&
    objectivesMissed(slo, provider).length === 0 &&
    objectivesMissed(slo, buyer).length > 0
  );
}

/** Everything a piece of evidence says, as signed. */
export interface SignedEvidenceFields extends SloEvidence {
  leaseId: string;
  periodIndex: number;
  periodStart: Date;
  note: string | null;
  signerKind: 'api_key' | 'user';
  signerId: string;
  submittedAt: Date;
}

/** The canonical text the digest covers: canonical JSON (sorted keys, no whitespace), version 1. */
export function canonicalEvidence(fields: SignedEvidenceFields): string {
  return canonicalJson({
    v: 1,
    leaseId: fields.leaseId,
    periodIndex: fields.periodIndex,
    periodStart: fields.periodStart.toISOString(),
    source: fields.source,
    method: fields.method,
    availabilityBps: fields.availabilityBps,
    ttftP95Ms: fields.ttftP95Ms,
    outputTokensPerSecondPerGpu: fields.outputTokensPerSecondPerGpu,
    note: fields.note,
    signerKind: fields.signerKind,
    signerId: fields.signerId,
    submittedAt: fields.submittedAt.toISOString(),
  });
}

/** The evidence key: HMAC-SHA-256 of a fixed label under the API key pepper (domain separation). */
export function evidenceKey(pepper: string): Buffer {
  return createHmac('sha256', pepper).update('cx:slo-evidence:v1', 'utf8').digest();
}

/** Hex HMAC-SHA-256 of the canonical evidence under the evidence key. */
export function evidenceDigest(fields: SignedEvidenceFields, key: Uint8Array): string {
  return createHmac('sha256', key).update(canonicalEvidence(fields), 'utf8').digest('hex');
}
