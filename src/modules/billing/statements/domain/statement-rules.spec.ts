import fc from 'fast-check';
import { DomainError } from '@/shared/domain-error';
import { invoiceNumber, splitVatInclusive, statementRange } from './statement-rules';

describe('splitVatInclusive', () => {
  it('takes nothing out at the default rate of 0', () => {
    expect(splitVatInclusive(5800n, 0)).toEqual({ net: 5800n, vat: 0n, gross: 5800n });
  });

  it('extracts 6% VAT from a VAT-inclusive gross, rounding half up', () => {
    // 106.00 at 6%: 106.00 x 600 / 10,600 = 6.00 exactly.
    expect(splitVatInclusive(10_600n, 600)).toEqual({ net: 10_000n, vat: 600n, gross: 10_600n });
    // 58.20 at 6%: 5820 x 600 / 10600 = 329.43... -> 329.
    expect(splitVatInclusive(5820n, 600)).toEqual({ net: 5491n, vat: 329n, gross: 5820n });
    // 0.53 at 6%: 53 x 600 / 10600 = 3.0 exactly; 0.09 at 6%: 0.509... -> 1 (half up from .5094).
    expect(splitVatInclusive(53n, 600).vat).toBe(3n);
    expect(splitVatInclusive(9n, 600).vat).toBe(1n);
    // 13% on 1.13 = 0.13; exactly half: 1 x 10000 / 20000 = 0.5 -> 1 at 100%.
    expect(splitVatInclusive(113n, 1300).vat).toBe(13n);
    expect(splitVatInclusive(1n, 10_000).vat).toBe(1n);
  });

  it('always sums back to the gross, with the VAT within half a minor unit of the exact share', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.integer({ min: 0, max: 10_000 }),
        (gross, bps) => {
          const { net, vat } = splitVatInclusive(gross, bps);
          expect(net + vat).toBe(gross);
          expect(net >= 0n && vat >= 0n).toBe(true);
          // |vat x (10000 + bps) - gross x bps| <= (10000 + bps) / 2
          const error = vat * BigInt(10_000 + bps) - gross * BigInt(bps);
          const bound = BigInt(10_000 + bps);
          expect(2n * (error < 0n ? -error : error) <= bound).toBe(true);
        },
      ),
    );
  });

  it('refuses a rate out of range', () => {
    expect(() => splitVatInclusive(1n, -1)).toThrow(RangeError);
    expect(() => splitVatInclusive(1n, 10_001)).toThrow(RangeError);
    expect(() => splitVatInclusive(1n, 1.5)).toThrow(RangeError);
  });
});

describe('invoiceNumber', () => {
  it('pads the sequence to six digits and grows past them', () => {
    expect(invoiceNumber('CX', 2026, 1)).toBe('CX-2026-000001');
    expect(invoiceNumber('CX', 2027, 123_456)).toBe('CX-2027-123456');
    expect(invoiceNumber('CX', 2027, 1_234_567)).toBe('CX-2027-1234567');
    expect(() => invoiceNumber('CX', 2026, 0)).toThrow(RangeError);
  });
});

describe('statementRange', () => {
  const now = new Date('2026-12-01T12:00:00Z');

  it('defaults to the 30 days up to now', () => {
    expect(statementRange(undefined, undefined, now)).toEqual({
      from: new Date('2026-11-01T12:00:00Z'),
      to: now,
    });
  });

  it('accepts 366 days and refuses more, and an empty or reversed range', () => {
    // 2025-11-30 to 2026-12-01: 366 days (no leap day between).
    const from = new Date('2025-11-30T12:00:00Z');
    expect(statementRange(from, now, now).from).toEqual(from);
    expect(() => statementRange(new Date(from.getTime() - 1), now, now)).toThrow(DomainError);
    expect(() => statementRange(now, now, now)).toThrow(/from must be before to/);
  });
});
