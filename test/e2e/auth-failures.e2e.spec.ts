import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import request from 'supertest';
import { CLOCK_REDIS_KEY } from '@/infra/clock/clock.module';
import { ControllableClock } from '@/infra/clock/controllable-clock';
import {
  API_KEY_FAILURES_PER_PREFIX,
  API_KEY_FAILURES_PER_SOURCE,
  API_KEY_FAILURE_WINDOW_SECONDS,
} from '@/modules/organisations/auth/api-key-limiter';
import {
  LOGIN_FAILURES_PER_SOURCE,
  LOGIN_FIRST_DELAY_SECONDS,
  LOGIN_FREE_FAILURES,
} from '@/modules/organisations/auth/login-limiter';
import { generateApiKey, parseApiKey } from '@/modules/organisations/domain/api-key';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { testConfig, testRedisUrl, uniqueRedisPrefix } from '../support/test-env';

// Behind one trusted proxy, the app takes the client IP from X-Forwarded-For (TRUST_PROXY=1),
// so each test can speak from sources of its own.
const PROXIED = {
  TRUST_PROXY: '1',
  RATE_LIMIT_PER_MINUTE: '100000',
  RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
};

let sourceCounter = 0;
/** A client IP no other test uses. */
const newSource = (): string => {
  sourceCounter += 1;
  return `198.18.${Math.floor(sourceCounter / 250)}.${(sourceCounter % 250) + 1}`;
};

/** A well-formed key (valid checksum) with this key's public prefix and another secret. */
function wrongSecretFor(key: string): string {
  const prefixLength = parseApiKey(key)!.prefix.length;
  const body = `${key.slice(0, prefixLength)}${generateApiKey('live').key.slice(prefixLength, 64)}`;
  return `${body}${createHash('sha256').update(body, 'utf8').digest('base64url').slice(0, 6)}`;
}

const expectRateLimited = (res: request.Response, maxSeconds: number): number => {
  expect(res.status).toBe(429);
  expect(res.body).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
  expect(typeof (res.body as { requestId?: unknown }).requestId).toBe('string');
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(maxSeconds);
  return retryAfter;
};

describe('failed API key authentications (docs/API.md)', () => {
  // Two API processes sharing Redis and PostgreSQL, as two replicas behind a load balancer.
  let one: NestFastifyApplication;
  let two: NestFastifyApplication;

  beforeAll(async () => {
    const config = testConfig(PROXIED);
    one = await startHttpApp(config);
    two = await startHttpApp(config);
  });

  afterAll(async () => {
    await one.close();
    await two.close();
  });

  const get = (app: NestFastifyApplication, key: string, source: string) =>
    request(app.getHttpServer())
      .get('/v1/organisation')
      .set('authorization', `Bearer ${key}`)
      .set('x-forwarded-for', source);

  it('refuses a source past its limit on every API process, its right key included; other sources still work', async () => {
    const tenant = await registerOrganisation(one, 'BUYER');
    const attacker = newSource();
    // Unknown prefixes, spread over both processes: only the shared count can reach the limit.
    for (let i = 0; i < API_KEY_FAILURES_PER_SOURCE; i += 1) {
      await get(i % 2 === 0 ? one : two, generateApiKey('live').key, attacker).expect(401);
    }
    expectRateLimited(await get(one, generateApiKey('live').key, attacker), API_KEY_FAILURE_WINDOW_SECONDS);
    expectRateLimited(
      await get(two, wrongSecretFor(tenant.apiKey), attacker),
      API_KEY_FAILURE_WINDOW_SECONDS,
    );
    for (const app of [one, two]) {
      expectRateLimited(await get(app, tenant.apiKey, attacker), API_KEY_FAILURE_WINDOW_SECONDS);
      await get(app, tenant.apiKey, newSource()).expect(200);
    }
  }, 60_000);

  it('answers 429 to wrong secrets for a prefix past its limit, from any source, while its right key works', async () => {
    const tenant: TestTenant = await registerOrganisation(one, 'BUYER');
    await get(one, tenant.apiKey, newSource()).expect(200);
    const sources = Array.from({ length: API_KEY_FAILURES_PER_PREFIX }, newSource);
    // One failure per source, so only the prefix's count can reach its limit.
    for (const [i, source] of sources.entries()) {
      await get(i % 2 === 0 ? one : two, wrongSecretFor(tenant.apiKey), source).expect(401);
    }
    for (const app of [one, two]) {
      expectRateLimited(
        await get(app, wrongSecretFor(tenant.apiKey), newSource()),
        API_KEY_FAILURE_WINDOW_SECONDS,
      );
      // Knowing the prefix is not enough to lock the key's owner out.
      await get(app, tenant.apiKey, newSource()).expect(200);
      await get(app, tenant.apiKey, sources[0]!).expect(200);
    }
  }, 60_000);
});

