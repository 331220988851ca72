import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { AppConfig } from '@/infra/config/app-config';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { QUEUE } from '@/infra/queues/job-catalogue';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { redisOptionsFromUrl } from '@/infra/redis/redis-connection';
import { createAdminWithCli } from '../support/admin-cli';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, signIn, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';

type Auth = { authorization: string };
type AuditPage = {
  data: Array<{
    id: string;
    action: string;
    actorUserId: string;
    actorEmail: string | null;
    targetId: string;
  }>;
  nextCursor: string | null;
};

/**
 * The admin operations surface: the audit log, failed jobs and their retry, and the BullMQ
 * dashboard's authentication, which is a Fastify hook rather than a Nest guard and must cover
 * the page, its API and its static assets.
 */
describe('admin operations', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let admin: Auth;
  let adminUserId: string;
  let buyer: TestTenant;
  let provider: TestTenant;
  /** Buyer key, buyer session, provider key, provider session. */
  let tenantsAuth: Auth[];
  const adminEmail = `admin-${randomUUID()}@platform.test`;
  const adminPassword = 'operations admin passphrase';
  const http = () => request(app.getHttpServer());

  /** A job in `maintenance` that fails its one attempt, run by a worker of the test's own. */
  const failedJob = async (reason: string): Promise<string> => {
    const config = app.get(AppConfig);
    const queue = app.get(JobProducer).queue('maintenance');
    const job = await queue.add('maintenance.prune', { trigger: 'test' }, { attempts: 1 });
    const worker = new Worker(
      'maintenance',
      () => {
        throw new Error(reason);
      },
      {
        connection: { ...redisOptionsFromUrl(config.env.REDIS_URL), maxRetriesPerRequest: null },
        prefix: `${config.env.REDIS_PREFIX}:bull`,
      },
    );
    try {
      for (let i = 0; i < 200 && (await job.getState()) !== 'failed'; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    } finally {
      await worker.close();
    }
    expect(await job.getState()).toBe('failed');
    return job.id!;
  };

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({ RATE_LIMIT_PER_MINUTE: '100000', RATE_LIMIT_PUBLIC_PER_MINUTE: '100000' }),
    );
    prisma = app.get(PrismaService);
    const created = await createAdminWithCli(adminEmail, adminPassword);
    if (created.code !== 0) throw new Error(`admin CLI failed: ${created.stderr}`);
    admin = (await signIn(app, { email: adminEmail, password: adminPassword })).auth;
    adminUserId = (await prisma.user.findUniqueOrThrow({ where: { email: adminEmail } })).id;
    buyer = await registerOrganisation(app, 'BUYER', { verified: true });
    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    tenantsAuth = [
      buyer.auth,
      (await signIn(app, buyer)).auth,
      provider.auth,
      (await signIn(app, provider)).auth,
    ];
  });

  afterAll(async () => {
    const ids = [buyer.organisationId, provider.organisationId];
    await prisma.outboxEvent.deleteMany({ where: { aggregateId: { in: ids } } });
    await prisma.auditLogEntry.deleteMany({ where: { actorUserId: adminUserId } });
    await prisma.user.deleteMany({ where: { email: adminEmail } });
    await app.close();
  });

  it('lists failed jobs with their reasons and retries one, audited; 404 and 409 otherwise', async () => {
    const jobId = await failedJob('disk on fire (test)');
    const list = await http().get('/admin/jobs/failed?queue=maintenance').set(admin).expect(200);
    expect(list.body).toMatchObject({ total: 1, nextOffset: null });
    expect((list.body as { data: unknown[] }).data).toEqual([
      {
        queue: 'maintenance',
        id: jobId,
        name: 'maintenance.prune',
        failedReason: 'disk on fire (test)',
        attemptsMade: 1,
        attempts: 1,
        createdAt: expect.any(String) as unknown,
        processedAt: expect.any(String) as unknown,
        failedAt: expect.any(String) as unknown,
      },
    ]);
    const all = await http().get('/admin/jobs/failed').set(admin).expect(200);
    expect((all.body as { data: Array<{ id: string }> }).data.map((j) => j.id)).toEqual([jobId]);
    await http().get('/admin/jobs/failed?queue=nope').set(admin).expect(400);
    await http().get('/admin/jobs/failed?limit=101').set(admin).expect(400);

    const retried = await http().post(`/admin/jobs/maintenance/${jobId}/retry`).set(admin).expect(200);
    expect(retried.body).toEqual({
      queue: 'maintenance',
      id: jobId,
      name: 'maintenance.prune',
      state: 'waiting',
    });
    const job = await app.get(JobProducer).queue('maintenance').getJob(jobId);
    expect([await job?.getState(), job?.attemptsMade]).toEqual(['waiting', 0]);
    const audit = await prisma.auditLogEntry.findMany({
      where: { targetType: 'job', actorUserId: adminUserId },
    });
    expect(audit).toMatchObject([
      {
        action: 'job.retry',
        targetId: `maintenance:${jobId}`,
        details: {
          queue: 'maintenance',
          jobId,
          name: 'maintenance.prune',
          failedReason: 'disk on fire (test)',
        },
      },
    ]);
    const again = await http().post(`/admin/jobs/maintenance/${jobId}/retry`).set(admin).expect(409);
    expect(again.body).toMatchObject({ code: 'CONFLICT', details: { state: 'waiting' } });
    await http().post(`/admin/jobs/nope/${jobId}/retry`).set(admin).expect(404);
    await http().post(`/admin/jobs/maintenance/${randomUUID()}/retry`).set(admin).expect(404);
    expect(await prisma.auditLogEntry.count({ where: { targetType: 'job', actorUserId: adminUserId } })).toBe(
      1,
    );
    await job?.remove();
  });

  it('pages the audit log newest first, filtered by actor, target, action and time', async () => {
    const before = new Date();
    await http()
      .post(`/admin/organisations/${buyer.organisationId}/suspend`)
      .set(admin)
      .send({ reason: 'audit log case' })
      .expect(200);
    await http().post(`/admin/organisations/${buyer.organisationId}/reinstate`).set(admin).expect(200);
    await http()
      .post(`/admin/organisations/${provider.organisationId}/suspend`)
      .set(admin)
      .send({ reason: 'p' })
      .expect(200);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: request.Response = await http()
        .get('/admin/audit')
        .query({ actor: adminUserId, from: before.toISOString(), limit: 1, ...(cursor ? { cursor } : {}) })
        .set(admin)
        .expect(200);
      const body = page.body as AuditPage;
      expect(body.data).toHaveLength(1);
      expect(body.data[0]).toMatchObject({ actorUserId: adminUserId, actorEmail: adminEmail });
      seen.push(`${body.data[0]!.action} ${body.data[0]!.targetId}`);
      cursor = body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([
      `organisation.suspend ${provider.organisationId}`,
      `organisation.reinstate ${buyer.organisationId}`,
      `organisation.suspend ${buyer.organisationId}`,
    ]);

    const byTarget = await http()
      .get('/admin/audit')
      .query({ targetType: 'organisation', targetId: buyer.organisationId, action: 'organisation.suspend' })
      .set(admin)
      .expect(200);
    expect((byTarget.body as AuditPage).data.map((e) => e.action)).toEqual(['organisation.suspend']);
    const otherActor = await http().get('/admin/audit').query({ actor: randomUUID() }).set(admin).expect(200);
    expect((otherActor.body as AuditPage).data).toEqual([]);
    const later = await http()
      .get('/admin/audit')
      .query({ actor: adminUserId, from: new Date(Date.now() + 60_000).toISOString() })
      .set(admin)
      .expect(200);
    expect((later.body as AuditPage).data).toEqual([]);
    const earlier = await http()
      .get('/admin/audit')
      .query({ actor: adminUserId, to: before.toISOString() })
      .set(admin)
      .expect(200);
    // Before these three: at most the earlier case's job retry.
    expect((earlier.body as AuditPage).data.filter((e) => e.action.startsWith('organisation.'))).toEqual([]);

    for (const query of [
      { actor: 'not-a-uuid' },
      { from: '2026-12-02T00:00:00Z', to: '2026-12-01T00:00:00Z' },
      { cursor: 'forged.cursor' },
      { action: 'DROP TABLE' },
    ]) {
      await http().get('/admin/audit').query(query).set(admin).expect(400);
    }
    await http().post(`/admin/organisations/${provider.organisationId}/reinstate`).set(admin).expect(200);
  });

  it('refuses organisation keys and sessions on every admin route, anonymous callers with 401', async () => {
    const routes: Array<[string, string]> = [
      ['get', '/admin/audit'],
      ['get', '/admin/jobs/failed'],
      ['post', `/admin/jobs/maintenance/${randomUUID()}/retry`],
      ['post', '/admin/queues/session'],
      ['post', `/admin/organisations/${buyer.organisationId}/suspend`],
      ['post', `/admin/organisations/${buyer.organisationId}/reinstate`],
    ];
    for (const [method, path] of routes) {
      for (const auth of tenantsAuth) {
        const res = await (method === 'get' ? http().get(path) : http().post(path).send({ reason: 'x' })).set(
          auth,
        );
        expect([path, res.status, (res.body as { code?: string }).code]).toEqual([path, 403, 'FORBIDDEN']);
      }
      const anonymous = await (method === 'get' ? http().get(path) : http().post(path).send({}));
      expect([path, anonymous.status]).toEqual([path, 401]);
    }
  });

  describe('the BullMQ dashboard at /admin/queues', () => {
    const PAGE = '/admin/queues';
    const ASSET = '/admin/queues/static/favicon-32x32.png';
    const API = '/admin/queues/api/queues';

    it('answers anonymous callers 401 on the page, its API, its assets and unknown paths', async () => {
      for (const path of [
        PAGE,
        `${PAGE}/`,
        ASSET,
        API,
        `${PAGE}/nope`,
        '/admin/%71ueues/',
        '//admin/queues',
      ]) {
        const res = await http().get(path);
        expect([path, res.status]).toEqual([path, 401]);
        expect(res.body).toMatchObject({ statusCode: 401, code: 'UNAUTHENTICATED' });
      }
    });

    it('answers buyer and provider keys and sessions 403 on the page and an asset', async () => {
      for (const auth of tenantsAuth) {
        for (const path of [PAGE, ASSET, API]) {
          const res = await http().get(path).set(auth);
          expect([path, res.status, (res.body as { code?: string }).code]).toEqual([path, 403, 'FORBIDDEN']);
        }
      }
      await http().get(ASSET).set('authorization', 'Bearer not-a-token').expect(401);
    });

    it('serves a platform admin by bearer token: page, assets, every queue, read-only', async () => {
      const page = await http().get(PAGE).set(admin).expect(200);
      expect(page.headers['content-type']).toMatch(/text\/html/);
      const asset = await http().get(ASSET).set(admin).expect(200);
      expect(asset.headers['content-type']).toMatch(/image\/png/);
      const queues = await http().get(API).set(admin).expect(200);
      const names = (queues.body as { queues: Array<{ name: string; readOnlyMode: boolean }> }).queues;
      // Every queue of the catalogue, whichever are added later.
      expect(names.map((q) => q.name).sort()).toEqual(Object.values(QUEUE).sort());
      expect(names.length).toBeGreaterThanOrEqual(6);
      expect(names.every((q) => q.readOnlyMode)).toBe(true);
      // Mutations go through the audited /admin/jobs routes, not the board.
      const pause = await http().put(`${API}/maintenance/pause`).set(admin);
      expect(pause.status).toBe(405);
      expect(await app.get(JobProducer).queue('maintenance').isPaused()).toBe(false);
    });

    it('opens a short-lived HttpOnly SameSite=Strict cookie session for the browser', async () => {
      const res = await http().post(`${PAGE}/session`).set(admin).expect(200);
      const setCookie = String(res.headers['set-cookie']);
      expect(setCookie).toMatch(
        /^cx_queues_session=[^;]+; Path=\/admin\/queues; Max-Age=900; HttpOnly; SameSite=Strict$/,
      );
      const cookie = setCookie.split(';')[0]!;
      const expiresAt = Date.parse((res.body as { expiresAt: string }).expiresAt);
      expect(expiresAt - Date.now()).toBeGreaterThan(14 * 60_000);
      await http().get(PAGE).set('cookie', cookie).expect(200);
      await http().get(ASSET).set('cookie', `other=1; ${cookie}`).expect(200);
      await http().get(API).set('cookie', cookie).expect(200);
      // Only for the dashboard: the cookie is not an API credential, nor an access token a cookie.
      await http()
        .get('/admin/audit')
        .set('authorization', `Bearer ${cookie.split('=')[1]}`)
        .expect(401);
      await http()
        .get(PAGE)
        .set('cookie', `cx_queues_session=${admin.authorization.slice(7)}`)
        .expect(401);
      await http().get(PAGE).set('cookie', 'cx_queues_session=garbage').expect(401);
      // A session ends with its admin: a disabled admin's cookie opens nothing.
      await prisma.user.update({ where: { id: adminUserId }, data: { disabledAt: new Date() } });
      try {
        await http().get(PAGE).set('cookie', cookie).expect(401);
      } finally {
        await prisma.user.update({ where: { id: adminUserId }, data: { disabledAt: null } });
      }
    });
  });
});
