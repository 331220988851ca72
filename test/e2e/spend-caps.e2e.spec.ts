import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Clock } from '@/infra/clock/clock';
import type { ControllableClock } from '@/infra/clock/controllable-clock';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { SettlementService } from '@/modules/billing/settlement/settlement.service';
import { spendPeriodOf } from '@/modules/billing/ledger/domain/billing-limits';
import { createAdminWithCli } from '../support/admin-cli';
import { startHttpApp } from '../support/http-app';
import { connectSse } from '../support/sse-client';
import { ledgerViolations } from '../support/ledger-invariants';
import { registerOrganisation, signIn, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { handOverAccess, leaseBetween, quiet } from './lease-fixtures';
import { createSite, hoursFromNow, removeMarketplaceData } from './marketplace-fixtures';

// Fee 300 bps (migration 20261128000000_init); no other suite trades here. Bids at 0.50 meet no offer.
const MARKET = 'nvidia-h800-80gb';
const HOUR = 3_600_000;
const MINUTE = 60_000;

type Body = Record<string, unknown>;
const body = (res: { body: unknown }): Body => res.body as Body;

/**
 * A buyer's own limits and an admin's resolution of settlement that gave up: the monthly spend
 * cap refuses the bid that would cross it (also under concurrent placements), `balance.low` is
 * written once per crossing and re-arms, and a NEEDS_ATTENTION lease is retried, settled by
 * hand and voided with the ledger invariants holding after each. Budget: ~15 s.
 */
describe('billing limits and settlement needing attention', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let admin: { authorization: string };
  let adminUserId: string;
  const ids: string[] = [];
  const http = () => request(app.getHttpServer());
  let adminEmail: string;
  // Access tokens expire on the same clock: sign the admin in again after moving it.
  const advance = async (ms: number) => {
    await app.get<Clock, ControllableClock>(Clock).advance(ms);
    admin = (await signIn(app, { email: adminEmail, password: 'caps admin passphrase' })).auth;
  };

  const buyer = async (
    creditMinor: bigint,
  ): Promise<{ tenant: TestTenant; owner: { authorization: string } }> => {
    const tenant = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor });
    ids.push(tenant.organisationId);
    return { tenant, owner: (await signIn(app, tenant)).auth };
  };
  const placeBid = (tenant: TestTenant, gpus: number, durationHours: number) =>
    http()
      .post('/v1/bids')
      .set(tenant.auth)
      .set('idempotency-key', randomUUID())
      .send({
        market: MARKET,
        gpus,
        maxPricePerGpuHour: '0.50',
        durationHours,
        provinces: [],
        minGpusPerSite: 1,
        partialAllowed: true,
        billingMode: 'RESERVED',
        expiresAt: hoursFromNow(48),
      });
  const available = async (tenant: TestTenant) =>
    ((await http().get('/v1/billing/balance').set(tenant.auth).expect(200)).body as { balances: Body[] })
      .balances[0]?.available;
  const lowEvents = (tenant: TestTenant) =>
    prisma.outboxEvent.findMany({
      where: { aggregateId: tenant.organisationId, type: 'balance.low' },
      orderBy: { seq: 'asc' },
    });

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
    // Listening, for the live stream's client (supertest uses the same server).
    await app.listen({ port: 0, host: '127.0.0.1' });
    prisma = app.get(PrismaService);
    // The cap counts one Shanghai calendar month and the tests move the clock about two hours:
    // a run started near the month's end steps past it first, so every case sees one month.
    const clock = app.get<Clock, ControllableClock>(Clock);
    const untilMonthEnd = spendPeriodOf(clock.now()).endsAt.getTime() - clock.now().getTime();
    if (untilMonthEnd < 6 * HOUR) await clock.advance(untilMonthEnd + HOUR);
    const email = `admin-${randomUUID()}@caps.test`;
    adminEmail = email;
    expect((await createAdminWithCli(email, 'caps admin passphrase')).code).toBe(0);
    admin = (await signIn(app, { email, password: 'caps admin passphrase' })).auth;
    adminUserId = (await prisma.user.findFirstOrThrow({ where: { email } })).id;
  });

  afterEach(async () => {
    await quiet(app);
    expect(await ledgerViolations(prisma, ids)).toEqual([]);
  });

  afterAll(async () => {
    await quiet(app);
    const owned = { organisationId: { in: ids } };
    const targets = [
      ...(await prisma.topUp.findMany({ where: owned, select: { id: true } })),
      ...(await prisma.payout.findMany({ where: owned, select: { id: true } })),
      ...(await prisma.lease.findMany({ where: { buyerOrganisationId: { in: ids } }, select: { id: true } })),
    ].map((row) => row.id);
    await prisma.outboxEvent.deleteMany({ where: { aggregateId: { in: targets } } });
    await prisma.auditLogEntry.deleteMany({ where: { targetId: { in: targets } } });
    await prisma.billingLimit.deleteMany({ where: owned });
    await removeMarketplaceData(app, ids);
    await app.close();
  });

  it('refuses the bid that would take committed spend past the cap, and accepts the one that fits', async () => {
    const { tenant, owner } = await buyer(1_000_000n);
    // Keys do not set money limits; owners signed in as people do.
    await http().put('/v1/billing/spend-cap').set(tenant.auth).send({ amount: '100.00' }).expect(403);
    await http().put('/v1/billing/spend-cap').set(owner).send({ amount: '-1.00' }).expect(400);
    await http().put('/v1/billing/spend-cap').set(owner).send({}).expect(400);
    const set = await http().put('/v1/billing/spend-cap').set(owner).send({ amount: '100.00' }).expect(200);
    expect(set.body).toMatchObject({
      currency: 'CNY',
      amount: '100.00',
      period: 'CALENDAR_MONTH',
      timeZone: 'Asia/Shanghai',
      committed: '0.00',
      remaining: '100.00',
    });

    // 10 GPUs x 0.50 x 10 h = 50.00 held: committed 50.00.
    const first = await placeBid(tenant, 10, 10).expect(201);
    // 10 x 0.50 x 11 h = 55.00 would make 105.00 > 100.00.
    const refused = await placeBid(tenant, 10, 11).expect(402);
    expect(refused.body).toMatchObject({
      code: 'SPEND_CAP_EXCEEDED',
      details: { cap: '100.00', committed: '50.00', required: '55.00', remaining: '50.00', currency: 'CNY' },
    });
    // Exactly to the cap is allowed: 50.00 + 50.00.
    await placeBid(tenant, 10, 10).expect(201);
    expect((await http().get('/v1/billing/spend-cap').set(tenant.auth).expect(200)).body).toMatchObject({
      committed: '100.00',
      remaining: '0.00',
    });
    expect(await available(tenant)).toBe('9900.00');

    // Cancelling releases the hold: committed 50.00 again. Four concurrent bids of 30.00
    // (6 x 0.50 x 10 h): the first to lock the accounts fits (80.00), every other would pass 100.00.
    await http()
      .post(`/v1/bids/${String(body(first).id)}/cancel`)
      .set(tenant.auth)
      .expect(200);
    const raced = await Promise.all(Array.from({ length: 4 }, () => placeBid(tenant, 6, 10)));
    expect(raced.map((res) => res.status).sort()).toEqual([201, 402, 402, 402]);
    expect((await http().get('/v1/billing/spend-cap').set(tenant.auth).expect(200)).body).toMatchObject({
      committed: '80.00',
      remaining: '20.00',
    });

    // No cap, no limit.
    const removed = await http().put('/v1/billing/spend-cap').set(owner).send({ amount: null }).expect(200);
    expect(removed.body).toMatchObject({ amount: null, remaining: null, committed: '80.00' });
    await placeBid(tenant, 10, 11).expect(201);

    // Providers have no spend to cap.
    const provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    ids.push(provider.organisationId);
    await http().get('/v1/billing/spend-cap').set(provider.auth).expect(403);
  });

  it('writes balance.low once per crossing below the threshold, re-armed by a top-up', async () => {
    const { tenant, owner } = await buyer(10_000n);
    await http()
      .put('/v1/billing/low-balance-threshold')
      .set(tenant.auth)
      .send({ amount: '60.00' })
      .expect(403);
    const set = await http()
      .put('/v1/billing/low-balance-threshold')
      .set(owner)
      .send({ amount: '60.00' })
      .expect(200);
    expect(set.body).toMatchObject({ currency: 'CNY', amount: '60.00', available: '100.00' });
    const live = await connectSse(`${await app.getUrl()}/v1/events/stream`, tenant.auth);
    expect(live.status).toBe(200);

    // 100.00 -> 70.00 (6 x 0.50 x 10 h): still at or above 60.00.
    await placeBid(tenant, 6, 10).expect(201);
    expect(await lowEvents(tenant)).toHaveLength(0);
    // 70.00 -> 50.00 (4 x 0.50 x 10 h): crossed.
    await placeBid(tenant, 4, 10).expect(201);
    // 50.00 -> 40.00: already below, nothing new.
    await placeBid(tenant, 2, 10).expect(201);
    const once = await lowEvents(tenant);
    expect(once.map((e) => e.payload)).toEqual([
      {
        organisationId: tenant.organisationId,
        currency: 'CNY',
        available: '50.00',
        threshold: '60.00',
        cause: 'BID_HOLD',
      },
    ]);
    expect(once[0]!.audience).toEqual([tenant.organisationId]);

    // A confirmed top-up of 50.00 lifts it to 90.00 (re-armed); a bid of 40.00 crosses again.
    const topUp = await http()
      .post('/v1/top-ups')
      .set(tenant.auth)
      .set('idempotency-key', randomUUID())
      .send({ amount: '50.00' })
      .expect(201);
    await http()
      .post(`/admin/top-ups/${String(body(topUp).id)}/confirm`)
      .set(admin)
      .send({ bankReference: 'CAPS-1' })
      .expect(200);
    expect(await available(tenant)).toBe('90.00');
    expect(await lowEvents(tenant)).toHaveLength(1);
    await placeBid(tenant, 8, 10).expect(201);
    expect((await lowEvents(tenant)).map((e) => (e.payload as Body).available)).toEqual(['50.00', '50.00']);

    // A withdrawal crosses too: threshold 40.00, 50.00 -> 30.00.
    await http().put('/v1/billing/low-balance-threshold').set(owner).send({ amount: '40.00' }).expect(200);
    await http()
      .put('/v1/bank-account')
      .set(owner)
      .send({ beneficiary: 'Inference SME', bankName: 'ICBC', accountNumber: '1234-5678-9012' })
      .expect(200);
    await http()
      .post('/v1/payouts')
      .set(owner)
      .set('idempotency-key', randomUUID())
      .send({ amount: '20.00' })
      .expect(201);
    const all = await lowEvents(tenant);
    expect(all).toHaveLength(3);
    expect(all[2]!.payload).toMatchObject({ available: '30.00', threshold: '40.00', cause: 'PAYOUT' });
    // The live stream delivers each of them to the organisation, in order.
    await waitFor('three balance.low on the stream', () =>
      Promise.resolve(live.events.filter((e) => e.event === 'balance.low').length >= 3 || undefined),
    );
    live.close();
    expect(
      live.events
        .filter((e) => e.event === 'balance.low')
        .map((e) => (JSON.parse(e.data) as { payload: Body }).payload.available),
    ).toEqual(['50.00', '50.00', '30.00']);
    expect(
      (await http().get('/v1/billing/low-balance-threshold').set(tenant.auth).expect(200)).body,
    ).toMatchObject({ amount: '40.00', available: '30.00' });
  });

  it('lets an admin retry, settle by hand and void a lease whose settlement gave up', async () => {
    const provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    ids.push(provider.organisationId);
    const { tenant: leaseBuyer } = await buyer(1_000_000n);
    const site = await createSite(app, provider, { provinceCode: '520000', cityCode: '520100' });
    // 2 GPUs x 10.00 x 3 h: the lease holds 60.00.
    const lease = await leaseBetween(
      app,
      { provider, buyer: leaseBuyer, siteId: site.id },
      { market: MARKET, gpus: 2, price: '10.00', durationHours: 3, billingMode: 'RESERVED' },
    );
    await handOverAccess(app, provider, lease.id).expect(200);
    // The path an exhausted settle job takes (SettlementProcessor.afterFailure).
    await app.get(SettlementService).giveUp(lease.id, 'simulated: retries exhausted');

    const route = (action = '') => `/admin/settlement/leases/${lease.id}${action}`;
    const list = await http().get('/admin/settlement/leases').set(admin).expect(200);
    expect((list.body as { data: Body[] }).data).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          id: lease.id,
          settlementState: 'NEEDS_ATTENTION',
          settlementError: 'simulated: retries exhausted',
          settledPeriods: 0,
          periods: 3,
          held: '60.00',
        }),
      ]),
    );
    for (const who of [provider.auth, leaseBuyer.auth]) {
      await http().get('/admin/settlement/leases').set(who).expect(403);
      await http().post(route('/retry')).set(who).expect(403);
      await http().post(route('/void')).set(who).send({ reason: 'not mine to void' }).expect(403);
    }
    const missing = `/admin/settlement/leases/${randomUUID()}`;
    await http().get(missing).set(admin).expect(404);
    await http().post(`${missing}/retry`).set(admin).expect(404);
    await http().post(`${missing}/void`).set(admin).send({ reason: 'no such lease' }).expect(404);
    await http()
      .post(`${missing}/settle`)
      .set(admin)
      .send({ period: 0, gpuSeconds: 1, reason: 'no such lease' })
      .expect(404);

    // Settle period 0 by hand: 3,600 of its 7,200 GPU-seconds at 10.00 = 10.00, fee 3% = 0.30.
    await advance(HOUR + MINUTE);
    const settle = (period: number, gpuSeconds: number) =>
      http()
        .post(route('/settle'))
        .set(admin)
        .send({ period, gpuSeconds, reason: 'node down half the hour' });
    await settle(0, 7201).expect(400);
    await settle(1, 100).expect(409);
    const byHand = await settle(0, 3600).expect(200);
    expect(byHand.body).toMatchObject({
      settlementState: 'NEEDS_ATTENTION',
      settledPeriods: 1,
      settledCost: '10.00',
      held: '50.00',
    });
    // The same request again is answered unchanged; another figure for a settled period is a conflict.
    await settle(0, 3600).expect(200);
    expect(body(await settle(0, 3000).expect(409)).details).toMatchObject({ reason: 'PERIOD_SETTLED' });
    expect(body(await settle(1, 3600).expect(409)).details).toMatchObject({ reason: 'PERIOD_NOT_OVER' });
    expect(body(await settle(2, 3600).expect(409)).details).toMatchObject({ reason: 'NOT_NEXT_PERIOD' });
    expect(
      (await prisma.leasePeriod.findMany({ where: { leaseId: lease.id } })).map((p) => [
        p.index,
        p.basis,
        p.gpuSeconds,
        p.cost,
        p.fee,
      ]),
    ).toEqual([[0, 'MANUAL', 3600n, 1000n, 30n]]);
    expect((await http().get('/v1/billing/balance').set(provider.auth).expect(200)).body).toEqual({
      balances: [{ currency: 'CNY', earnings: '9.70', owed: '0.00' }],
    });
    expect(await ledgerViolations(prisma, ids)).toEqual([]);

    // Retry: OPEN again, and the re-queued job settles period 1 (reserved: 7,200 GPU-s = 20.00).
    await advance(HOUR);
    expect(body(await http().post(route('/retry')).set(admin).expect(200))).toMatchObject({
      settlementState: 'OPEN',
      settlementError: null,
    });
    await quiet(app);
    const retried = body(await http().get(route()).set(admin).expect(200));
    expect(retried).toMatchObject({
      settlementState: 'OPEN',
      settledPeriods: 2,
      settledCost: '30.00',
      held: '30.00',
    });
    // Retrying an OPEN lease changes nothing (and is not audited twice).
    await http().post(route('/retry')).set(admin).expect(200);
    await quiet(app);
    expect(await ledgerViolations(prisma, ids)).toEqual([]);
    // Settlement is never refused by a spend cap: committed stays the lease's 60.00.
    expect((await http().get('/v1/billing/spend-cap').set(leaseBuyer.auth).expect(200)).body).toMatchObject({
      committed: '60.00',
    });

    // It fails again; the admin voids it: the 30.00 it still holds goes back to the buyer.
    await app.get(SettlementService).giveUp(lease.id, 'simulated: again');
    const before = Number(await available(leaseBuyer));
    await http().post(route('/void')).set(admin).send({ reason: 'x' }).expect(400);
    const voided = await http()
      .post(route('/void'))
      .set(admin)
      .send({ reason: 'provider refunded the buyer' });
    expect(voided.status).toBe(200);
    expect(voided.body).toMatchObject({ settlementState: 'VOIDED', held: '0.00', nextPeriod: null });
    expect(Number(await available(leaseBuyer)) - before).toBeCloseTo(30, 6);
    const release = await prisma.ledgerTransfer.findUniqueOrThrow({
      where: { key: `lease-release:${lease.id}` },
    });
    expect(release).toMatchObject({
      kind: 'CORRECTION',
      memo: 'settlement voided: provider refunded the buyer',
    });
    // What was charged before the void (10.00 by hand + 20.00 by the worker) is invoiced, once.
    const invoices = body(await http().get('/v1/invoices').set(leaseBuyer.auth).expect(200)).data as Body[];
    expect(invoices).toEqual([expect.objectContaining({ leaseId: lease.id, gross: '30.00' })]);
    // Idempotent by state; a voided lease is neither retried nor settled.
    await http().post(route('/void')).set(admin).send({ reason: 'provider refunded the buyer' }).expect(200);
    expect(await prisma.invoice.count({ where: { leaseId: lease.id } })).toBe(1);
    await http().post(route('/retry')).set(admin).expect(409);
    expect(body(await settle(2, 3600).expect(409)).details).toMatchObject({ reason: 'NOT_NEEDS_ATTENTION' });

    const audit = await prisma.auditLogEntry.findMany({
      where: { targetId: lease.id },
      orderBy: { id: 'asc' },
    });
    expect(audit.map((a) => [a.action, a.actorUserId])).toEqual([
      ['settlement.settle-by-hand', adminUserId],
      ['settlement.retry', adminUserId],
      ['settlement.void', adminUserId],
    ]);
    expect(audit[2]!.details).toMatchObject({ returned: '30.00', reason: 'provider refunded the buyer' });
    await http()
      .post(`/v1/leases/${lease.id}/terminate`)
      .set(provider.auth)
      .send({ mode: 'IMMEDIATE' })
      .expect(200);
  });
});
