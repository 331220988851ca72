import { corsOrigins, corsPolicy } from './cors';

const allows = (origins: Array<string | RegExp> | false, origin: string): boolean =>
  origins !== false &&
  origins.some((allowed) => (typeof allowed === 'string' ? allowed === origin : allowed.test(origin)));

describe('corsOrigins', () => {
  it('outside production with no CORS_ORIGINS, allows any loopback origin and nothing else', () => {
    for (const NODE_ENV of ['development', 'test'] as const) {
      const origins = corsOrigins({ NODE_ENV, CORS_ORIGINS: '' });
      for (const origin of [
        'http://localhost:5173',
        'http://localhost',
        'http://127.0.0.1:8080',
        'http://[::1]:3000',
      ]) {
        expect(allows(origins, origin)).toBe(true);
      }
      for (const origin of [
        'https://app.example.com',
        'http://localhost.evil.example',
        'http://127.0.0.1.evil.example:80',
        'http://evil.example/?http://localhost:1',
        'https://localhost:5173',
      ]) {
        expect(allows(origins, origin)).toBe(false);
      }
    }
  });

  it('in production with no CORS_ORIGINS, turns CORS off', () => {
    expect(corsOrigins({ NODE_ENV: 'production', CORS_ORIGINS: '' })).toBe(false);
  });

  it('with CORS_ORIGINS, allows exactly those, in every environment', () => {
    for (const NODE_ENV of ['development', 'production'] as const) {
      const origins = corsOrigins({
        NODE_ENV,
        CORS_ORIGINS: 'https://app.example.com,https://ops.example.com',
      });
      expect(origins).toEqual(['https://app.example.com', 'https://ops.example.com']);
      expect(allows(origins, 'http://localhost:5173')).toBe(false);
    }
  });
});

describe('corsPolicy', () => {
  it('allows every method the API routes use, PUT included', () => {
    expect(corsPolicy({ NODE_ENV: 'production', CORS_ORIGINS: '' }).methods).toEqual(
      expect.arrayContaining(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    );
  });
});
