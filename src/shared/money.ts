import { DomainError } from './domain-error';

/** Caps validated at the edge so every product of price, GPUs and duration stays in range. */
export const MAX_PRICE_PER_GPU_HOUR_MINOR = 100_000_000n;
export const MAX_GPUS_PER_ORDER = 10_000;
export const MAX_DURATION_HOURS = 720;

const SECONDS_PER_HOUR = 3600n;
const BPS_PER_WHOLE = 10_000n;
const MAX_INTEGER_DIGITS = 15;
// Bounds the work spent on hostile input before any pattern runs.
const MAX_INPUT_LENGTH = 64;
// Scales beyond this are not real currencies and would make the regex and powers pointless.
const MAX_SCALE = 18;

export interface ParseMoneyOptions {
  /** Field name used in error messages, e.g. `price` or `maxPricePerGpuHour`. */
  field: string;
  /** Decimal places of the currency (2 for CNY). */
  scale: number;
  /** Largest accepted value, in minor units. */
  max: bigint;
  allowZero?: boolean;
}

/**
 * Parses a JSON money value into minor units. Only a decimal string such as "18.20" is accepted:
 * no sign, exponent, spaces or redundant leading zeros, at most `scale` decimals.
 */
export function parseMoney(value: unknown, opts: ParseMoneyOptions): bigint {
  const { field, scale, max } = opts;
  assertScale(scale);
  const example = exampleAmount(scale);
  if (typeof value === 'number') {
    throw invalidMoney(field, `${field} must be a decimal string such as "${example}", not a number`);
  }
  if (typeof value !== 'string') {
    throw invalidMoney(field, `${field} must be a decimal string such as "${example}"`);
  }
  const match = value.length <= MAX_INPUT_LENGTH ? moneyPattern(scale).exec(value) : null;
  const whole = match?.[1];
  if (whole === undefined) {
    // A well-formed amount that is merely too precise deserves a precise message.
    const tooPrecise = value.length <= MAX_INPUT_LENGTH && /^(?:0|[1-9]\d{0,14})\.\d+$/.test(value);
    const places = scale === 0 ? 'no decimal places' : `at most ${scale} decimal places`;
    throw invalidMoney(
      field,
      tooPrecise ? `${field} must have ${places}` : `${field} must be a decimal string such as "${example}"`,
    );
  }
  const fraction = (match?.[2] ?? '').padEnd(scale, '0');
  const minor = BigInt(whole) * 10n ** BigInt(scale) + BigInt(fraction === '' ? '0' : fraction);
  if (minor === 0n && opts.allowZero !== true) {
    throw invalidMoney(field, `${field} must be greater than zero`);
  }
  if (minor > max) {
    throw invalidMoney(field, `${field} must be at most ${formatMoney(max, scale)}`);
  }
  return minor;
}

/** Formats minor units as a decimal string with exactly `scale` decimals; negatives are for ledger display. */
export function formatMoney(minor: bigint, scale: number): string {
  assertScale(scale);
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale);
  const sign = negative ? '-' : '';
  return scale === 0 ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
}

/** Cost of `gpuSeconds` at a per-GPU-hour price: floor(price x GPU-seconds / 3600), exact in bigint. */
export function costMinor(pricePerGpuHourMinor: bigint, gpuSeconds: bigint): bigint {
  if (pricePerGpuHourMinor < 0n || gpuSeconds < 0n) {
    throw new RangeError('costMinor takes a non-negative price and GPU-seconds');
  }
  // bigint division truncates, which is floor for non-negative operands.
  return (pricePerGpuHourMinor * gpuSeconds) / SECONDS_PER_HOUR;
}

/** Platform fee on a cost: floor(cost x bps / 10,000), exact in bigint. */
export function feeMinor(cost: bigint, bps: number): bigint {
  if (cost < 0n) throw new RangeError('feeMinor takes a non-negative cost');
  if (!Number.isInteger(bps) || bps < 0 || bps > 10_000) {
    throw new RangeError(`feeMinor takes an integer bps in 0..10000, got ${bps}`);
  }
  return (cost * BigInt(bps)) / BPS_PER_WHOLE;
}

function assertScale(scale: number): void {
  if (!Number.isInteger(scale) || scale < 0 || scale > MAX_SCALE) {
    throw new RangeError(`money scale must be an integer in 0..${MAX_SCALE}, got ${scale}`);
  }
}

const patterns = new Map<number, RegExp>();

function moneyPattern(scale: number): RegExp {
  let pattern = patterns.get(scale);
  if (pattern === undefined) {
    // "0" or no leading zero; the fraction group is absent at scale 0.
    const fraction = scale === 0 ? '' : `(?:\\.(\\d{1,${scale}}))?`;
    pattern = new RegExp(`^(0|[1-9]\\d{0,${MAX_INTEGER_DIGITS - 1}})${fraction}$`);
    patterns.set(scale, pattern);
  }
  return pattern;
}

function exampleAmount(scale: number): string {
  return scale === 0 ? '18' : `18.${'20'.padEnd(scale, '0').slice(0, scale)}`;
}

function invalidMoney(field: string, message: string): DomainError {
  return new DomainError('VALIDATION_FAILED', message, { field });
}
