import { createHash } from 'node:crypto';
import {
  generateOpaqueToken,
  hashOpaqueToken,
  isOpaqueTokenFormat,
  type OpaqueTokenKind,
} from './opaque-token';

const kinds: OpaqueTokenKind[] = ['rt', 'inv', 'st'];

describe('generateOpaqueToken', () => {
  it('mints `cx<kind>_` and 32 random bytes in base64url', () => {
    for (const kind of kinds) {
      const token = generateOpaqueToken(kind);
      expect(token).toMatch(new RegExp(`^cx${kind}_[A-Za-z0-9_-]{43}$`));
      const secret = token.slice(`cx${kind}_`.length);
      expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
      expect(Buffer.from(secret, 'base64url').toString('base64url')).toBe(secret);
      expect(isOpaqueTokenFormat(kind, token)).toBe(true);
    }
  });

  it('never repeats a token', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i += 1) {
      const token = generateOpaqueToken('rt');
      expect(isOpaqueTokenFormat('rt', token)).toBe(true);
      seen.add(token);
    }
    expect(seen.size).toBe(2000);
  });
});

describe('hashOpaqueToken', () => {
  it('is SHA-256 of the whole token', () => {
    const token = generateOpaqueToken('rt');
    const hash = hashOpaqueToken(token);
    expect(hash).toEqual(createHash('sha256').update(token).digest());
    expect(hash).toHaveLength(32);
    expect(hashOpaqueToken(token)).toEqual(hash);
    expect(hashOpaqueToken(generateOpaqueToken('rt'))).not.toEqual(hash);
  });
});

describe('isOpaqueTokenFormat', () => {
  it('refuses a token of the other kind', () => {
    expect(isOpaqueTokenFormat('inv', generateOpaqueToken('rt'))).toBe(false);
    expect(isOpaqueTokenFormat('rt', generateOpaqueToken('inv'))).toBe(false);
  });

  it('refuses non-strings and malformed strings', () => {
    const token = generateOpaqueToken('rt');
    const secret = token.slice(5);
    const refused: unknown[] = [
      undefined,
      null,
      42,
      {},
      [token],
      Buffer.from(token),
      '',
      'cxrt_',
      token.slice(0, -1),
      `${token}A`,
      ` ${token}`,
      `${token}\n`,
      `Bearer ${token}`,
      `CXRT_${secret}`,
      `cxrt-${secret}`,
      `cxinv${secret}`,
      `cxrt_${secret.slice(0, -1)}=`,
      `cxrt_${secret.slice(0, -2)}+A`,
      `cxrt_${secret.slice(0, -2)}/A`,
      // A last character with non-zero spare bits is a non-canonical encoding.
      `cxrt_${'A'.repeat(42)}B`,
      token.repeat(1000),
    ];
    for (const candidate of refused) {
      expect(isOpaqueTokenFormat('rt', candidate)).toBe(false);
    }
    expect(isOpaqueTokenFormat('rt', `cxrt_${'A'.repeat(42)}E`)).toBe(true);
  });

  it('narrows an unknown value to a string', () => {
    const candidate: unknown = generateOpaqueToken('inv');
    if (!isOpaqueTokenFormat('inv', candidate)) throw new Error('expected a token');
    expect(candidate.startsWith('cxinv_')).toBe(true);
  });
});
