import { DomainError } from './domain-error';
import {
  costMinor,
  feeMinor,
  formatMoney,
  MAX_DURATION_HOURS,
  MAX_GPUS_PER_ORDER,
  MAX_PRICE_PER_GPU_HOUR_MINOR,
  parseMoney,
  type ParseMoneyOptions,
} from './money';
import { prng } from '../../test/support/prng';

const price: ParseMoneyOptions = { field: 'price', scale: 2, max: MAX_PRICE_PER_GPU_HOUR_MINOR };

function randomBigInt(random: () => number, bits: number): bigint {
  let value = 0n;
  for (let produced = 0; produced < bits; produced += 32) {
    value = (value << 32n) | BigInt(Math.floor(random() * 4294967296));
  }
  return value & ((1n << BigInt(bits)) - 1n);
}

function caught(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
}

describe('parseMoney', () => {
  it('parses decimal strings into minor units', () => {
    expect(parseMoney('18.20', price)).toBe(1820n);
    expect(parseMoney('18.2', price)).toBe(1820n);
    expect(parseMoney('18', price)).toBe(1800n);
    expect(parseMoney('0.50', price)).toBe(50n);
    expect(parseMoney('0.05', price)).toBe(5n);
    expect(parseMoney('0.01', price)).toBe(1n);
    expect(parseMoney('1000000.00', price)).toBe(MAX_PRICE_PER_GPU_HOUR_MINOR);
    expect(parseMoney('1.234', { field: 'rate', scale: 3, max: 10_000n })).toBe(1234n);
    expect(parseMoney('7', { field: 'units', scale: 0, max: 10n })).toBe(7n);
  });

  it('handles the full 15 integer digits exactly', () => {
    const max = 10n ** 17n;
    expect(parseMoney('999999999999999.99', { ...price, max })).toBe(99_999_999_999_999_999n);
    expect(parseMoney('123456789012345.67', { ...price, max })).toBe(12_345_678_901_234_567n);
  });

  it('refuses a JSON number with a message that shows the expected form', () => {
    const error = caught(() => parseMoney(18.2, price));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.status).toBe(400);
    expect(error.message).toBe('price must be a decimal string such as "18.20", not a number');
    expect(error.details).toEqual({ field: 'price' });
    expect(caught(() => parseMoney(0, { ...price, allowZero: true })).message).toMatch(/not a number/);
  });

  it('refuses every non-string value', () => {
    for (const value of [null, undefined, true, 1820n, {}, [], ['18.20'], { amount: '18.20' }]) {
      const error = caught(() => parseMoney(value, price));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.message).toBe('price must be a decimal string such as "18.20"');
    }
  });

  it('refuses malformed strings', () => {
    const malformed = [
      '',
      ' ',
      '18.20 ',
      ' 18.20',
      '+18.20',
      '-18.20',
      '-0',
      '1e3',
      '1E3',
      '18.',
      '.5',
      '00.5',
      '01',
      '007.5',
      '00',
      '1,000.00',
      '1_000',
      '0x10',
      'NaN',
      'Infinity',
      '１８',
      '18.2a',
      '1234567890123456',
      '1234567890123456.00',
      '18..2',
      '18.2.0',
      '\n18',
      '1'.repeat(10_000),
    ];
    for (const value of malformed) {
      const error = caught(() => parseMoney(value, { ...price, max: 10n ** 30n, allowZero: true }));
      expect(error.message).toBe('price must be a decimal string such as "18.20"');
    }
  });

  it('refuses more decimals than the scale', () => {
    expect(caught(() => parseMoney('18.205', price)).message).toBe(
      'price must have at most 2 decimal places',
    );
    expect(caught(() => parseMoney('0.001', price)).message).toBe('price must have at most 2 decimal places');
    expect(caught(() => parseMoney('18.200', price)).message).toBe(
      'price must have at most 2 decimal places',
    );
    expect(caught(() => parseMoney('18.5', { field: 'n', scale: 0, max: 100n })).message).toBe(
      'n must have no decimal places',
    );
  });

  it('refuses zero unless allowed', () => {
    for (const zero of ['0', '0.0', '0.00']) {
      expect(caught(() => parseMoney(zero, price)).message).toBe('price must be greater than zero');
      expect(parseMoney(zero, { ...price, allowZero: true })).toBe(0n);
    }
  });

  it('refuses values above the maximum, naming it', () => {
    const error = caught(() => parseMoney('1000000.01', price));
    expect(error.message).toBe('price must be at most 1000000.00');
    expect(error.details).toEqual({ field: 'price' });
    expect(caught(() => parseMoney('5.01', { field: 'amount', scale: 2, max: 500n })).message).toBe(
      'amount must be at most 5.00',
    );
    expect(parseMoney('5.00', { field: 'amount', scale: 2, max: 500n })).toBe(500n);
  });

  it('names the field it was given', () => {
    const error = caught(() => parseMoney(5, { ...price, field: 'maxPricePerGpuHour' }));
    expect(error.message).toMatch(/^maxPricePerGpuHour must be/);
    expect(error.details).toEqual({ field: 'maxPricePerGpuHour' });
  });

  it('round-trips with formatMoney for many random values', () => {
    const random = prng(20240601);
    const max = 10n ** 17n - 1n;
    for (let i = 0; i < 2000; i += 1) {
      const minor = (randomBigInt(random, 64) % max) + 1n;
      for (const scale of [0, 2, 3]) {
        const text = formatMoney(minor, scale);
        if (text.split('.')[0]!.length > 15) continue;
        expect(parseMoney(text, { field: 'x', scale, max })).toBe(minor);
      }
    }
  });

  it('refuses a nonsensical scale as a programming error', () => {
    expect(() => parseMoney('1', { ...price, scale: -1 })).toThrow(RangeError);
    expect(() => parseMoney('1', { ...price, scale: 1.5 })).toThrow(RangeError);
  });
});

