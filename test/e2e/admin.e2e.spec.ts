import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { createAdminWithCli } from '../support/admin-cli';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, signIn } from '../support/tenants';
import { testConfig } from '../support/test-env';

describe('platform admins', () => {
  let app: NestFastifyApplication;
  const http = () => request(app.getHttpServer());
  const email = `admin-${randomUUID()}@platform.test`;
  const password = 'platform admin passphrase';
  const verifiedIds: string[] = [];

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({ RATE_LIMIT_PER_MINUTE: '100000', RATE_LIMIT_PUBLIC_PER_MINUTE: '100000' }),
    );
  });

  afterAll(async () => {
    // No relay runs in this app: the verification events would stay unpublished.
    await app.get(PrismaService).outboxEvent.deleteMany({ where: { aggregateId: { in: verifiedIds } } });
    await app.close();
  });

  it('are created by the CLI, sign in, and verify organisations with an audit entry', async () => {
    const created = await createAdminWithCli(email, password);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(`created platform admin ${email}`);
    const again = await createAdminWithCli(email, password);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists/);

    const admin = await signIn(app, { email, password });
    const provider = await registerOrganisation(app, 'PROVIDER');
    verifiedIds.push(provider.organisationId);
    const verified = await http()
      .post(`/admin/organisations/${provider.organisationId}/verify`)
      .set(admin.auth)
      .expect(200);
    expect(verified.body).toMatchObject({ id: provider.organisationId, status: 'VERIFIED' });
    const search = await http()
      .get('/admin/organisations?status=VERIFIED&role=PROVIDER')
      .set(admin.auth)
      .expect(200);
    expect((search.body as { data: Array<{ id: string }> }).data.map((o) => o.id)).toContain(
      provider.organisationId,
    );

    const audit = await app
      .get(PrismaService)
      .auditLogEntry.findMany({ where: { targetId: provider.organisationId } });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: 'organisation.verify', targetType: 'organisation' });
    const adminUser = await app.get(PrismaService).user.findUniqueOrThrow({ where: { email } });
    expect(audit[0]?.actorUserId).toBe(adminUser.id);
    // Verification asks matching to run the organisation's markets, through its event.
    const events = await app
      .get(PrismaService)
      .outboxEvent.findMany({ where: { aggregateId: provider.organisationId } });
    expect(events).toMatchObject([
      {
        type: 'organisation.verified',
        payload: { organisationId: provider.organisationId, role: 'PROVIDER' },
      },
    ]);
  });

  it('refuse organisation credentials on admin routes, and admins on tenant routes', async () => {
    const buyer = await registerOrganisation(app, 'BUYER');
    const owner = await signIn(app, buyer);
    for (const auth of [buyer.auth, owner.auth]) {
      const res = await http().get('/admin/organisations').set(auth).expect(403);
      expect(res.body).toMatchObject({ code: 'FORBIDDEN' });
      await http().post(`/admin/organisations/${buyer.organisationId}/verify`).set(auth).expect(403);
    }
    await http().get('/admin/organisations').expect(401);
    const admin = await signIn(app, { email, password });
    await http().get('/v1/organisation').set(admin.auth).expect(403);
  });

  // Every admin route the OpenAPI document lists, so a new one cannot ship without the guard.
  // The dashboard under /admin/queues is not in the document; admin-ops.e2e covers its assets.
  it('answer 401 without credentials and 403 to buyer and provider keys and sessions on every admin route', async () => {
    const doc = await http().get('/docs-json').expect(200);
    const paths = (doc.body as { paths: Record<string, Record<string, unknown>> }).paths;
    const routes = Object.entries(paths)
      .filter(([path]) => path.startsWith('/admin/'))
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => ({ method, path })));
    expect(routes.length).toBeGreaterThan(20);
    const buyer = await registerOrganisation(app, 'BUYER', { verified: true });
    const provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    const callers = [
      buyer.auth,
      provider.auth,
      (await signIn(app, buyer)).auth,
      (await signIn(app, provider)).auth,
    ];
    const answers: string[] = [];
    for (const { method, path } of routes) {
      // Any id will do: the guard answers before the route looks anything up.
      const url = path.replace(/\{[^}]+\}/g, randomUUID());
      const call = () =>
        (http() as unknown as Record<string, (url: string) => request.Test>)[method]!(url)
          .set('idempotency-key', randomUUID())
          .send({});
      answers.push(`${method} ${path} anonymous ${(await call()).status}`);
      for (const auth of callers)
        answers.push(`${method} ${path} organisation ${(await call().set(auth)).status}`);
    }
    expect(answers.filter((a) => !/ anonymous 401$| organisation 403$/.test(a))).toEqual([]);
  });
});

describe('CORS and public per-IP limits', () => {
  let app: NestFastifyApplication;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({ CORS_ORIGINS: 'https://app.exchange.test', RATE_LIMIT_PUBLIC_PER_MINUTE: '5' }),
    );
  });

  afterAll(async () => {
    await app.close();
  });

  it('allows the configured frontend origin only', async () => {
    const allowed = await http()
      .options('/v1/bids')
      .set('origin', 'https://app.exchange.test')
      .set('access-control-request-method', 'POST')
      .set('access-control-request-headers', 'authorization,content-type,idempotency-key');
    expect(allowed.status).toBeLessThan(300);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.exchange.test');
    const denied = await http().get('/v1/markets').set('origin', 'https://evil.test');
    expect(denied.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('limits public market data per client IP', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i += 1) statuses.push((await http().get('/v1/markets')).status);
    // The CORS case above spent one request of this IP's budget.
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(2);
    const limited = await http().get('/v1/markets').expect(429);
    expect(limited.body).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });
});