// Each login checks a password with scrypt (tens of ms when idle), which load stretches: the
// tests below get generous timeouts.
describe('failed logins (docs/API.md)', () => {
  const prefix = uniqueRedisPrefix();
  let redis: Redis;
  let clock: ControllableClock;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    redis = new Redis(testRedisUrl());
    clock = await ControllableClock.join(redis, `${prefix}:${CLOCK_REDIS_KEY}`, Date.now());
    app = await startHttpApp(testConfig({ ...PROXIED, CLOCK: 'controllable', REDIS_PREFIX: prefix }));
  });

  afterAll(async () => {
    clock.stop();
    await app.close();
    redis.disconnect();
  });

  const login = (email: string, password: string, source: string) =>
    request(app.getHttpServer())
      .post('/v1/auth/login')
      .set('x-forwarded-for', source)
      .send({ email, password });

  it('makes the failing source wait longer after each failure while the owner signs in from another', async () => {
    const tenant = await registerOrganisation(app, 'BUYER');
    const attacker = newSource();
    for (let i = 0; i <= LOGIN_FREE_FAILURES; i += 1) {
      await login(tenant.email, 'wrong password!!', attacker).expect(401);
    }
    const waits: number[] = [];
    for (let round = 0; round < 3; round += 1) {
      // While it must wait, the failing source is refused even the right password.
      const refused = await login(tenant.email, tenant.password, attacker);
      waits.push(expectRateLimited(refused, 15 * 60));
      // The owner, from a source that has not failed, is not locked out.
      await login(tenant.email, tenant.password, newSource()).expect(200);
      await clock.advance(waits[round]! * 1000);
      await login(tenant.email, 'wrong password!!', attacker).expect(401);
    }
    expect(waits).toEqual([
      LOGIN_FIRST_DELAY_SECONDS,
      2 * LOGIN_FIRST_DELAY_SECONDS,
      4 * LOGIN_FIRST_DELAY_SECONDS,
    ]);
  }, 120_000);

  it('limits failures per source across accounts; the owner still signs in from another source', async () => {
    const tenant = await registerOrganisation(app, 'BUYER');
    const attacker = newSource();
    // In parallel: each attempt is reserved atomically, so exactly the limit get to try.
    const failures = await Promise.all(
      Array.from({ length: LOGIN_FAILURES_PER_SOURCE }, (_, i) =>
        login(`nobody-${i}@${attacker}.test`, 'wrong password!!', attacker),
      ),
    );
    expect(failures.map((f) => f.status)).toEqual(failures.map(() => 401));
    expectRateLimited(await login(tenant.email, tenant.password, attacker), 15 * 60);
    await login(tenant.email, tenant.password, newSource()).expect(200);
  }, 120_000);

  it('forgets the failures of an (account, source) pair once its owner signs in there', async () => {
    const tenant = await registerOrganisation(app, 'BUYER');
    const source = newSource();
    for (let round = 0; round < 2; round += 1) {
      for (let i = 0; i < LOGIN_FREE_FAILURES; i += 1) {
        await login(tenant.email, 'wrong password!!', source).expect(401);
      }
      await login(tenant.email, tenant.password, source).expect(200);
    }
  }, 120_000);
});
