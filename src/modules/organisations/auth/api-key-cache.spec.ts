import { Clock } from '@/infra/clock/clock';
import type { AppConfig } from '@/infra/config/app-config';
import { generateApiKey } from '../domain/api-key';
import { API_KEY_CACHE_MAX_ENTRIES, ApiKeyCache, type VerifiedApiKey } from './api-key-cache';

class FixedClock extends Clock {
  constructor(public at: number) {
    super();
  }

  now(): Date {
    return new Date(this.at);
  }
}

const key = (prefix: string, organisationId = 'org-1'): VerifiedApiKey => ({
  id: `id-${prefix}`,
  organisationId,
  name: 'k',
  prefix,
  secretHash: new Uint8Array(32),
  lastFour: 'abcd',
  scopes: ['orders'],
  createdAt: new Date(0),
  lastUsedAt: null,
  expiresAt: null,
  revokedAt: null,
  rotatedFromId: null,
  organisation: {
    id: organisationId,
    name: 'o',
    role: 'BUYER',
    status: 'VERIFIED',
    createdAt: new Date(0),
    verifiedAt: null,
    suspendedAt: null,
  },
});

describe('ApiKeyCache', () => {
  const T0 = 1_800_000_000_000;
  const cacheWith = (ttl: number) => {
    const clock = new FixedClock(T0);
    const config = { env: { API_KEY_CACHE_TTL_MS: ttl } } as unknown as AppConfig;
    return { clock, cache: new ApiKeyCache(clock, config) };
  };

  it('reuses an entry for less than the TTL from when it was read, never longer', () => {
    const { clock, cache } = cacheWith(5_000);
    cache.remember(key('a'), new Date(T0));
    clock.at = T0 + 4_999;
    expect(cache.get('a')?.prefix).toBe('a');
    clock.at = T0 + 5_000;
    expect(cache.get('a')).toBeUndefined();
    // Lapsed entries are dropped, not revived by a clock moved back.
    clock.at = T0;
    expect(cache.get('a')).toBeUndefined();
  });

  it('treats an entry read "in the future" (the clock moved backwards) as stale', () => {
    const { clock, cache } = cacheWith(5_000);
    cache.remember(key('a'), new Date(T0));
    clock.at = T0 - 1;
    expect(cache.get('a')).toBeUndefined();
  });

  it('keeps nothing with a TTL of 0', () => {
    const { cache } = cacheWith(0);
    cache.remember(key('a'), new Date(T0));
    expect(cache.get('a')).toBeUndefined();
  });

  it('forgets a key, or every key of an organisation', () => {
    const { cache } = cacheWith(5_000);
    cache.remember(key('a', 'org-1'), new Date(T0));
    cache.remember(key('b', 'org-1'), new Date(T0));
    cache.remember(key('c', 'org-2'), new Date(T0));
    cache.forgetKey('a');
    expect(cache.get('a')).toBeUndefined();
    cache.forgetOrganisation('org-1');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('c')?.prefix).toBe('c');
  });

  it('records a last-used stamp on the cached entry', () => {
    const { cache } = cacheWith(5_000);
    cache.remember(key('a'), new Date(T0));
    cache.touched('a', new Date(T0 + 10));
    expect(cache.get('a')?.lastUsedAt).toEqual(new Date(T0 + 10));
  });

  it('recognises the key it verified, byte for byte, until the entry lapses or is forgotten', () => {
    const { clock, cache } = cacheWith(5_000);
    const { key: full, prefix } = generateApiKey('live');
    cache.remember(key(prefix), new Date(T0), full);
    expect(cache.verified(full)?.prefix).toBe(prefix);
    // Same prefix, another secret: not recognised (the caller checks it against the hash).
    const other = `${full.slice(0, -1)}${full.endsWith('A') ? 'B' : 'A'}`;
    expect(cache.verified(other)).toBeUndefined();
    expect(cache.verified(full.slice(0, -1))).toBeUndefined();
    clock.at = T0 + 5_000;
    expect(cache.verified(full)).toBeUndefined();
    clock.at = T0;
    cache.remember(key(prefix), new Date(T0), full);
    cache.forgetKey(prefix);
    expect(cache.verified(full)).toBeUndefined();
    // An entry kept without the presented key recognises nothing.
    cache.remember(key(prefix), new Date(T0));
    expect(cache.verified(full)).toBeUndefined();
  });

  it('holds at most API_KEY_CACHE_MAX_ENTRIES, dropping the oldest first', () => {
    const { cache } = cacheWith(5_000);
    for (let i = 0; i <= API_KEY_CACHE_MAX_ENTRIES; i += 1) cache.remember(key(`k${i}`), new Date(T0));
    expect(cache.get('k0')).toBeUndefined();
    expect(cache.get('k1')?.prefix).toBe('k1');
    expect(cache.get(`k${API_KEY_CACHE_MAX_ENTRIES}`)?.prefix).toBe(`k${API_KEY_CACHE_MAX_ENTRIES}`);
  });
});
