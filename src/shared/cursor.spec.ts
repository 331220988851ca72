import { createHmac, randomBytes } from 'node:crypto';
import { CURSOR_MAX_LENGTH, decodeCursor, encodeCursor, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX } from './cursor';
import { DomainError } from './domain-error';
import { prng } from '../../test/support/prng';

const key = Buffer.alloc(32, 7);
const otherKey = Buffer.alloc(32, 8);
const shape = ['createdAt', 'id'] as const;

// Mints a correctly signed cursor around arbitrary payload text, to reach the checks after the MAC.
function signedCursor(payloadText: string | Buffer): string {
  const payload = Buffer.from(payloadText).toString('base64url');
  const mac = createHmac('sha256', key).update('cx-cursor-v1.').update(payload).digest().subarray(0, 16);
  return `${payload}.${mac.toString('base64url')}`;
}

function expectInvalid(cursor: unknown, fields: readonly string[] = shape, withKey: Buffer = key): void {
  let error: unknown;
  try {
    decodeCursor(cursor, withKey, fields);
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(DomainError);
  expect((error as DomainError).code).toBe('BAD_REQUEST');
  expect((error as DomainError).status).toBe(400);
  expect((error as DomainError).message).toBe('cursor is invalid');
}

describe('page sizes', () => {
  it('defaults to 20 and caps at 100', () => {
    expect(PAGE_SIZE_DEFAULT).toBe(20);
    expect(PAGE_SIZE_MAX).toBe(100);
  });
});

describe('encodeCursor and decodeCursor', () => {
  const position = { createdAt: '2025-03-01T10:00:00.000Z', id: '0195a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b' };

  it('round-trips a position', () => {
    const cursor = encodeCursor(position, key);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(decodeCursor(cursor, key, shape)).toEqual(position);
  });

  it('returns numbers as strings', () => {
    const cursor = encodeCursor({ seq: 42, price: '18.20' }, key);
    expect(decodeCursor(cursor, key, ['seq', 'price'])).toEqual({ seq: '42', price: '18.20' });
    expect(decodeCursor(cursor, key, ['price', 'seq'])).toEqual({ seq: '42', price: '18.20' });
  });

  it('gives the same cursor for the same position in any key order', () => {
    const reordered = { id: position.id, createdAt: position.createdAt };
    expect(encodeCursor(reordered, key)).toBe(encodeCursor(position, key));
  });

  it('keeps the position opaque to casual reading but carries no secret', () => {
    const cursor = encodeCursor(position, key);
    expect(cursor).not.toContain(position.id);
    const payload = cursor.split('.')[0]!;
    expect(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))).toEqual(position);
  });

  it('refuses a cursor signed with another key', () => {
    expectInvalid(encodeCursor(position, otherKey));
  });

  it('refuses a cursor whose fields differ from the shape', () => {
    const cursor = encodeCursor(position, key);
    expectInvalid(cursor, ['createdAt']);
    expectInvalid(cursor, ['createdAt', 'id', 'seq']);
    expectInvalid(cursor, ['createdAt', 'uuid']);
    expectInvalid(cursor, []);
    expectInvalid(encodeCursor({ createdAt: position.createdAt }, key));
  });

  it('refuses non-strings and oversized input', () => {
    for (const value of [undefined, null, 42, true, {}, [], ['a.b'], Buffer.from('x')]) {
      expectInvalid(value);
    }
    expectInvalid('');
    expectInvalid('a'.repeat(CURSOR_MAX_LENGTH + 1));
    expectInvalid(`${'a'.repeat(CURSOR_MAX_LENGTH)}.${'A'.repeat(22)}`);
  });

  it('refuses malformed text', () => {
    const cursor = encodeCursor(position, key);
    const [payload, mac] = cursor.split('.') as [string, string];
    const malformed = [
      payload,
      `.${mac}`,
      `${payload}.`,
      `${payload}..${mac}`,
      `${payload}.${mac}.${mac}`,
      `${payload}.${mac}=`,
      `${payload}=.${mac}`,
      `${payload}.${mac.slice(1)}`,
      `${payload}.${mac}A`,
      ` ${cursor}`,
      `${cursor}\n`,
      `${payload}.${mac.slice(0, -1)}+`,
      `${payload}.${mac.slice(0, -1)}/`,
      `${payload}.${Buffer.from(mac, 'base64url').toString('base64')}`,
    ];
    for (const value of malformed) expectInvalid(value);
  });

  it('refuses a non-canonical spelling of the MAC', () => {
    const cursor = encodeCursor(position, key);
    const [payload, mac] = cursor.split('.') as [string, string];
    // The final character of 22 carries 2 spare bits; another letter with equal leading bits decodes alike.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(mac.at(-1)!);
    const twin = alphabet[last ^ 1]!;
    const variant = `${payload}.${mac.slice(0, -1)}${twin}`;
    expect(Buffer.from(variant.split('.')[1]!, 'base64url')).toEqual(Buffer.from(mac, 'base64url'));
    expectInvalid(variant);
  });

  it('refuses a random one-character tampering of each of many cursors', () => {
    const random = prng(1234);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    for (let i = 0; i < 300; i += 1) {
      const cursor = encodeCursor(
        {
          createdAt: new Date(Math.floor(random() * 2e12)).toISOString(),
          id: randomBytes(8).toString('hex'),
        },
        key,
      );
      expect(decodeCursor(cursor, key, shape)).toBeDefined();
      const at = Math.floor(random() * cursor.length);
      let replacement = cursor[at]!;
      while (replacement === cursor[at]) replacement = alphabet[Math.floor(random() * alphabet.length)]!;
      expectInvalid(cursor.slice(0, at) + replacement + cursor.slice(at + 1));
    }
  });

  it('refuses a forged MAC over an edited position', () => {
    const forged = Buffer.from(JSON.stringify({ createdAt: '1970-01-01T00:00:00.000Z', id: 'x' })).toString(
      'base64url',
    );
    const random = prng(5);
    for (let i = 0; i < 200; i += 1) {
      const mac = Buffer.from(Array.from({ length: 16 }, () => Math.floor(random() * 256)));
      expectInvalid(`${forged}.${mac.toString('base64url')}`);
    }
  });

  it('refuses signed payloads that are not a position of strings', () => {
    expect(decodeCursor(signedCursor('{"createdAt":"a","id":"b"}'), key, shape)).toEqual({
      createdAt: 'a',
      id: 'b',
    });
    expectInvalid(signedCursor('not json'));
    expectInvalid(signedCursor(''));
    expectInvalid(signedCursor('null'));
    expectInvalid(signedCursor('"createdAt"'));
    expectInvalid(signedCursor('["a","b"]'));
    expectInvalid(signedCursor('{"createdAt":"a","id":1}'));
    expectInvalid(signedCursor('{"createdAt":"a","id":null}'));
    expectInvalid(signedCursor('{"createdAt":"a","id":{"x":"y"}}'));
    expectInvalid(signedCursor('{"createdAt":"a","id":"b","extra":"c"}'));
    expectInvalid(signedCursor('{"createdAt":"a","__proto__":"b"}'));
    expectInvalid(signedCursor(Buffer.from([0xff, 0xfe, 0x7b, 0x7d])));
  });

  it('refuses to produce a cursor it would later refuse', () => {
    expect(() => encodeCursor({ id: 'x'.repeat(CURSOR_MAX_LENGTH) }, key)).toThrow(RangeError);
    expect(() => encodeCursor({ seq: Number.NaN }, key)).toThrow(RangeError);
    expect(() => encodeCursor({ seq: Number.POSITIVE_INFINITY }, key)).toThrow(RangeError);
    expect(() => encodeCursor({ id: undefined } as unknown as Record<string, string>, key)).toThrow(
      RangeError,
    );
  });

  it('requires a key of at least 32 bytes', () => {
    expect(() => encodeCursor(position, Buffer.alloc(16))).toThrow(RangeError);
    expect(() => decodeCursor('x', Buffer.alloc(31), shape)).toThrow(RangeError);
  });
});