describe('formatMoney', () => {
  it('always prints exactly `scale` decimals', () => {
    expect(formatMoney(1820n, 2)).toBe('18.20');
    expect(formatMoney(1800n, 2)).toBe('18.00');
    expect(formatMoney(5n, 2)).toBe('0.05');
    expect(formatMoney(0n, 2)).toBe('0.00');
    expect(formatMoney(MAX_PRICE_PER_GPU_HOUR_MINOR, 2)).toBe('1000000.00');
    expect(formatMoney(1234n, 3)).toBe('1.234');
    expect(formatMoney(7n, 0)).toBe('7');
    expect(formatMoney(0n, 0)).toBe('0');
  });

  it('prints negative values for ledger display', () => {
    expect(formatMoney(-5n, 2)).toBe('-0.05');
    expect(formatMoney(-1820n, 2)).toBe('-18.20');
    expect(formatMoney(-100n, 2)).toBe('-1.00');
    expect(formatMoney(-7n, 0)).toBe('-7');
  });

  it('is exact far beyond 2^53', () => {
    expect(formatMoney(2n ** 64n + 1n, 2)).toBe('184467440737095516.17');
    expect(formatMoney(-(2n ** 64n), 2)).toBe('-184467440737095516.16');
  });

  it('matches an independent rendering for many random values', () => {
    const random = prng(7);
    for (let i = 0; i < 2000; i += 1) {
      const minor = randomBigInt(random, 80) - (1n << 79n);
      const abs = minor < 0n ? -minor : minor;
      const expected = `${minor < 0n ? '-' : ''}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
      expect(formatMoney(minor, 2)).toBe(expected);
    }
  });
});

describe('costMinor and feeMinor', () => {
  const maxGpuSeconds = BigInt(MAX_GPUS_PER_ORDER) * BigInt(MAX_DURATION_HOURS) * 3600n;

  it('keeps the caps documented in the design', () => {
    expect(MAX_PRICE_PER_GPU_HOUR_MINOR).toBe(100_000_000n);
    expect(MAX_GPUS_PER_ORDER).toBe(10_000);
    expect(MAX_DURATION_HOURS).toBe(720);
  });

  it('prices one GPU-hour at the hourly price', () => {
    expect(costMinor(1820n, 3600n)).toBe(1820n);
    expect(costMinor(1820n, 7200n)).toBe(3640n);
    expect(costMinor(1820n, 0n)).toBe(0n);
    expect(costMinor(0n, 3600n)).toBe(0n);
  });

  it('floors partial minor units', () => {
    // 18.20 for 1 second = 1820/3600 = 0.505... minor units.
    expect(costMinor(1820n, 1n)).toBe(0n);
    expect(costMinor(1820n, 2n)).toBe(1n);
    expect(costMinor(1n, 3599n)).toBe(0n);
    expect(costMinor(1n, 3600n)).toBe(1n);
    expect(feeMinor(99n, 100)).toBe(0n);
    expect(feeMinor(100n, 100)).toBe(1n);
    expect(feeMinor(12345n, 250)).toBe(308n);
  });

  it('is exact at the caps, where the intermediate product passes 2^53', () => {
    expect(maxGpuSeconds).toBe(25_920_000_000n);
    const product = MAX_PRICE_PER_GPU_HOUR_MINOR * maxGpuSeconds;
    expect(product).toBe(2_592_000_000_000_000_000n);
    expect(product > 2n ** 53n).toBe(true);
    expect(costMinor(MAX_PRICE_PER_GPU_HOUR_MINOR, maxGpuSeconds)).toBe(720_000_000_000_000n);
    expect(feeMinor(720_000_000_000_000n, 10_000)).toBe(720_000_000_000_000n);
    expect(feeMinor(720_000_000_000_000n, 250)).toBe(18_000_000_000_000n);
    // Just under the caps, where Number arithmetic would round the product.
    expect(costMinor(99_999_999n, 25_919_999_999n)).toBe(719_999_992_772_222n);
    expect(feeMinor(719_999_992_772_222n, 1234)).toBe(88_847_999_108_092n);
    // Here Number arithmetic rounds up a minor unit; bigint must not.
    expect(costMinor(99_997_439n, 25_919_999_999n)).toBe(719_981_560_772_222n);
    expect(Math.floor((99_997_439 * 25_919_999_999) / 3600)).toBe(719_981_560_772_223);
  });

  it('is exact for results beyond 2^53', () => {
    expect(costMinor(MAX_PRICE_PER_GPU_HOUR_MINOR, 2n ** 53n + 7n)).toBe(250_199_979_298_361_083_333n);
    expect(feeMinor(2n ** 53n + 1n, 9999)).toBe(9_006_298_534_815_518n);
    expect(feeMinor(2n ** 53n + 1n, 250)).toBe(225_179_981_368_524n);
  });

  it('satisfies the floor definition for many random inputs', () => {
    const random = prng(42);
    for (let i = 0; i < 2000; i += 1) {
      const unitPrice = randomBigInt(random, 27) % (MAX_PRICE_PER_GPU_HOUR_MINOR + 1n);
      const gpuSeconds = randomBigInt(random, 35) % (maxGpuSeconds + 1n);
      const cost = costMinor(unitPrice, gpuSeconds);
      expect(cost * 3600n <= unitPrice * gpuSeconds).toBe(true);
      expect((cost + 1n) * 3600n > unitPrice * gpuSeconds).toBe(true);
      // Split the price so the reference takes a different path to the same number.
      const reference = (unitPrice / 3600n) * gpuSeconds + ((unitPrice % 3600n) * gpuSeconds) / 3600n;
      expect(cost).toBe(reference);

      const bps = Math.floor(random() * 10_001);
      const fee = feeMinor(cost, bps);
      expect(fee * 10_000n <= cost * BigInt(bps)).toBe(true);
      expect((fee + 1n) * 10_000n > cost * BigInt(bps)).toBe(true);
      expect(fee <= cost).toBe(true);
    }
  });

  it('refuses negative operands and out-of-range bps as programming errors', () => {
    expect(() => costMinor(-1n, 3600n)).toThrow(RangeError);
    expect(() => costMinor(1n, -3600n)).toThrow(RangeError);
    expect(() => feeMinor(-1n, 100)).toThrow(RangeError);
    expect(() => feeMinor(100n, -1)).toThrow(RangeError);
    expect(() => feeMinor(100n, 10_001)).toThrow(RangeError);
    expect(() => feeMinor(100n, 2.5)).toThrow(RangeError);
    expect(() => feeMinor(100n, Number.NaN)).toThrow(RangeError);
  });
});
