import { createHash, createHmac } from 'node:crypto';
import { canonicalJson, requestFingerprint } from './canonical-json';
import { DomainError } from './domain-error';
import { prng } from '../../test/support/prng';

// Random JSON data, so the properties below hold for shapes nobody thought to write down.
function randomJson(random: () => number, depth: number): unknown {
  const pick = Math.floor(random() * (depth > 3 ? 4 : 6));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return random() < 0.5 ? Math.floor(random() * 1e6) - 5e5 : (random() - 0.5) * 1e12;
    case 3:
      return Array.from({ length: Math.floor(random() * 6) }, () =>
        String.fromCharCode(32 + Math.floor(random() * 0x2fff)),
      ).join('');
    case 4:
      return Array.from({ length: Math.floor(random() * 4) }, () => randomJson(random, depth + 1));
    default: {
      const record: Record<string, unknown> = {};
      for (let i = Math.floor(random() * 5); i > 0; i -= 1) {
        record[`k${Math.floor(random() * 20)}${random() < 0.2 ? 'é' : ''}`] = randomJson(random, depth + 1);
      }
      return record;
    }
  }
}

function shuffleKeys(value: unknown, random: () => number): unknown {
  if (Array.isArray(value)) return value.map((item) => shuffleKeys(item, random));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  for (let i = entries.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return Object.fromEntries(entries.map(([key, item]) => [key, shuffleKeys(item, random)]));
}

describe('canonicalJson', () => {
  it('sorts keys recursively, keeps array order and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1, 2], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,1,2]},"b":1}');
    expect(canonicalJson([{ z: 1, y: 2 }, []])).toBe('[{"y":2,"z":1},[]]');
    expect(canonicalJson({})).toBe('{}');
    expect(canonicalJson([])).toBe('[]');
  });

  it('serialises scalars as JSON does', () => {
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson(true)).toBe('true');
    expect(canonicalJson(false)).toBe('false');
    expect(canonicalJson(0)).toBe('0');
    expect(canonicalJson(-0)).toBe('0');
    expect(canonicalJson(1.5)).toBe('1.5');
    expect(canonicalJson(1e21)).toBe('1e+21');
    expect(canonicalJson('18.20')).toBe('"18.20"');
    expect(canonicalJson('quote " and \\ and \n')).toBe('"quote \\" and \\\\ and \\n"');
    expect(canonicalJson('上海')).toBe('"上海"');
  });

  it('orders keys by UTF-16 code unit, as RFC 8785', () => {
    expect(canonicalJson({ b: 0, B: 0, a: 0, '10': 0, '9': 0, é: 0, '': 0 })).toBe(
      '{"":0,"10":0,"9":0,"B":0,"a":0,"b":0,"é":0}',
    );
  });

  it('accepts objects without a prototype', () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare.b = 2;
    bare.a = 1;
    expect(canonicalJson(bare)).toBe('{"a":1,"b":2}');
  });

  it('keeps a "__proto__" key that JSON.parse produced', () => {
    expect(canonicalJson(JSON.parse('{"__proto__":{"x":1},"a":1}'))).toBe('{"__proto__":{"x":1},"a":1}');
  });

  it('throws on values JSON cannot represent', () => {
    const refused: unknown[] = [
      undefined,
      () => 1,
      Symbol('s'),
      10n,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      { a: undefined },
      [1, undefined],
      // A sparse array (a hole at index 1), built without a sparse literal.
      Object.assign(new Array<number>(3), { 0: 1, 2: 3 }),
      { nested: { deeper: [1n] } },
      new Date(0),
      new Map(),
      Buffer.from('x'),
      { when: new Date(0) },
    ];
    for (const value of refused) {
      expect(() => canonicalJson(value)).toThrow(TypeError);
    }
    expect(() => canonicalJson({ nested: { deeper: [1n] } })).toThrow('$.nested.deeper[0] is a bigint');
  });

  it('throws on cycles but accepts shared references', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow('$.self is a circular reference');
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: [shared] })).toBe('{"a":{"x":1},"b":[{"x":1}]}');
  });

  it('refuses hostile nesting with a 400 instead of overflowing the stack', () => {
    const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)) as unknown;
    let error: unknown;
    try {
      canonicalJson(deep);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('BAD_REQUEST');
    expect(canonicalJson(JSON.parse('['.repeat(64) + ']'.repeat(64)))).toBe('['.repeat(64) + ']'.repeat(64));
  });

  it('ignores key order and round-trips through JSON.parse for many random values', () => {
    const random = prng(99);
    for (let i = 0; i < 500; i += 1) {
      const value = randomJson(random, 0);
      const canonical = canonicalJson(value);
      expect(canonicalJson(shuffleKeys(value, random))).toBe(canonical);
      expect(JSON.parse(canonical)).toEqual(JSON.parse(JSON.stringify(value)));
      expect(canonicalJson(JSON.parse(canonical))).toBe(canonical);
      expect(canonical).not.toMatch(/[\n\r\t]/);
    }
  });
});

describe('requestFingerprint', () => {
  const body = { market: 'nvidia-h100-80gb', gpus: 8, maxPricePerGpuHour: '18.20' };
  const key = Buffer.from('a server key of the test, 32 bytes');
  const fingerprint = (method: string, route: string, value: unknown) =>
    requestFingerprint(method, route, value, key);

  it('is the hex HMAC-SHA-256 under the key of method, route and canonical body', () => {
    const text = 'POST /v1/bids\n{"gpus":8,"market":"nvidia-h100-80gb","maxPricePerGpuHour":"18.20"}';
    const expected = createHmac('sha256', key).update(text).digest('hex');
    expect(fingerprint('POST', '/v1/bids', body)).toBe(expected);
    expect(fingerprint('post', '/v1/bids', body)).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
    // Without the key, a stored fingerprint confirms no guess of the body.
    expect(expected).not.toBe(createHash('sha256').update(text).digest('hex'));
    expect(requestFingerprint('POST', '/v1/bids', body, Buffer.from('another key'))).not.toBe(expected);
  });

  it('is equal for the same body in any key order', () => {
    const reordered = { maxPricePerGpuHour: '18.20', gpus: 8, market: 'nvidia-h100-80gb' };
    expect(fingerprint('POST', '/v1/bids', reordered)).toBe(fingerprint('POST', '/v1/bids', body));
  });

  it('differs when the body, route or method differ', () => {
    const base = fingerprint('POST', '/v1/bids', body);
    expect(fingerprint('POST', '/v1/bids', { ...body, gpus: 9 })).not.toBe(base);
    expect(fingerprint('POST', '/v1/bids', { ...body, maxPricePerGpuHour: '18.2' })).not.toBe(base);
    expect(fingerprint('POST', '/v1/offers', body)).not.toBe(base);
    expect(fingerprint('PUT', '/v1/bids', body)).not.toBe(base);
    expect(fingerprint('POST', '/v1/bids', [body])).not.toBe(base);
  });

  it('treats a missing body as null, distinct from an empty object', () => {
    const expected = createHmac('sha256', key).update('POST /v1/topups\nnull').digest('hex');
    expect(fingerprint('POST', '/v1/topups', undefined)).toBe(expected);
    expect(fingerprint('POST', '/v1/topups', null)).toBe(expected);
    expect(fingerprint('POST', '/v1/topups', {})).not.toBe(expected);
  });
});
