import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, signIn } from '../support/tenants';
import { testConfig } from '../support/test-env';

describe('organisations, people and API keys', () => {
  let app: NestFastifyApplication;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({ RATE_LIMIT_PER_MINUTE: '100000', RATE_LIMIT_PUBLIC_PER_MINUTE: '100000' }),
    );
  });

  afterAll(async () => {
    await app.close();
  });

  it('registers an organisation with its owner and a first key shown once', async () => {
    const res = await http()
      .post('/v1/organisations')
      .set('idempotency-key', randomUUID())
      .send({
        name: 'Guizhou Mountain DC',
        role: 'PROVIDER',
        owner: { email: 'Ops@Guizhou-DC.test', password: 'correct horse battery' },
      })
      .expect(201);
    const body = res.body as {
      organisation: { id: string; status: string; role: string };
      owner: { email: string; role: string };
      apiKey: { key: string; prefix: string; lastFour: string; scopes: string[] };
    };
    expect(body.organisation).toMatchObject({ status: 'PENDING_VERIFICATION', role: 'PROVIDER' });
    expect(body.owner).toMatchObject({ email: 'ops@guizhou-dc.test', role: 'OWNER' });
    expect(body.apiKey.key.startsWith(body.apiKey.prefix)).toBe(true);
    expect(body.apiKey.key.endsWith(body.apiKey.lastFour)).toBe(true);
    expect(body.apiKey.scopes).toEqual(['orders']);

    const me = await http()
      .get('/v1/organisation')
      .set('authorization', `Bearer ${body.apiKey.key}`)
      .expect(200);
    expect((me.body as { id: string }).id).toBe(body.organisation.id);
    // The secret is never stored: only its keyed hash.
    const stored = await app
      .get(PrismaService)
      .apiKey.findFirstOrThrow({ where: { organisationId: body.organisation.id } });
    expect(Buffer.from(stored.secretHash).toString('utf8')).not.toContain(body.apiKey.key);
    expect(stored.secretHash).toHaveLength(32);
  });

  it('creates nothing for a second registration with the same email, and refuses weak passwords', async () => {
    const tenant = await registerOrganisation(app, 'BUYER');
    // Answered like a new registration (see idempotency-records.e2e.spec.ts), but without effect.
    const dup = await http()
      .post('/v1/organisations')
      .set('idempotency-key', randomUUID())
      .send({
        name: 'x',
        role: 'BUYER',
        owner: { email: tenant.email.toUpperCase(), password: 'another long password' },
      })
      .expect(201);
    const prisma = app.get(PrismaService);
    expect(await prisma.user.count({ where: { email: tenant.email } })).toBe(1);
    expect(
      await prisma.organisation.count({
        where: { id: (dup.body as { organisation: { id: string } }).organisation.id },
      }),
    ).toBe(0);
    const weak = await http()
      .post('/v1/organisations')
      .set('idempotency-key', randomUUID())
      .send({ name: 'x', role: 'BUYER', owner: { email: 'weak@buyer.test', password: 'short' } })
      .expect(400);
    expect(weak.body).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('requires a credential and refuses malformed, unknown and revoked keys', async () => {
    await http().get('/v1/organisation').expect(401);
    const malformed = await http()
      .get('/v1/organisation')
      .set('authorization', 'Bearer cx_live_nonsense')
      .expect(401);
    expect(malformed.body).toMatchObject({ code: 'UNAUTHENTICATED', message: 'The API key is malformed.' });
    const tenant = await registerOrganisation(app, 'BUYER');
    const owner = await signIn(app, tenant);
    const list = await http().get('/v1/api-keys').set(owner.auth).expect(200);
    const [key] = (list.body as { data: Array<{ id: string }> }).data;
    await http().post(`/v1/api-keys/${key!.id}/revoke`).set(owner.auth).expect(200);
    const revoked = await http().get('/v1/organisation').set(tenant.auth).expect(401);
    expect(revoked.body).toMatchObject({ message: 'The API key has been revoked.' });
  });

  it('lets owners (signed in) manage keys, but not API keys themselves or members', async () => {
    const tenant = await registerOrganisation(app, 'PROVIDER');
    await http().get('/v1/api-keys').set(tenant.auth).expect(403);
    const owner = await signIn(app, tenant);
    const created = await http()
      .post('/v1/api-keys')
      .set(owner.auth)
      .set('idempotency-key', randomUUID())
      .send({ name: 'usage reporter', scopes: ['usage'] })
      .expect(201);
    const usageKey = (created.body as { key: string }).key;
    // A usage-only key cannot read orders or the organisation.
    await http().get('/v1/organisation').set('authorization', `Bearer ${usageKey}`).expect(403);

    const invitation = await http()
      .post('/v1/invitations')
      .set(owner.auth)
      .set('idempotency-key', randomUUID())
      .send({ email: 'member@provider.test.example', role: 'MEMBER' })
      .expect(201);
    const token = (invitation.body as { token: string }).token;
    await http().post('/v1/invitations/accept').send({ token, password: 'member password 123' }).expect(201);
    await http().post('/v1/invitations/accept').send({ token, password: 'member password 123' }).expect(404);
    const member = await signIn(app, {
      email: 'member@provider.test.example',
      password: 'member password 123',
    });
    await http().get('/v1/api-keys').set(member.auth).expect(403);
    const users = await http().get('/v1/users').set(member.auth).expect(200);
    expect((users.body as { data: unknown[] }).data).toHaveLength(2);
  });

  it('rotates a key with an overlap, after which the old key is refused', async () => {
    const tenant = await registerOrganisation(app, 'BUYER');
    const owner = await signIn(app, tenant);
    const [key] = ((await http().get('/v1/api-keys').set(owner.auth)).body as { data: Array<{ id: string }> })
      .data;
    const rotated = await http()
      .post(`/v1/api-keys/${key!.id}/rotate`)
      .set(owner.auth)
      .set('idempotency-key', randomUUID())
      .send({ overlapSeconds: 0 })
      .expect(201);
    await http().get('/v1/organisation').set(tenant.auth).expect(401);
    await http()
      .get('/v1/organisation')
      .set('authorization', `Bearer ${(rotated.body as { key: string }).key}`)
      .expect(200);
  });

  it('keeps a rotated key working during the overlap and refuses rotating it twice', async () => {
    const tenant = await registerOrganisation(app, 'PROVIDER');
    const owner = await signIn(app, tenant);
    const [key] = ((await http().get('/v1/api-keys').set(owner.auth)).body as { data: Array<{ id: string }> })
      .data;
    await http()
      .post(`/v1/api-keys/${key!.id}/rotate`)
      .set(owner.auth)
      .set('idempotency-key', randomUUID())
      .send({ overlapSeconds: 3600 })
      .expect(201);
    await http().get('/v1/organisation').set(tenant.auth).expect(200);
    const again = await http()
      .post(`/v1/api-keys/${key!.id}/rotate`)
      .set(owner.auth)
      .set('idempotency-key', randomUUID())
      .send({})
      .expect(409);
    expect(again.body).toMatchObject({ code: 'CONFLICT' });
  });

  it('treats the same Idempotency-Key on another key’s rotation as a different request (422)', async () => {
    const tenant = await registerOrganisation(app, 'BUYER');
    const owner = await signIn(app, tenant);
    const second = await http()
      .post('/v1/api-keys')
      .set(owner.auth)
      .set('idempotency-key', randomUUID())
      .send({ name: 'second' })
      .expect(201);
    const [first] = (
      (await http().get('/v1/api-keys?limit=100').set(owner.auth)).body as {
        data: Array<{ id: string; name: string }>;
      }
    ).data.filter((k) => k.name === 'default');
    const key = randomUUID();
    await http()
      .post(`/v1/api-keys/${first!.id}/rotate`)
      .set(owner.auth)
      .set('idempotency-key', key)
      .send({})
      .expect(201);
    await http()
      .post(`/v1/api-keys/${(second.body as { id: string }).id}/rotate`)
      .set(owner.auth)
      .set('idempotency-key', key)
      .send({})
      .expect(422);
  });

  it('refuses key expiries that are not future instants with an offset, without a 500', async () => {
    const tenant = await registerOrganisation(app, 'BUYER');
    const owner = await signIn(app, tenant);
    for (const expiresAt of [
      '2027-W01-1',
      '+2027-01-01T00:00:00Z',
      '2027-01-01',
      '2020-01-01T00:00:00Z',
      12345,
    ]) {
      const res = await http()
        .post('/v1/api-keys')
        .set(owner.auth)
        .set('idempotency-key', randomUUID())
        .send({ name: 'dated', expiresAt });
      expect([res.status, (res.body as { code: string }).code]).toEqual([400, 'VALIDATION_FAILED']);
    }
  });

  it('makes a suspended organisation read-only', async () => {
    const tenant = await registerOrganisation(app, 'BUYER');
    await app.get(PrismaService).organisation.update({
      where: { id: tenant.organisationId },
      data: { status: 'SUSPENDED', suspendedAt: new Date() },
    });
    await http().get('/v1/organisation').set(tenant.auth).expect(200);
    const write = await http()
      .post('/v1/bids')
      .set(tenant.auth)
      .set('idempotency-key', randomUUID())
      .send({})
      .expect(403);
    expect(write.body).toMatchObject({
      code: 'FORBIDDEN',
      message: 'The organisation is suspended: read-only access.',
    });
  });

  it('counts concurrent failed logins atomically: no more than the limit get to try', async () => {
    const tenant = await registerOrganisation(app, 'BUYER');
    const attempts = await Promise.all(
      Array.from({ length: 12 }, () =>
        http().post('/v1/auth/login').send({ email: tenant.email, password: 'wrong password!!' }),
      ),
    );
    const statuses = attempts.map((a) => a.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
  });

  it('rotates refresh tokens and revokes the family when one is reused', async () => {
    const tenant = await registerOrganisation(app, 'BUYER');
    const first = await signIn(app, tenant);
    const second = await http()
      .post('/v1/auth/refresh')
      .send({ refreshToken: first.refreshToken })
      .expect(200);
    const secondToken = (second.body as { refreshToken: string }).refreshToken;
    // Reusing the first token (a thief's replay) ends the whole session ...
    await http().post('/v1/auth/refresh').send({ refreshToken: first.refreshToken }).expect(401);
    // ... including the legitimate successor.
    await http().post('/v1/auth/refresh').send({ refreshToken: secondToken }).expect(401);
    const third = await signIn(app, tenant);
    await http().post('/v1/auth/logout').send({ refreshToken: third.refreshToken }).expect(204);
    await http().post('/v1/auth/refresh').send({ refreshToken: third.refreshToken }).expect(401);
  });

  it('limits failed logins per account with 429 and Retry-After', async () => {
    const tenant = await registerOrganisation(app, 'BUYER');
    for (let i = 0; i < 5; i += 1) {
      await http()
        .post('/v1/auth/login')
        .send({ email: tenant.email, password: 'wrong password!!' })
        .expect(401);
    }
    const limited = await http()
      .post('/v1/auth/login')
      .send({ email: tenant.email, password: tenant.password })
      .expect(429);
    expect(limited.body).toMatchObject({ code: 'RATE_LIMITED' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('idempotency', () => {
  let app: NestFastifyApplication;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({ RATE_LIMIT_PER_MINUTE: '100000', RATE_LIMIT_PUBLIC_PER_MINUTE: '100000' }),
    );
  });

  afterAll(async () => {
    await app.close();
  });

  const registration = (email: string) => ({
    name: 'Idem Org',
    role: 'BUYER',
    owner: { email, password: 'idempotent password' },
  });

  it('requires the header on resource-creating routes', async () => {
    const res = await http().post('/v1/organisations').send(registration('nokey@idem.test')).expect(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'Idempotency-Key' } });
  });

  it('replays the stored response for the same key and body, and refuses another body', async () => {
    const key = randomUUID();
    const first = await http()
      .post('/v1/organisations')
      .set('idempotency-key', key)
      .send(registration('same@idem.test'))
      .expect(201);
    const again = await http()
      .post('/v1/organisations')
      .set('idempotency-key', key)
      .send(registration('same@idem.test'))
      .expect(201);
    // The key secret is never stored, so the replay answers it as null.
    const firstBody = first.body as { apiKey: Record<string, unknown> };
    expect(again.body).toEqual({ ...firstBody, apiKey: { ...firstBody.apiKey, key: null } });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await app.get(PrismaService).user.count({ where: { email: 'same@idem.test' } })).toBe(1);
    const other = await http()
      .post('/v1/organisations')
      .set('idempotency-key', key)
      .send({ ...registration('same@idem.test'), name: 'Another Org' })
      .expect(422);
    expect(other.body).toMatchObject({ code: 'UNPROCESSABLE' });
  });

  it('stores nothing for a failed request, so a corrected retry with the same key succeeds', async () => {
    const key = randomUUID();
    const bad = {
      ...registration('retry@idem.test'),
      owner: { email: 'retry@idem.test', password: 'short' },
    };
    await http().post('/v1/organisations').set('idempotency-key', key).send(bad).expect(400);
    await http()
      .post('/v1/organisations')
      .set('idempotency-key', key)
      .send(registration('retry@idem.test'))
      .expect(201);
  });
});
