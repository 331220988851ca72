import { arrayLiteral } from './pg-tx-client';

// pg's own parameter conversion (not in its typings): what it sends for a JS array.
const { prepareValue } = jest.requireActual<{ prepareValue: (value: unknown) => unknown }>('pg/lib/utils');

/** What `pg` sends for an array once `parameter` has made its instants ISO text (the general way). */
function pgLiteral(values: readonly unknown[]): unknown {
  return prepareValue(values.map((value) => (value instanceof Date ? value.toISOString() : value)));
}

describe('arrayLiteral', () => {
  it('writes the array literal pg writes, byte for byte', () => {
    const arrays: unknown[][] = [
      [],
      ['0190a4e2-7c1d-7000-8000-000000000001', '0190a4e2-7c1d-7000-8000-000000000002'],
      ['', 'a,b', '{braces}', 'quote " inside', 'back \\ slash', '\\"both\\"', 'NULL', ' spaced ', '省份'],
      [JSON.stringify({ leaseIds: ['x'], price: '18.00', note: 'a "quoted" \\ value' })],
      [0, -1, 1.5, 2 ** 53, Number.NaN],
      [12345678901234567890n, -1n],
      [true, false],
      [null, 'x', undefined, 3],
      [new Date('2026-12-01T08:00:00.123Z'), null],
    ];
    for (const values of arrays) expect(arrayLiteral(values)).toBe(pgLiteral(values));
  });

  it('leaves nested arrays, buffers and objects to pg', () => {
    expect(arrayLiteral([['a'], ['b']])).toBeNull();
    expect(arrayLiteral([Buffer.from('ab')])).toBeNull();
    expect(arrayLiteral([{ a: 1 }])).toBeNull();
  });
});
