import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Clock } from '@/infra/clock/clock';
import type { ControllableClock } from '@/infra/clock/controllable-clock';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { RedisService } from '@/infra/redis/redis.service';
import { SettlementProcessor } from '@/modules/billing/settlement/settlement.processor';
import { SettlementService } from '@/modules/billing/settlement/settlement.service';
import { LeaseLifecycleService } from '@/modules/leases/lease-lifecycle.service';
import { startHttpApp } from '../support/http-app';
import { ledgerViolations } from '../support/ledger-invariants';
import { createAdminWithCli } from '../support/admin-cli';
import { registerOrganisation, signIn, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { handOverAccess, leaseBetween, quiet } from './lease-fixtures';
import {
  createSite,
  createTestMarket,
  eventsOf,
  removeMarketplaceData,
  removeTestMarket,
} from './marketplace-fixtures';

// Fee 300 bps (migration 20261128000000_init); no other suite fills here.
const MARKET = 'nvidia-l40s-48gb';
const HOUR = 3_600_000;
const MINUTE = 60_000;

const field = (res: { body: unknown }, name: string): unknown => (res.body as Record<string, unknown>)[name];

/**
 * Billing periods settled into provider earnings and platform fees, exactly once, with usage
 * reports, the pay-per-use minimum and grace, early termination and the final release of the
 * hold. Time moves on the controllable clock. Budget: ~15 s.
 */
describe('settlement: periods, usage, fees and exactly once', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let provider: TestTenant;
  let buyer: TestTenant;
  let site: { id: string };
  const ids: string[] = [];
  const adminEnded: string[] = [];
  let ownMarket: { id: string; slug: string } | undefined;
  const http = () => request(app.getHttpServer());
  // Time moves on the exchange's controllable clock (shared by the API and the worker here).
  const advance = (ms: number) => app.get<Clock, ControllableClock>(Clock).advance(ms);
  const settle = (leaseId: string) => app.get(SettlementService).settleLease(leaseId);
  const balances = async (tenant: TestTenant) =>
    ((await http().get('/v1/billing/balance').set(tenant.auth).expect(200)).body as { balances: unknown[] })
      .balances[0] as Record<string, string>;
  const fees = async () => {
    const [row] = await prisma.$queryRaw<Array<{ total: string }>>`
      SELECT COALESCE(SUM(e.amount), 0)::text AS total FROM ledger_entries e
      JOIN ledger_accounts a ON a.id = e.account_id WHERE a.kind = 'PLATFORM_FEES' AND a.currency = 'CNY'`;
    return BigInt(row!.total);
  };
  const report = (leaseId: string, body: Record<string, unknown>) =>
    http().post(`/v1/leases/${leaseId}/usage`).set(provider.auth).send(body);

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
        MATCHING_SWEEP_INTERVAL_MS: '3600000',
        LEASE_SWEEP_INTERVAL_MS: '3600000',
        SETTLEMENT_SWEEP_INTERVAL_MS: '3600000',
        CLOCK: 'controllable',
      }),
      { api: true, worker: true },
    );
    prisma = app.get(PrismaService);
    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    buyer = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor: 1_000_000n });
    ids.push(provider.organisationId, buyer.organisationId);
    site = await createSite(app, provider, { provinceCode: '520000', cityCode: '520100' });
  });

  afterEach(async () => {
    await quiet(app);
    expect(await ledgerViolations(prisma, ids)).toEqual([]);
  });

  afterAll(async () => {
    await quiet(app);
    // Payouts stay with the ledger (append-only); their events and audit rows go.
    const payouts = (await prisma.payout.findMany({ where: { organisationId: { in: ids } } })).map(
      (p) => p.id,
    );
    await prisma.outboxEvent.deleteMany({ where: { aggregateId: { in: payouts } } });
    await prisma.auditLogEntry.deleteMany({ where: { targetId: { in: [...payouts, ...adminEnded] } } });
    await removeMarketplaceData(app, ids);
    if (ownMarket) await removeTestMarket(app, ownMarket.id);
    await app.close();
  });

  it('settles reserved periods at their end into earnings and fees, once, then releases nothing left', async () => {
    const lease = await leaseBetween(
      app,
      { provider, buyer, siteId: site.id },
      {
        market: MARKET,
        gpus: 2,
        price: '10.00',
        durationHours: 3,
        billingMode: 'RESERVED',
      },
    );
    await handOverAccess(app, provider, lease.id).expect(200);
    const buyerBefore = await balances(buyer);
    const feesBefore = await fees();
    expect(await settle(lease.id)).toBe(0);

    await advance(2 * HOUR + MINUTE);
    // Two periods over: each 2 GPUs x 1 h x 10.00 = 20.00, fee 3% = 0.60, provider 19.40.
    expect(await settle(lease.id)).toBe(2);
    expect(await settle(lease.id)).toBe(0);
    const buyerAfter = await balances(buyer);
    expect(Number(buyerBefore.held) - Number(buyerAfter.held)).toBeCloseTo(40, 6);
    expect(buyerAfter.available).toBe(buyerBefore.available);
    expect(await balances(provider)).toEqual({ currency: 'CNY', earnings: '38.80', owed: '0.00' });
    expect((await fees()) - feesBefore).toBe(120n);
    const periods = await prisma.leasePeriod.findMany({
      where: { leaseId: lease.id },
      orderBy: { index: 'asc' },
    });
    expect(periods.map((p) => [p.index, p.basis, p.gpuSeconds, p.cost, p.fee])).toEqual([
      [0, 'RESERVED', 7200n, 2000n, 60n],
      [1, 'RESERVED', 7200n, 2000n, 60n],
    ]);
    const settledEvents = (await eventsOf(app, lease.id)).filter((e) => e.type === 'period.settled');
    expect(settledEvents.map((e) => e.payload)).toEqual([
      expect.objectContaining({
        period: 0,
        cost: '20.00',
        fee: '0.60',
        providerProceeds: '19.40',
        basis: 'RESERVED',
      }),
      expect.objectContaining({ period: 1, cost: '20.00', fee: '0.60' }),
    ]);

    // The lease ends; its last period settles and the lease is complete, its hold used up exactly.
    await advance(HOUR);
    expect(await app.get(LeaseLifecycleService).sweep()).toMatchObject({ ended: 1 });
    expect(await settle(lease.id)).toBe(1);
    const done = await prisma.lease.findUniqueOrThrow({ where: { id: lease.id } });
    expect(done).toMatchObject({ settlementState: 'COMPLETE', settledPeriods: 3 });
    expect(await balances(provider)).toEqual({ currency: 'CNY', earnings: '58.20', owed: '0.00' });
    expect(await prisma.ledgerTransfer.count({ where: { key: `lease-release:${lease.id}` } })).toBe(0);
  });

  it('bills pay-per-use on reported usage, at least the minimum, with grace and final reports', async () => {
    const lease = await leaseBetween(
      app,
      { provider, buyer, siteId: site.id },
      {
        market: MARKET,
        gpus: 2,
        price: '10.00',
        durationHours: 3,
        billingMode: 'PAY_PER_USE',
        payPerUseMinPercent: 30,
      },
    );
    const started = (await handOverAccess(app, provider, lease.id).expect(200)).body as { startedAt: string };
    // Not a period yet (still running) and not the lease's boundary.
    await report(lease.id, { periodStart: started.startedAt, gpuSeconds: 10 }).expect(400);
    // Period 0 ended 5 minutes ago: inside its grace for reports; period 1 is running.
    await advance(HOUR + 5 * MINUTE);
    const row = await prisma.lease.findUniqueOrThrow({ where: { id: lease.id } });
    const at = (ms: number) => new Date(row.startedAt!.getTime() + ms).toISOString();
    const [p0, p1] = [at(0), at(HOUR)];

    await report(lease.id, { periodStart: at(1000), gpuSeconds: 1 }).expect(400);
    await report(lease.id, { periodStart: p0, gpuSeconds: 7201 }).expect(400);
    await report(lease.id, { periodStart: p1, gpuSeconds: 1 }).expect(400);
    const first = await report(lease.id, { periodStart: p0, gpuSeconds: 3600, tokens: 1_850_000 }).expect(
      200,
    );
    expect(first.body).toMatchObject({
      leaseId: lease.id,
      periodStart: p0,
      gpuSeconds: 3600,
      tokens: 1_850_000,
    });
    await report(lease.id, { periodStart: p0, gpuSeconds: 3600, tokens: 1_850_000 }).expect(200);
    // One event for the one report, seen by both parties (docs/EVENTS.md, "Audience").
    const reported = await prisma.outboxEvent.findMany({
      where: { aggregateId: lease.id, type: 'usage.reported' },
    });
    expect(reported).toHaveLength(1);
    expect([...reported[0]!.audience].sort()).toEqual([buyer.organisationId, provider.organisationId].sort());
    const changed = await report(lease.id, { periodStart: p0, gpuSeconds: 3500, tokens: 1_850_000 }).expect(
      409,
    );
    expect(field(changed, 'details')).toMatchObject({ reason: 'USAGE_ALREADY_REPORTED' });
    const stranger = await registerOrganisation(app, 'PROVIDER', { verified: true });
    await http()
      .post(`/v1/leases/${lease.id}/usage`)
      .set(stranger.auth)
      .send({ periodStart: p0, gpuSeconds: 1 })
      .expect(404);
    // Within the grace nothing settles yet.
    expect(await settle(lease.id)).toBe(0);
    await advance(HOUR + 15 * MINUTE);

    // Period 0 (3,600 GPU-s reported) and period 1 (none: the 30% minimum, 2,160 GPU-s) are past
    // their grace; period 2 is running.
    expect(await settle(lease.id)).toBe(2);
    const periods = await prisma.leasePeriod.findMany({
      where: { leaseId: lease.id },
      orderBy: { index: 'asc' },
    });
    expect(periods.map((p) => [p.basis, p.gpuSeconds, p.cost, p.fee])).toEqual([
      ['REPORTED', 3600n, 1000n, 30n],
      ['MINIMUM', 2160n, 600n, 18n],
    ]);
    const late = await report(lease.id, { periodStart: p1, gpuSeconds: 100 }).expect(409);
    expect(field(late, 'details')).toMatchObject({ reason: 'PERIOD_SETTLED' });

    // The provider stops the lease 20 minutes into period 2 without notice: it pays elapsed usage
    // only, no minimum, and the 40 minutes left of the notice as a penalty to the buyer.
    const availableBefore = Number((await balances(buyer)).available);
    await http()
      .post(`/v1/leases/${lease.id}/terminate`)
      .set(provider.auth)
      .send({ mode: 'IMMEDIATE' })
      .expect(200);
    // Its cut period settles after the grace for a report.
    expect(await settle(lease.id)).toBe(0);
    await advance(16 * MINUTE);
    expect(await settle(lease.id)).toBe(1);
    const last = await prisma.leasePeriod.findFirstOrThrow({ where: { leaseId: lease.id, index: 2 } });
    expect(last).toMatchObject({ basis: 'MINIMUM', gpuSeconds: 0n, cost: 0n });
    // Hold 2 x 3 h x 10.00 = 60.00, of which 16.00 settled: 44.00 comes back, after the
    // penalty of 2 GPUs x 40 min x 10.00 = 13.33.
    expect(Number((await balances(buyer)).available) - availableBefore).toBeCloseTo(57.33, 6);
    expect(await prisma.lease.findUniqueOrThrow({ where: { id: lease.id } })).toMatchObject({
      settlementState: 'COMPLETE',
    });
  });

  it("settles a last period a provider's notice cut short once the lease has closed, without its minimum", async () => {
    const lease = await leaseBetween(
      app,
      { provider, buyer, siteId: site.id },
      {
        market: MARKET,
        gpus: 2,
        // Below the 10.00 offers earlier tests left with GPUs, so the bid takes this offer's notice.
        price: '9.00',
        durationHours: 4,
        billingMode: 'PAY_PER_USE',
        payPerUseMinPercent: 30,
        terminationNoticeHours: 1,
        withdrawOffer: true,
      },
    );
    expect(await prisma.lease.findUniqueOrThrow({ where: { id: lease.id } })).toMatchObject({
      offerId: lease.offerId,
    });
    await handOverAccess(app, provider, lease.id).expect(200);
    // Notice 30 minutes in: the lease runs on to 1 h 30 and closes TERMINATED(PROVIDER_NOTICE),
    // which cuts period 1 (1 h to 1 h 30) short.
    await advance(30 * MINUTE);
    await http().post(`/v1/leases/${lease.id}/terminate`).set(provider.auth).send({}).expect(200);
    // Past that end and its grace, before the lease sweep has closed the lease: the race that the
    // crash suite (test/process/settlement-crash.e2e.spec.ts) lost once, when a settle job charged
    // the cut period its minimum as if the lease had simply ended.
    await advance(HOUR + 20 * MINUTE);
    expect(await prisma.lease.findUniqueOrThrow({ where: { id: lease.id } })).toMatchObject({
      status: 'ACTIVE',
    });
    expect(await settle(lease.id)).toBe(1);
    expect(await settle(lease.id)).toBe(0);
    await app.get(LeaseLifecycleService).sweep();
    expect(await prisma.lease.findUniqueOrThrow({ where: { id: lease.id } })).toMatchObject({
      status: 'TERMINATED',
      terminationReason: 'PROVIDER_NOTICE',
    });
    expect(await settle(lease.id)).toBe(1);
    const periods = await prisma.leasePeriod.findMany({
      where: { leaseId: lease.id },
      orderBy: { index: 'asc' },
    });
    // Period 0 at the 30% minimum, 2 x 3,600 x 30% = 2,160 GPU-s (5.40, fee 0.16); period 1
    // nothing: none reported, and the provider's end waived its minimum.
    expect(periods.map((p) => [p.index, p.basis, p.gpuSeconds, p.cost, p.fee])).toEqual([
      [0, 'MINIMUM', 2160n, 540n, 16n],
      [1, 'MINIMUM', 0n, 0n, 0n],
    ]);
    expect(await prisma.lease.findUniqueOrThrow({ where: { id: lease.id } })).toMatchObject({
      settlementState: 'COMPLETE',
      settledPeriods: 2,
    });
  });

  it('settles a period once however many jobs race for it', async () => {
    const lease = await leaseBetween(
      app,
      { provider, buyer, siteId: site.id },
      {
        market: MARKET,
        gpus: 1,
        price: '7.77',
        durationHours: 2,
        billingMode: 'RESERVED',
      },
    );
    await handOverAccess(app, provider, lease.id).expect(200);
    await advance(HOUR + MINUTE);
    const settled = await Promise.all(Array.from({ length: 6 }, () => settle(lease.id)));
    expect(settled.reduce((a, b) => a + b, 0)).toBe(1);
    expect(await prisma.leasePeriod.count({ where: { leaseId: lease.id } })).toBe(1);
    expect(await prisma.ledgerTransfer.count({ where: { key: `settle:${lease.id}:0` } })).toBe(1);
    // The sweep queues it once too (job id = lease + next period), and a queued twin is a no-op.
    await advance(HOUR);
    await app.get(LeaseLifecycleService).sweep();
    expect(await app.get(SettlementService).sweep()).toBeGreaterThanOrEqual(1);
    await quiet(app);
    expect(await prisma.lease.findUniqueOrThrow({ where: { id: lease.id } })).toMatchObject({
      settlementState: 'COMPLETE',
      settledPeriods: 2,
    });
  });

  it('hands a lease whose settlement keeps failing to an admin, and skips it after', async () => {
    const lease = await leaseBetween(
      app,
      { provider, buyer, siteId: site.id },
      {
        market: MARKET,
        gpus: 1,
        price: '5.00',
        durationHours: 2,
        billingMode: 'RESERVED',
      },
    );
    await handOverAccess(app, provider, lease.id).expect(200);
    await app.get(SettlementService).giveUp(lease.id, 'simulated: retries exhausted');
    await advance(HOUR + MINUTE);
    expect(await settle(lease.id)).toBe(0);
    expect(await prisma.lease.findUniqueOrThrow({ where: { id: lease.id } })).toMatchObject({
      settlementState: 'NEEDS_ATTENTION',
      settlementError: 'simulated: retries exhausted',
    });
    await http()
      .post(`/v1/leases/${lease.id}/terminate`)
      .set(provider.auth)
      .send({ mode: 'IMMEDIATE' })
      .expect(200);
  });

  it('hands a lease to an admin when BullMQ fails its settle job without a retry', async () => {
    const lease = await leaseBetween(
      app,
      { provider, buyer, siteId: site.id },
      { market: MARKET, gpus: 1, price: '3.00', durationHours: 2, billingMode: 'RESERVED' },
    );
    await handOverAccess(app, provider, lease.id).expect(200);
    await advance(HOUR + MINUTE);
    // A job stalled past JOB_MAX_STALLED_COUNT by crashed workers: BullMQ's stall script marks it
    // with a deferred failure ('defa'), and the next worker fails it at once whatever its attempts.
    const worker = app.get(SettlementProcessor).worker;
    await worker.pause();
    const job = await app
      .get(JobProducer)
      .enqueue('settlement.settle-lease', { leaseId: lease.id }, { jobId: `settle-${lease.id}-0` });
    const queue = app.get(JobProducer).queue('settlement');
    await app
      .get(RedisService)
      .client.hset(queue.toKey(job.id!), 'defa', 'job stalled more than allowable limit');
    await worker.resume();
    // Its id stays taken in the failed set, so the sweep could never queue that period again.
    const row = await waitFor('the lease to need attention', async () => {
      const found = await prisma.lease.findUniqueOrThrow({ where: { id: lease.id } });
      return found.settlementState === 'NEEDS_ATTENTION' ? found : undefined;
    });
    expect(row).toMatchObject({
      settledPeriods: 0,
      settlementError: 'job stalled more than allowable limit',
    });
    expect(await (await queue.getJob(job.id!))!.getState()).toBe('failed');
    await http()
      .post(`/v1/leases/${lease.id}/terminate`)
      .set(provider.auth)
      .send({ mode: 'IMMEDIATE' })
      .expect(200);
  });

  it('pays a provider out of its earnings, and a buyer its unused credit, once an admin confirms', async () => {
    const email = `admin-${Date.now()}@settlement.test`;
    expect((await createAdminWithCli(email, 'settlement admin passphrase')).code).toBe(0);
    const admin = (await signIn(app, { email, password: 'settlement admin passphrase' })).auth;
    const owner = (await signIn(app, provider)).auth;
    const earnings = Number((await balances(provider)).earnings);
    expect(earnings).toBeGreaterThan(50);

    // Keys cannot move money; and nothing is paid without a bank account on file.
    await http()
      .post('/v1/payouts')
      .set(provider.auth)
      .set('idempotency-key', 'p-0')
      .send({ amount: '50.00' })
      .expect(403);
    const none = await http()
      .post('/v1/payouts')
      .set(owner)
      .set('idempotency-key', 'p-1')
      .send({ amount: '50.00' });
    expect(none.status).toBe(409);
    const account = await http()
      .put('/v1/bank-account')
      .set(owner)
      .send({
        beneficiary: 'Guizhou Mountain DC',
        bankName: 'Bank of Guiyang',
        accountNumber: '6222 0210 0101 2345 678',
      })
      .expect(200);
    expect(account.body).toMatchObject({ accountLast4: '5678' });
    await http()
      .post('/v1/payouts')
      .set(owner)
      .set('idempotency-key', 'p-2')
      .send({ amount: '100000.00' })
      .expect(402);
    const asked = await http()
      .post('/v1/payouts')
      .set(owner)
      .set('idempotency-key', 'p-3')
      .send({ amount: '50.00' })
      .expect(201);
    expect(asked.body).toMatchObject({
      status: 'PENDING',
      source: 'PROVIDER_EARNINGS',
      amount: '50.00',
      accountLast4: '5678',
    });
    expect(Number((await balances(provider)).earnings)).toBeCloseTo(earnings - 50, 6);

    const id = field(asked, 'id') as string;
    const queue = await http()
      .get(`/admin/payouts?status=PENDING&organisationId=${provider.organisationId}`)
      .set(admin)
      .expect(200);
    expect((queue.body as { data: Array<{ id: string; accountNumber: string }> }).data).toEqual([
      expect.objectContaining({ id, accountNumber: '6222021001012345678' }),
    ]);
    const paid = await http()
      .post(`/admin/payouts/${id}/confirm`)
      .set(admin)
      .send({ bankReference: 'BOGY-1' })
      .expect(200);
    expect(paid.body).toMatchObject({ status: 'PAID', bankReference: 'BOGY-1' });
    await http()
      .post(`/admin/payouts/${id}/confirm`)
      .set(admin)
      .send({ bankReference: 'BOGY-1' })
      .expect(200);
    await http().post(`/admin/payouts/${id}/reject`).set(admin).send({ reason: 'late' }).expect(409);
    expect((await eventsOf(app, id)).map((e) => e.type)).toEqual(['payout.paid']);
    expect(Number((await balances(provider)).earnings)).toBeCloseTo(earnings - 50, 6);

    // A buyer withdraws unused credit; a rejected withdrawal gives it back.
    const buyerOwner = (await signIn(app, buyer)).auth;
    await http()
      .put('/v1/bank-account')
      .set(buyerOwner)
      .send({ beneficiary: 'Inference SME', bankName: 'ICBC', accountNumber: '1234-5678-9012' })
      .expect(200);
    const before = Number((await balances(buyer)).available);
    const withdrawal = await http()
      .post('/v1/payouts')
      .set(buyerOwner)
      .set('idempotency-key', 'w-1')
      .send({ amount: '10.00' })
      .expect(201);
    expect(withdrawal.body).toMatchObject({ source: 'BUYER_AVAILABLE' });
    expect(Number((await balances(buyer)).available)).toBeCloseTo(before - 10, 6);
    await http()
      .post(`/admin/payouts/${field(withdrawal, 'id') as string}/reject`)
      .set(admin)
      .send({ reason: 'account closed' })
      .expect(200);
    expect(Number((await balances(buyer)).available)).toBeCloseTo(before, 6);
    await http().get(`/v1/payouts/${id}`).set(buyer.auth).expect(404);
    await http().get('/admin/payouts').set(provider.auth).expect(403);
  });

  it('lets an admin end a lease, audited: a full refund before access, elapsed time once active', async () => {
    const email = `admin-terminate-${Date.now()}@settlement.test`;
    expect((await createAdminWithCli(email, 'settlement admin passphrase')).code).toBe(0);
    const signInAdmin = async () =>
      (await signIn(app, { email, password: 'settlement admin passphrase' })).auth;
    let admin = await signInAdmin();
    // A market of its own: earlier tests' offers rest in MARKET and would trade first.
    ownMarket = await createTestMarket(app);
    const terms = {
      market: ownMarket.slug,
      gpus: 2,
      price: '10.00',
      durationHours: 3,
      billingMode: 'RESERVED',
    } as const;
    const terminate = (id: string, body: Record<string, unknown> = { reason: 'site lost power' }) =>
      http().post(`/admin/leases/${id}/terminate`).set(admin).send(body);

    // Before access: nothing ran, the whole hold (2 x 3 h x 10.00 = 60.00) goes back.
    const scheduled = await leaseBetween(app, { provider, buyer, siteId: site.id }, terms);
    adminEnded.push(scheduled.id);
    const refunded = await terminate(scheduled.id).expect(200);
    expect(refunded.body).toMatchObject({ view: 'admin', status: 'TERMINATED', terminationReason: 'ADMIN' });
    const refund = await prisma.ledgerTransfer.findUniqueOrThrow({
      where: { key: `lease-release:${scheduled.id}` },
      include: { entries: true },
    });
    expect(refund.kind).toBe('REFUND');
    expect(refund.entries.map((e) => e.amount).sort()).toEqual([-6000n, 6000n]);

    // Active: ends now, and the period it is in is paid for 20 minutes, as a provider's end is.
    const active = await leaseBetween(app, { provider, buyer, siteId: site.id }, terms);
    adminEnded.push(active.id);
    await handOverAccess(app, provider, active.id).expect(200);
    await advance(HOUR + 20 * MINUTE);
    // An access token lives minutes of exchange time.
    admin = await signInAdmin();
    for (const auth of [provider.auth, buyer.auth, (await signIn(app, provider)).auth]) {
      await http()
        .post(`/admin/leases/${active.id}/terminate`)
        .set(auth)
        .send({ reason: 'x y z' })
        .expect(403);
    }
    for (const body of [{}, { reason: '' }, { reason: 'x'.repeat(1001) }, { reason: 3 }]) {
      await terminate(active.id, body).expect(400);
    }
    const ended = await terminate(active.id).expect(200);
    expect(ended.body).toMatchObject({
      view: 'admin',
      status: 'TERMINATED',
      terminationReason: 'ADMIN',
      providerOrganisationId: provider.organisationId,
      buyerOrganisationId: buyer.organisationId,
    });
    // Ended already: answered as it is, recorded once.
    expect((await terminate(active.id, { reason: 'again' }).expect(200)).body).toEqual(ended.body);
    await http()
      .post(`/admin/leases/${randomUUID()}/terminate`)
      .set(admin)
      .send({ reason: 'gone' })
      .expect(404);
    const audit = await prisma.auditLogEntry.findMany({ where: { targetId: active.id } });
    expect(audit).toMatchObject([
      {
        action: 'lease.terminate',
        targetType: 'lease',
        details: { reason: 'site lost power', before: { status: 'ACTIVE' } },
      },
    ]);
    expect((await eventsOf(app, active.id)).filter((e) => e.type === 'lease.terminated')).toMatchObject([
      { payload: { reason: 'ADMIN' } },
    ]);
    // The buyer and the provider see why it ended.
    for (const tenant of [buyer, provider]) {
      expect((await http().get(`/v1/leases/${active.id}`).set(tenant.auth).expect(200)).body).toMatchObject({
        status: 'TERMINATED',
        terminationReason: 'ADMIN',
      });
    }

    await quiet(app);
    // The worker may have settled some already; settling again adds nothing.
    await settle(active.id);
    const periods = await prisma.leasePeriod.findMany({
      where: { leaseId: active.id },
      orderBy: { index: 'asc' },
    });
    // 2 GPUs x 20 min = 2,400 GPU-s at 10.00/h = 6.66 (floor), basis ELAPSED; nothing after.
    expect(periods.map((row) => [row.index, row.basis, row.gpuSeconds, row.cost])).toEqual([
      [0, 'RESERVED', 7200n, 2000n],
      [1, 'ELAPSED', 2400n, 666n],
    ]);
    expect(await prisma.lease.findUniqueOrThrow({ where: { id: active.id } })).toMatchObject({
      settlementState: 'COMPLETE',
    });
  });
});
