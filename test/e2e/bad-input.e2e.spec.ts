import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { BODY_LIMIT_BYTES } from '@/app/http-app';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { startHttpApp } from '../support/http-app';
import { testConfig } from '../support/test-env';

/**
 * Input no route accepts is a 4xx with the common error body and changes nothing. Routes'
 * own field rules are tested with each module; this suite covers the body itself.
 */
describe('bad request bodies', () => {
  let app: NestFastifyApplication;
  let usersBefore: number;

  beforeAll(async () => {
    app = await startHttpApp(testConfig({ RATE_LIMIT_PUBLIC_PER_MINUTE: '100000' }));
    usersBefore = await app.get(PrismaService).user.count();
  });

  afterAll(async () => {
    expect(await app.get(PrismaService).user.count()).toBe(usersBefore);
    await app.close();
  });

  const register = (raw: string) =>
    request(app.getHttpServer())
      .post('/v1/organisations')
      .set('content-type', 'application/json')
      .set('idempotency-key', randomUUID())
      .send(raw);

  const valid = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    name: 'Bad Input Org',
    role: 'BUYER',
    owner: { email: `bad-${randomUUID()}@input.test`, password: 'a perfectly fine password' },
    ...overrides,
  });

  const cases: Array<[string, string, number, RegExp]> = [
    ['malformed JSON', '{"name": "x",', 400, /not valid JSON/],
    ['an empty body', '', 400, /empty|JSON/i],
    ['nesting deeper than 16 levels', `${'['.repeat(40)}${']'.repeat(40)}`, 400, /nested deeper/],
    ['very deep nesting', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, 400, /nested deeper/],
    ['a NUL byte in a string', JSON.stringify(valid({ name: 'evil\u0000org' })), 400, /NUL/],
    ['a lone surrogate', '{"name":"\\ud800x","role":"BUYER"}', 400, /surrogate/],
    ['a __proto__ key', '{"__proto__":{"admin":true},"name":"x"}', 400, /forbidden key/],
    ['a nested constructor key', '{"owner":{"constructor":{"prototype":{}}}}', 400, /forbidden key/],
    ['an unknown top-level field', JSON.stringify(valid({ verified: true })), 400, /should not exist/],
    [
      'an unknown nested field',
      JSON.stringify(
        valid({
          owner: { email: 'n@input.test', password: 'a perfectly fine password', isPlatformAdmin: true },
        }),
      ),
      400,
      /should not exist/,
    ],
    [
      'a number where a string is expected',
      JSON.stringify(valid({ name: 42 })),
      400,
      /name must be a string/,
    ],
    ['an array as the body', '[1,2,3]', 400, /.+/],
  ];

  it.each(cases)('refuses %s', async (_label, raw, status, message) => {
    const res = await register(raw).expect(status);
    const body = res.body as {
      statusCode: number;
      code: string;
      message: string;
      details?: { errors?: string[] };
      requestId: string;
    };
    expect(body.statusCode).toBe(status);
    expect(['BAD_REQUEST', 'VALIDATION_FAILED']).toContain(body.code);
    expect(`${body.message} ${(body.details?.errors ?? []).join(' ')}`).toMatch(message);
    expect(body.requestId).toBe(res.headers['x-request-id']);
  });

  it('refuses a body over the size limit with 413', async () => {
    const huge = JSON.stringify(valid({ name: 'x'.repeat(BODY_LIMIT_BYTES) }));
    const res = await register(huge).expect(413);
    expect(res.body).toMatchObject({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE' });
  });

  it('refuses a body that is not JSON with 415', async () => {
    const res = await request(app.getHttpServer())
      .post('/v1/organisations')
      .set('content-type', 'text/plain')
      .set('idempotency-key', randomUUID())
      .send('name=x')
      .expect(415);
    expect(res.body).toMatchObject({ statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
  });
});
