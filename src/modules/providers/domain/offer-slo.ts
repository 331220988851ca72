import { DomainError } from '@/shared/domain-error';
import type { Slo } from '@/modules/markets/domain/order-terms';

/**
 * What an offer may promise as its SLO (docs/SLO.md "An offer's SLO"), checked at placement. How a
 * period is judged against it lives in slo/domain/slo-rules, which re-exports these.
 */

/** Availability an SLO may promise, basis points: 90.00% to 99.99% (100% can never be shown met). */
export const MIN_AVAILABILITY_BPS = 9_000;
export const MAX_AVAILABILITY_BPS = 9_999;
export const MAX_TTFT_MS = 600_000;
export const MAX_OUTPUT_TOKENS_PER_SECOND_PER_GPU = 10_000_000;
/** The share of a missed period's charge credited to the buyer when the offer does not say. */
export const DEFAULT_CREDIT_PERCENT = 10;

const invalid = (field: string, message: string): DomainError =>
  new DomainError('VALIDATION_FAILED', message, { field });

/** A percentage with at most two decimals as basis points, or null when it has more. */
export function percentToBps(percent: number): number | null {
  const bps = Math.round(percent * 100);
  return Number.isFinite(percent) && Math.abs(bps - percent * 100) < 1e-6 ? bps : null;
}

export interface OfferSloInput {
  availabilityPercent: number;
  ttftP95Ms?: number;
  outputTokensPerSecondPerGpu?: number;
  creditPercent?: number;
}

/**
 * An offer's SLO as requested, checked (400 naming the field) and in stored form. Ranges the DTO
 * also checks are checked again here: the domain owns the rule.
 */
export function parseOfferSlo(input: OfferSloInput): Slo {
  const availabilityBps = percentToBps(input.availabilityPercent);
  if (availabilityBps === null) {
    throw invalid('slo.availabilityPercent', 'availabilityPercent takes at most two decimals.');
  }
  if (availabilityBps < MIN_AVAILABILITY_BPS || availabilityBps > MAX_AVAILABILITY_BPS) {
    throw invalid(
      'slo.availabilityPercent',
      'availabilityPercent must be 90.00..99.99: 100% cannot be shown met by any measurement.',
    );
  }
  const slo: Slo = { availabilityBps, creditPercent: input.creditPercent ?? DEFAULT_CREDIT_PERCENT };
  if (!Number.isInteger(slo.creditPercent) || slo.creditPercent < 1 || slo.creditPercent > 100) {
    throw invalid('slo.creditPercent', 'creditPercent must be an integer 1..100.');
  }
  if (input.ttftP95Ms !== undefined) {
    if (!Number.isInteger(input.ttftP95Ms) || input.ttftP95Ms < 1 || input.ttftP95Ms > MAX_TTFT_MS) {
      throw invalid('slo.ttftP95Ms', `ttftP95Ms must be an integer 1..${MAX_TTFT_MS} (ms).`);
    }
    slo.ttftP95Ms = input.ttftP95Ms;
  }
  if (input.outputTokensPerSecondPerGpu !== undefined) {
    const tps = input.outputTokensPerSecondPerGpu;
    if (!Number.isInteger(tps) || tps < 1 || tps > MAX_OUTPUT_TOKENS_PER_SECOND_PER_GPU) {
      throw invalid(
        'slo.outputTokensPerSecondPerGpu',
        `outputTokensPerSecondPerGpu must be an integer 1..${MAX_OUTPUT_TOKENS_PER_SECOND_PER_GPU}.`,
      );
    }
    slo.outputTokensPerSecondPerGpu = tps;
  }
  return slo;
}
