import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { dueJobId, JobProducer } from '@/infra/queues/job-producer.service';
import { LEASE_END_JOB_PREFIX } from '@/infra/queues/lease-timer-jobs';
import { LeaseLifecycleService } from '@/modules/leases/lease-lifecycle.service';
import { startHttpApp } from '../support/http-app';
import { ledgerViolations } from '../support/ledger-invariants';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { handOverAccess, leaseBetween, quiet as leaseQuiet } from './lease-fixtures';
import { createSite, eventsOf, hoursFromNow, removeMarketplaceData } from './marketplace-fixtures';

// A market no other suite fills in, so every lease here is this suite's.
const MARKET = 'nvidia-a100-80gb';
const HOUR = 3_600_000;

const field = (res: { body: unknown }, name: string): unknown => (res.body as Record<string, unknown>)[name];

/**
 * A lease's life through the API and the worker in one process: access handover (encrypted,
 * buyer-only), the provisioning deadline, the end, early termination by either side, GPUs
 * returning to the offer and being matched again, refunds. Budget: ~15 s.
 */
describe('leases: access, deadlines, ends and early termination', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let provider: TestTenant;
  let buyer: TestTenant;
  let stranger: TestTenant;
  let site: { id: string };
  const ids: string[] = [];
  const http = () => request(app.getHttpServer());

  const balance = async () =>
    ((await http().get('/v1/billing/balance').set(buyer.auth).expect(200)).body as { balances: unknown[] })
      .balances[0];
  const lease = (gpus = 2, durationHours = 3) =>
    leaseBetween(
      app,
      { provider, buyer, siteId: site.id },
      {
        market: MARKET,
        gpus,
        price: '10.00',
        durationHours,
        billingMode: 'RESERVED',
      },
    );
  const handOver = (id: string, tenant = provider) => handOverAccess(app, tenant, id);
  const quiet = () => leaseQuiet(app);

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
        MATCHING_SWEEP_INTERVAL_MS: '3600000',
        LEASE_SWEEP_INTERVAL_MS: '3600000',
      }),
      { api: true, worker: true },
    );
    prisma = app.get(PrismaService);
    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    buyer = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor: 1_000_000n });
    stranger = await registerOrganisation(app, 'BUYER', { verified: true });
    ids.push(provider.organisationId, buyer.organisationId, stranger.organisationId);
    site = await createSite(app, provider, { provinceCode: '520000', cityCode: '520100' });
  });

  afterEach(async () => {
    await quiet();
    expect(await ledgerViolations(prisma, ids)).toEqual([]);
  });

  afterAll(async () => {
    await quiet();
    await removeMarketplaceData(app, ids);
    await app.close();
  });

  it('hands access over to the buyer only, encrypted, and starts the lease', async () => {
    const { id } = await lease();
    const scheduled = await http().get(`/v1/leases/${id}`).set(buyer.auth).expect(200);
    expect(scheduled.body).toMatchObject({
      status: 'SCHEDULED',
      accessReady: false,
      startedAt: null,
      market: MARKET,
      billingBasis: 'GPU_HOURS',
      inference: null,
    });
    expect(field(await http().get(`/v1/leases/${id}`).set(provider.auth).expect(200), 'id')).toBe(id);
    const missing = await http().get(`/v1/leases/${randomUUID()}`).set(stranger.auth).expect(404);
    const foreign = await http().get(`/v1/leases/${id}`).set(stranger.auth).expect(404);
    expect({ ...(foreign.body as object), requestId: 0 }).toEqual({
      ...(missing.body as object),
      requestId: 0,
    });
    await http().get(`/v1/leases/${id}/access`).set(buyer.auth).expect(409);

    await handOver(id, stranger).expect(404);
    const bad = await http()
      .post(`/v1/leases/${id}/access`)
      .set(provider.auth)
      .send({ endpoint: 'not a url', credentials: [] })
      .expect(400);
    expect(field(bad, 'code')).toBe('VALIDATION_FAILED');

    const started = await handOver(id).expect(200);
    expect(started.body).toMatchObject({ status: 'ACTIVE', accessReady: true });
    const { startedAt, endsAt } = started.body as { startedAt: string; endsAt: string };
    expect(Date.parse(endsAt) - Date.parse(startedAt)).toBe(3 * HOUR);
    await handOver(id).expect(409);

    const access = await http().get(`/v1/leases/${id}/access`).set(buyer.auth).expect(200);
    expect(access.body).toMatchObject({
      leaseId: id,
      endpoint: 'https://inference.gz-dc.example/v1',
      credentials: [{ name: 'api_key', value: 'sk-live-very-secret' }],
      instructions: 'qwen2.5-72b preloaded',
    });
    await http().get(`/v1/leases/${id}/access`).set(provider.auth).expect(403);
    const row = await prisma.lease.findUniqueOrThrow({ where: { id } });
    expect(Buffer.from(row.accessDetails!).includes(Buffer.from('sk-live-very-secret'))).toBe(false);
    expect((await eventsOf(app, id)).map((e) => e.type)).toEqual(['lease.created', 'lease.started']);
    // The relay's lease-timers trigger brought the lease sweep forward to the lease's end.
    const timer = await waitFor('the lease-end sweep', async () =>
      app
        .get(JobProducer)
        .queue('leases')
        .getJob(dueJobId(LEASE_END_JOB_PREFIX, Date.parse(endsAt))),
    );
    expect(timer.name).toBe('leases.sweep');
  });

  it('terminates an unprovisioned lease at its deadline, refunds it and matches the GPUs again', async () => {
    const { id, offerId } = await lease(2, 3);
    // 2 x 10.00 x 3 h held for the lease.
    expect(await balance()).toMatchObject({ held: expect.stringMatching(/\d/) as unknown });
    const heldBefore = (await balance()) as { held: string; available: string };
    await prisma.lease.update({ where: { id }, data: { provisioningDeadline: new Date(Date.now() - 1000) } });
    await handOver(id).expect(409);
    // A second buyer's bid rests meanwhile; the GPUs coming back must reach it with no other event.
    const waiting = await http()
      .post('/v1/bids')
      .set(stranger.auth)
      .set('idempotency-key', randomUUID())
      .send({
        market: MARKET,
        gpus: 2,
        maxPricePerGpuHour: '10.00',
        durationHours: 1,
        provinces: [],
        minGpusPerSite: 1,
        partialAllowed: false,
        billingMode: 'RESERVED',
        expiresAt: hoursFromNow(24),
      })
      .expect(201);
    await quiet();
    expect(await prisma.lease.count({ where: { bidId: field(waiting, 'id') as string } })).toBe(0);

    expect(await app.get(LeaseLifecycleService).sweep()).toEqual({ failed: 1, ended: 0 });
    const failed = await http().get(`/v1/leases/${id}`).set(buyer.auth).expect(200);
    expect(failed.body).toMatchObject({ status: 'TERMINATED', terminationReason: 'PROVIDER_FAILURE' });
    const after = (await balance()) as { held: string; available: string };
    expect(Number(heldBefore.held) - Number(after.held)).toBe(60);
    expect(Number(after.available) - Number(heldBefore.available)).toBe(60);
    const terminated = (await eventsOf(app, id)).find((e) => e.type === 'lease.terminated');
    expect(terminated?.payload).toMatchObject({
      leaseId: id,
      market: MARKET,
      reason: 'PROVIDER_FAILURE',
      gpus: 2,
    });

    const releasedTo = await waitFor('the returned GPUs to be leased again', () =>
      prisma.lease
        .findFirst({ where: { bidId: field(waiting, 'id') as string } })
        .then((l) => l ?? undefined),
    );
    expect(releasedTo).toMatchObject({ offerId, gpus: 2 });
    // Twice changes nothing.
    expect(await app.get(LeaseLifecycleService).sweep()).toEqual({ failed: 0, ended: 0 });
  });

  it('ends an active lease at its end and gives the GPUs back to the offer', async () => {
    const { id, offerId } = await lease(3, 2);
    await handOver(id).expect(200);
    expect(await prisma.offer.findUniqueOrThrow({ where: { id: offerId } })).toMatchObject({
      leasedGpus: 3,
      status: 'FILLED',
    });
    await prisma.lease.update({ where: { id }, data: { endsAt: new Date(Date.now() - 1000) } });
    expect(await app.get(LeaseLifecycleService).sweep()).toEqual({ failed: 0, ended: 1 });
    const ended = await http().get(`/v1/leases/${id}`).set(provider.auth).expect(200);
    expect(ended.body).toMatchObject({ status: 'ENDED', terminationReason: null });
    expect(await prisma.offer.findUniqueOrThrow({ where: { id: offerId } })).toMatchObject({
      leasedGpus: 0,
      status: 'OPEN',
    });
    expect((await eventsOf(app, id)).map((e) => e.type)).toEqual([
      'lease.created',
      'lease.started',
      'lease.ended',
    ]);
    await http().post(`/v1/offers/${offerId}/cancel`).set(provider.auth).expect(200);
  });

  it('lets either side end a lease early, by the README rule', async () => {
    // Before access: the buyer terminates, the hold comes back in full; again is a no-op.
    const first = await lease(1, 2);
    const before = (await balance()) as { available: string };
    const cancelled = await http().post(`/v1/leases/${first.id}/terminate`).set(buyer.auth).expect(200);
    expect(cancelled.body).toMatchObject({ status: 'TERMINATED', terminationReason: 'BUYER_REQUEST' });
    expect(Number(((await balance()) as { available: string }).available) - Number(before.available)).toBe(
      20,
    );
    await http().post(`/v1/leases/${first.id}/terminate`).set(buyer.auth).expect(200);
    expect((await eventsOf(app, first.id)).filter((e) => e.type === 'lease.terminated')).toHaveLength(1);
    await http().post(`/v1/leases/${first.id}/terminate`).set(stranger.auth).expect(404);

    // Active, buyer: the lease runs to the end of the period it is in.
    const second = await lease(1, 5);
    const active = (await handOver(second.id).expect(200)).body as { startedAt: string };
    const shortened = await http().post(`/v1/leases/${second.id}/terminate`).set(buyer.auth).expect(200);
    expect(shortened.body).toMatchObject({ status: 'ACTIVE' });
    expect(Date.parse(field(shortened, 'endsAt') as string)).toBe(Date.parse(active.startedAt) + HOUR);

    // Active, provider: terminated now; the GPUs go back at once.
    const third = await lease(1, 5);
    await handOver(third.id).expect(200);
    const stopped = await http()
      .post(`/v1/leases/${third.id}/terminate`)
      .set(provider.auth)
      .send({ mode: 'IMMEDIATE' })
      .expect(200);
    expect(stopped.body).toMatchObject({ status: 'TERMINATED', terminationReason: 'PROVIDER_REQUEST' });
    expect(await prisma.offer.findUniqueOrThrow({ where: { id: third.offerId } })).toMatchObject({
      leasedGpus: 0,
    });
    for (const offerId of [first.offerId, second.offerId, third.offerId]) {
      await http().post(`/v1/offers/${offerId}/cancel`).set(provider.auth).expect(200);
    }
  });

  it('lists each side its own leases', async () => {
    const mine = await http().get(`/v1/leases?market=${MARKET}&limit=100`).set(buyer.auth).expect(200);
    const theirs = await http().get(`/v1/leases?market=${MARKET}&limit=100`).set(provider.auth).expect(200);
    const none = await http().get('/v1/leases').set(stranger.auth).expect(200);
    const idsOf = (res: { body: unknown }) =>
      (res.body as { data: Array<{ id: string }> }).data.map((l) => l.id).sort();
    expect(idsOf(mine).length).toBeGreaterThanOrEqual(6);
    expect(idsOf(theirs)).toEqual(expect.arrayContaining(idsOf(mine)) as unknown);
    // The stranger's own lease (from the deadline test) is its only one.
    expect(idsOf(none)).toHaveLength(1);
  });
});
