import { createHash, createHmac } from 'node:crypto';
import { API_KEY_LENGTH, apiKeyMatches, generateApiKey, hashApiKey, parseApiKey } from './api-key';
import { prng } from '../../../../test/support/prng';

const pepper = 'p'.repeat(32);
const KEY_PATTERN = /^cx_(live|test)_[a-z2-7]{12}_[A-Za-z0-9_-]{43}[A-Za-z0-9_-]{6}$/;

// Recomputes the checksum independently so the tests can build keys that differ only in shape.
function withChecksum(body: string): string {
  return body + createHash('sha256').update(body).digest('base64url').slice(0, 6);
}

describe('generateApiKey', () => {
  it('mints keys of the documented format', () => {
    for (const env of ['live', 'test'] as const) {
      const { key, prefix, lastFour } = generateApiKey(env);
      expect(key).toMatch(KEY_PATTERN);
      expect(key).toHaveLength(API_KEY_LENGTH);
      expect(key.startsWith(`cx_${env}_`)).toBe(true);
      expect(prefix).toMatch(new RegExp(`^cx_${env}_[a-z2-7]{12}$`));
      expect(key.startsWith(`${prefix}_`)).toBe(true);
      expect(lastFour).toBe(key.slice(-4));
      expect(key).toBe(withChecksum(key.slice(0, -6)));
    }
  });

  it('carries a 32-byte secret', () => {
    const { key } = generateApiKey('live');
    const secret = key.slice(21, 64);
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    expect(Buffer.from(secret, 'base64url').toString('base64url')).toBe(secret);
  });

  it('never repeats an id or a secret and spreads id letters evenly', () => {
    const ids = new Set<string>();
    const secrets = new Set<string>();
    const counts = new Map<string, number>();
    const total = 2000;
    for (let i = 0; i < total; i += 1) {
      const { key, prefix } = generateApiKey('live');
      ids.add(prefix);
      secrets.add(key.slice(21, 64));
      for (const letter of prefix.slice(8)) counts.set(letter, (counts.get(letter) ?? 0) + 1);
      expect(parseApiKey(key)).toEqual({ prefix, env: 'live' });
    }
    expect(ids.size).toBe(total);
    expect(secrets.size).toBe(total);
    expect(counts.size).toBe(32);
    // Expected 750 per letter; a biased generator (e.g. modulo 26) falls well outside this band.
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(600);
      expect(count).toBeLessThan(900);
    }
  });
});

describe('parseApiKey', () => {
  it('returns the prefix and environment of a well-formed key', () => {
    const live = generateApiKey('live');
    const test = generateApiKey('test');
    expect(parseApiKey(live.key)).toEqual({ prefix: live.prefix, env: 'live' });
    expect(parseApiKey(test.key)).toEqual({ prefix: test.prefix, env: 'test' });
  });

  it('rejects a random typo and a random adjacent swap in each of many keys', () => {
    const random = prng(77);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < 300; i += 1) {
      const { key } = generateApiKey(random() < 0.5 ? 'live' : 'test');
      const at = Math.floor(random() * key.length);
      let replacement = key[at]!;
      while (replacement === key[at]) replacement = alphabet[Math.floor(random() * alphabet.length)]!;
      expect(parseApiKey(key.slice(0, at) + replacement + key.slice(at + 1))).toBeNull();
      const swapAt = Math.floor(random() * (key.length - 1));
      if (key[swapAt] !== key[swapAt + 1]) {
        const swapped = key.slice(0, swapAt) + key[swapAt + 1]! + key[swapAt]! + key.slice(swapAt + 2);
        expect(parseApiKey(swapped)).toBeNull();
      }
    }
  });

  it('rejects non-strings and wrongly sized input', () => {
    const { key } = generateApiKey('live');
    for (const value of [undefined, null, 1, {}, [key], Buffer.from(key)]) {
      expect(parseApiKey(value)).toBeNull();
    }
    for (const value of [
      '',
      key.slice(0, -1),
      `${key}A`,
      ` ${key}`,
      `${key}\n`,
      `Bearer ${key}`,
      key.repeat(100),
    ]) {
      expect(parseApiKey(value)).toBeNull();
    }
  });

  it('rejects keys with a valid checksum but the wrong shape', () => {
    const secret = 'A'.repeat(43);
    const good = withChecksum(`cx_live_abcdefgh2345_${secret}`);
    expect(parseApiKey(good)).toEqual({ prefix: 'cx_live_abcdefgh2345', env: 'live' });
    const wrongShapes = [
      `cx_prod_abcdefgh2345_${secret}`,
      `CX_live_abcdefgh2345_${secret}`,
      `cx_LIVE_abcdefgh2345_${secret}`,
      `cx_live_ABCDEFGH2345_${secret}`,
      `cx_live_abcdefgh0189_${secret}`,
      `cx_live_abcdefgh2345-${secret}`,
      `cx-live_abcdefgh2345_${secret}`,
      `cx_live_abcdefgh2345_${'A'.repeat(42)}B`,
      `cx_live_abcdefgh2345_${'A'.repeat(42)}=`,
      `cx_live_abcdefgh2345_${'A'.repeat(41)}+A`,
      `cx_live_abcdefgh234_${secret}A`,
    ];
    for (const body of wrongShapes) {
      expect(body).toHaveLength(64);
      expect(parseApiKey(withChecksum(body))).toBeNull();
    }
  });
});

describe('hashApiKey and apiKeyMatches', () => {
  const { key } = generateApiKey('live');

  it('stores HMAC-SHA-256 of the key under the pepper', () => {
    const hash = hashApiKey(key, pepper);
    expect(hash).toEqual(createHmac('sha256', pepper).update(key).digest());
    expect(hash).toHaveLength(32);
    expect(hashApiKey(key, pepper)).toEqual(hash);
    expect(hashApiKey(key, 'q'.repeat(32))).not.toEqual(hash);
    expect(hash).not.toEqual(createHash('sha256').update(key).digest());
  });

  it('matches only the same key under the same pepper', () => {
    const stored = hashApiKey(key, pepper);
    expect(apiKeyMatches(key, pepper, stored)).toBe(true);
    expect(apiKeyMatches(generateApiKey('live').key, pepper, stored)).toBe(false);
    expect(apiKeyMatches(key, 'q'.repeat(32), stored)).toBe(false);
    const flipped = Buffer.from(stored);
    flipped[31] = flipped[31]! ^ 1;
    expect(apiKeyMatches(key, pepper, flipped)).toBe(false);
  });

  it('matches nothing against a stored hash of the wrong size', () => {
    const stored = hashApiKey(key, pepper);
    expect(apiKeyMatches(key, pepper, stored.subarray(0, 31))).toBe(false);
    expect(apiKeyMatches(key, pepper, Buffer.concat([stored, Buffer.alloc(1)]))).toBe(false);
    expect(apiKeyMatches(key, pepper, Buffer.alloc(0))).toBe(false);
  });

  it('refuses a pepper too short to be a secret', () => {
    expect(() => hashApiKey(key, '')).toThrow(RangeError);
    expect(() => hashApiKey(key, 'p'.repeat(31))).toThrow(RangeError);
    expect(() => apiKeyMatches(key, 'short', Buffer.alloc(32))).toThrow(RangeError);
  });
});
