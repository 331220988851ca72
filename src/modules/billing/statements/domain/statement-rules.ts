import { DomainError } from '@/shared/domain-error';

/**
 * Statements and invoices as plain code (docs/STATEMENTS.md). Prices on the exchange are
 * VAT-inclusive: an invoice's gross is exactly what the buyer's settled periods cost, and the VAT
 * inside it is extracted once, on the invoice total, rounded half up to the minor unit.
 */

const BPS = 10_000n;

export interface VatSplit {
  net: bigint;
  vat: bigint;
  gross: bigint;
}

/** Splits a VAT-inclusive gross: vat = round_half_up(gross x bps / (10,000 + bps)), net = gross - vat. */
export function splitVatInclusive(gross: bigint, vatRateBps: number): VatSplit {
  if (gross < 0n) throw new RangeError('splitVatInclusive takes a non-negative gross');
  if (!Number.isInteger(vatRateBps) || vatRateBps < 0 || vatRateBps > 10_000) {
    throw new RangeError(`VAT rate must be an integer in 0..10000 bps, got ${vatRateBps}`);
  }
  const rate = BigInt(vatRateBps);
  const divisor = BPS + rate;
  // Half up on non-negative operands: floor((2 x gross x rate + divisor) / (2 x divisor)).
  const vat = (2n * gross * rate + divisor) / (2n * divisor);
  return { net: gross - vat, vat, gross };
}

/** `CX-2026-000001`: issuer prefix, the issue year, the sequence padded to six digits. */
export function invoiceNumber(issuer: string, year: number, sequence: number): string {
  if (!Number.isInteger(sequence) || sequence < 1) throw new RangeError(`bad invoice sequence ${sequence}`);
  return `${issuer}-${year}-${String(sequence).padStart(6, '0')}`;
}

export interface StatementRange {
  from: Date;
  to: Date;
}

export const MAX_STATEMENT_DAYS = 366;
const DAY_MS = 86_400_000;

/**
 * The half-open range [from, to) of a statement: `to` defaults to now and `from` to 30 days
 * before `to`; `from` must be before `to`, and the range at most 366 days.
 */
export function statementRange(from: Date | undefined, to: Date | undefined, now: Date): StatementRange {
  const end = to ?? now;
  const start = from ?? new Date(end.getTime() - 30 * DAY_MS);
  if (start.getTime() >= end.getTime()) {
    throw new DomainError('VALIDATION_FAILED', 'from must be before to.', { field: 'from' });
  }
  if (end.getTime() - start.getTime() > MAX_STATEMENT_DAYS * DAY_MS) {
    throw new DomainError('VALIDATION_FAILED', `The range may span at most ${MAX_STATEMENT_DAYS} days.`, {
      field: 'to',
    });
  }
  return { from: start, to: end };
}
