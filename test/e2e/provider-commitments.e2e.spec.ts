import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { parse } from 'csv-parse/sync';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { startExchangeOnClock } from '../support/http-app';
import {
  balanceOf,
  clockOf,
  expectLedgerSound,
  HOUR,
  MINUTE,
  quiet,
  settleLease,
  sweepLeases,
} from '../support/leases';
import { registerOrganisation, signIn, type TestTenant } from '../support/tenants';
import { handOverAccess, leaseBetween, providerWithSite, type LeaseTerms } from './lease-fixtures';
import { createTestMarket, eventsOf, removeMarketplaceData, removeTestMarket } from './marketplace-fixtures';

type Body = Record<string, unknown>;

/**
 * Provider commitments (docs/LEASES.md, "Ending a lease early"; docs/LEDGER.md, "Receivables"):
 * a provider ends an ACTIVE lease at the offer's notice, or now with a penalty credited to the
 * buyer; a penalty beyond the provider's earnings is a receivable that later proceeds net and
 * that blocks payouts until then. Time moves on the controllable clock; the ledger invariants
 * run after every test. Fee of the test market: 250 bps.
 */
describe('provider commitments: notice, penalty, receivable', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let market: { id: string; slug: string };
  let buyer: TestTenant;
  const ids: string[] = [];
  const http = () => request(app.getHttpServer());
  const clock = () => clockOf(app);
  const settle = (leaseId: string) => settleLease(app, leaseId);
  const sweep = () => sweepLeases(app);
  const balance = (tenant: TestTenant) => balanceOf(app, tenant);
  const provider = () => providerWithSite(app, ids);
  // Each offer is withdrawn once leased, so that no later bid fills from it when its GPUs return.
  const leaseOf = async (
    parties: { provider: TestTenant; siteId: string },
    terms: Omit<LeaseTerms, 'market' | 'price' | 'billingMode'>,
  ): Promise<{ id: string; offerId: string }> => {
    const made = await leaseBetween(
      app,
      { ...parties, buyer },
      { market: market.slug, price: '10.00', billingMode: 'RESERVED', withdrawOffer: true, ...terms },
    );
    expect((await prisma.lease.findUniqueOrThrow({ where: { id: made.id } })).offerId).toBe(made.offerId);
    return made;
  };
  const terminate = (leaseId: string, tenant: TestTenant, body?: Body) =>
    http().post(`/v1/leases/${leaseId}/terminate`).set(tenant.auth).send(body);

  beforeAll(async () => {
    app = await startExchangeOnClock();
    prisma = app.get(PrismaService);
    market = await createTestMarket(app);
    buyer = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor: 1_000_000n });
    ids.push(buyer.organisationId);
  });

  afterEach(() => expectLedgerSound(app, ids));

  afterAll(async () => {
    await quiet(app);
    const payouts = (await prisma.payout.findMany({ where: { organisationId: { in: ids } } })).map(
      (p) => p.id,
    );
    await prisma.outboxEvent.deleteMany({ where: { aggregateId: { in: payouts } } });
    await removeMarketplaceData(app, ids);
    await removeTestMarket(app, market.id);
    await app.close();
  });

  it('ends a lease at the end of the notice: the buyer pays only up to it, the end is recorded', async () => {
    const { tenant, siteId } = await provider();
    const lease = await leaseOf(
      { provider: tenant, siteId },
      { gpus: 2, durationHours: 6, terminationNoticeHours: 2 },
    );
    const started = (await handOverAccess(app, tenant, lease.id).expect(200)).body as { startedAt: string };
    const t0 = Date.parse(started.startedAt);
    const availableBefore = Number((await balance(buyer)).available);
    await clock().advance(30 * MINUTE);

    const noticed = await terminate(lease.id, tenant).expect(200);
    expect(noticed.body).toMatchObject({
      status: 'ACTIVE',
      endedBy: 'PROVIDER',
      terminationNoticeHours: 2,
      noticeGivenAt: new Date(t0 + 30 * MINUTE).toISOString(),
      endsAt: new Date(t0 + 150 * MINUTE).toISOString(),
      penalty: null,
    });
    // The buyer sees the same record; notice given again moves nothing.
    const seen = await http().get(`/v1/leases/${lease.id}`).set(buyer.auth).expect(200);
    expect(seen.body).toMatchObject({
      view: 'buyer',
      endedBy: 'PROVIDER',
      endsAt: (noticed.body as Body).endsAt,
    });
    await clock().advance(10 * MINUTE);
    expect((await terminate(lease.id, tenant).expect(200)).body).toMatchObject({
      noticeGivenAt: new Date(t0 + 30 * MINUTE).toISOString(),
      endsAt: new Date(t0 + 150 * MINUTE).toISOString(),
    });
    await quiet(app);
    const scheduled = (await eventsOf(app, lease.id)).filter((e) => e.type === 'lease.termination_scheduled');
    expect(scheduled.map((e) => e.payload)).toEqual([
      expect.objectContaining({
        leaseId: lease.id,
        noticeHours: 2,
        endsAt: new Date(t0 + 150 * MINUTE).toISOString(),
      }),
    ]);

    // At the end of the notice the lease closes as the provider's, and is settled to that end only.
    await clock().advance(2 * HOUR);
    expect(await sweep()).toMatchObject({ ended: 1 });
    expect(await settle(lease.id)).toBe(3);
    const closed = await http().get(`/v1/leases/${lease.id}`).set(tenant.auth).expect(200);
    expect(closed.body).toMatchObject({
      status: 'TERMINATED',
      terminationReason: 'PROVIDER_NOTICE',
      endedBy: 'PROVIDER',
      endedAt: new Date(t0 + 150 * MINUTE).toISOString(),
      penalty: null,
    });
    const periods = await prisma.leasePeriod.findMany({
      where: { leaseId: lease.id },
      orderBy: { index: 'asc' },
    });
    expect(periods.map((p) => [p.basis, p.cost])).toEqual([
      ['RESERVED', 2000n],
      ['RESERVED', 2000n],
      ['ELAPSED', 1000n],
    ]);
    // Held 2 x 6 h x 10.00 = 120.00; 50.00 charged, 70.00 back; no penalty moved.
    expect(Number((await balance(buyer)).available) - availableBefore).toBeCloseTo(70, 6);
    expect(await prisma.ledgerTransfer.count({ where: { leaseId: lease.id, kind: 'PENALTY' } })).toBe(0);
    const terminated = (await eventsOf(app, lease.id)).find((e) => e.type === 'lease.terminated');
    expect(terminated?.payload).toMatchObject({ reason: 'PROVIDER_NOTICE' });
    expect(terminated?.payload).not.toHaveProperty('penalty');
  });

  it('ends a lease now for a penalty its earnings cover: the buyer is credited at once', async () => {
    const { tenant, siteId } = await provider();
    // Earnings first: a 1 h lease settled in full, 20.00 less 0.50 fee.
    const earner = await leaseOf({ provider: tenant, siteId }, { gpus: 2, durationHours: 1 });
    await handOverAccess(app, tenant, earner.id).expect(200);
    await clock().advance(HOUR);
    await sweep();
    expect(await settle(earner.id)).toBe(1);
    expect(await balance(tenant)).toEqual({ currency: 'CNY', earnings: '19.50', owed: '0.00' });

    const lease = await leaseOf(
      { provider: tenant, siteId },
      { gpus: 1, durationHours: 4, terminationNoticeHours: 1 },
    );
    await handOverAccess(app, tenant, lease.id).expect(200);
    await clock().advance(HOUR);
    const availableBefore = Number((await balance(buyer)).available);
    // The skipped notice, 1 h x 1 GPU x 10.00, goes to the buyer now.
    const ended = await terminate(lease.id, tenant, { mode: 'IMMEDIATE' }).expect(200);
    expect(ended.body).toMatchObject({
      status: 'TERMINATED',
      terminationReason: 'PROVIDER_REQUEST',
      endedBy: 'PROVIDER',
      penalty: '10.00',
      noticeGivenAt: null,
    });
    expect(Number((await balance(buyer)).available) - availableBefore).toBeCloseTo(10, 6);
    expect(await balance(tenant)).toEqual({ currency: 'CNY', earnings: '9.50', owed: '0.00' });
    // Asked again: the same lease, nothing charged twice.
    expect((await terminate(lease.id, tenant, { mode: 'IMMEDIATE' }).expect(200)).body).toMatchObject({
      penalty: '10.00',
    });
    const buyerEntries = (
      (await http().get('/v1/billing/entries').set(buyer.auth).expect(200)).body as { data: Body[] }
    ).data.filter((e) => e.leaseId === lease.id);
    expect(buyerEntries).toEqual([
      expect.objectContaining({ kind: 'PENALTY', account: 'BUYER_AVAILABLE', amount: '10.00' }),
    ]);
    await quiet(app);
    const terminated = (await eventsOf(app, lease.id)).find((e) => e.type === 'lease.terminated');
    expect(terminated?.payload).toMatchObject({ reason: 'PROVIDER_REQUEST', penalty: '10.00' });

    // Its last period, exactly one hour, settles in full; the rest of the hold returns.
    expect(await settle(lease.id)).toBe(1);
    expect(await balance(tenant)).toEqual({ currency: 'CNY', earnings: '19.25', owed: '0.00' });
  });

  it('keeps a penalty beyond earnings as a receivable, nets it from later proceeds and blocks payouts until then', async () => {
    const { tenant, siteId } = await provider();
    await http()
      .put('/v1/bank-account')
      .set((await signIn(app, tenant)).auth)
      .send({
        beneficiary: 'Guizhou Mountain DC',
        bankName: 'Bank of Guiyang',
        accountNumber: '6222 0210 0101 9876',
      })
      .expect(200);
    const cut = await leaseOf({ provider: tenant, siteId }, { gpus: 1, durationHours: 48 });
    const proceeds = await leaseOf({ provider: tenant, siteId }, { gpus: 10, durationHours: 3 });
    await handOverAccess(app, tenant, cut.id).expect(200);
    await handOverAccess(app, tenant, proceeds.id).expect(200);
    await clock().advance(10 * MINUTE);

    // The default notice, 24 h x 1 GPU x 10.00 = 240.00, with no earnings to pay it from.
    const availableBefore = Number((await balance(buyer)).available);
    const ended = await terminate(cut.id, tenant, { mode: 'IMMEDIATE' }).expect(200);
    expect(ended.body).toMatchObject({ terminationNoticeHours: 24, penalty: '240.00' });
    expect(Number((await balance(buyer)).available) - availableBefore).toBeCloseTo(240, 6);
    expect(await balance(tenant)).toEqual({ currency: 'CNY', earnings: '0.00', owed: '240.00' });

    // Signed in afresh each time: the clock moves past an access token's life.
    const payout = async (status: number) =>
      http()
        .post('/v1/payouts')
        .set((await signIn(app, tenant)).auth)
        .set('idempotency-key', randomUUID())
        .send({ amount: '50.00' })
        .expect(status);
    const refused = await payout(409);
    expect(refused.body).toMatchObject({
      code: 'RECEIVABLE_OPEN',
      details: { owed: '240.00', currency: 'CNY' },
    });
    expect(await prisma.payout.count({ where: { organisationId: tenant.organisationId } })).toBe(0);

    // The cut period (10 min x 1 GPU: 1.66, fee 0.04) nets 1.62.
    expect(await settle(cut.id)).toBe(1);
    expect(await balance(tenant)).toEqual({ currency: 'CNY', earnings: '0.00', owed: '238.38' });
    // Two hours of the other lease (100.00 - 2.50 each) net 195.00.
    await clock().advance(2 * HOUR - 10 * MINUTE);
    expect(await settle(proceeds.id)).toBe(2);
    expect(await balance(tenant)).toEqual({ currency: 'CNY', earnings: '0.00', owed: '43.38' });
    expect((await payout(409)).body).toMatchObject({ details: { owed: '43.38' } });

    // Its last hour pays off the rest; what remains is the provider's, and payouts are open again.
    await clock().advance(HOUR);
    await sweep();
    expect(await settle(proceeds.id)).toBe(1);
    expect(await balance(tenant)).toEqual({ currency: 'CNY', earnings: '54.12', owed: '0.00' });
    const recoveries = await prisma.ledgerTransfer.findMany({
      where: { organisationId: tenant.organisationId, kind: 'RECOVERY' },
      orderBy: { createdAt: 'asc' },
      select: { key: true },
    });
    expect(recoveries.map((r) => r.key)).toEqual([
      `recover:${cut.id}:0`,
      `recover:${proceeds.id}:1`,
      `recover:${proceeds.id}:2`,
    ]);
    await payout(201);
    expect(await balance(tenant)).toEqual({ currency: 'CNY', earnings: '4.12', owed: '0.00' });
    const entries = (
      (await http().get('/v1/billing/entries').set(tenant.auth).expect(200)).body as { data: Body[] }
    ).data;
    expect(entries.filter((e) => e.account === 'PROVIDER_RECEIVABLE').map((e) => [e.kind, e.amount])).toEqual(
      [
        ['RECOVERY', '43.38'],
        ['RECOVERY', '195.00'],
        ['RECOVERY', '1.62'],
        ['PENALTY', '-240.00'],
      ],
    );

    // Both sides' statements show it (docs/STATEMENTS.md "Penalties and receivables"): the
    // provider's earnings list the penalty and each recovery, in JSON and CSV; the buyer's invoice
    // of the cut lease shows the credit beside a gross of its one period.
    const to = encodeURIComponent(new Date(clock().now().getTime() + HOUR).toISOString());
    const providerAuth = (await signIn(app, tenant)).auth;
    const earnings = (
      await http().get(`/v1/billing/earnings?groupBy=lease&to=${to}`).set(providerAuth).expect(200)
    ).body as { adjustments: Body[] };
    expect(
      earnings.adjustments.map((a) => [a.kind, a.leaseId, a.penalty, a.earningsChange, a.owedChange]),
    ).toEqual([
      ['PENALTY', cut.id, '240.00', '0.00', '240.00'],
      ['RECOVERY', cut.id, null, '-1.62', '-1.62'],
      ['RECOVERY', proceeds.id, null, '-195.00', '-195.00'],
      ['RECOVERY', proceeds.id, null, '-43.38', '-43.38'],
    ]);
    const csv = await http()
      .get(`/v1/billing/earnings?groupBy=lease&format=csv&to=${to}`)
      .set(providerAuth)
      .expect(200);
    const rows = parse<Record<string, string>>(csv.text, { columns: true });
    expect(rows.map((r) => [r.row, r.leaseId, r.penalty, r.owedChange])).toEqual([
      ...[cut.id, proceeds.id].sort().map((id) => ['PERIODS', id, '', '']),
      ['PENALTY', cut.id, '240.00', '240.00'],
      ['RECOVERY', cut.id, '', '-1.62'],
      ['RECOVERY', proceeds.id, '', '-195.00'],
      ['RECOVERY', proceeds.id, '', '-43.38'],
    ]);
    const invoices = ((await http().get('/v1/invoices').set(buyer.auth).expect(200)).body as { data: Body[] })
      .data;
    expect(invoices.find((i) => i.leaseId === cut.id)).toMatchObject({
      gross: '1.66',
      penaltyCredit: '240.00',
    });
    expect(invoices.find((i) => i.leaseId === proceeds.id)).toMatchObject({ penaltyCredit: '0.00' });
  });

  it('refuses a bad notice or mode with 400 and writes nothing', async () => {
    const { tenant, siteId } = await provider();
    const offers = () => prisma.offer.count({ where: { organisationId: tenant.organisationId } });
    const now = clock().now().getTime();
    const offer = (terminationNoticeHours: unknown) =>
      http()
        .post('/v1/offers')
        .set(tenant.auth)
        .set('idempotency-key', randomUUID())
        .send({
          market: market.slug,
          siteId,
          gpus: 1,
          pricePerGpuHour: '10.00',
          availableFrom: new Date(now).toISOString(),
          availableUntil: new Date(now + 48 * HOUR).toISOString(),
          terminationNoticeHours,
        });
    for (const bad of [0, -1, 169, 1.5, '24', true, {}]) {
      const res = await offer(bad);
      expect([bad, res.status]).toEqual([bad, 400]);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    expect(await offers()).toBe(0);
    const placed = await offer(168).expect(201);
    expect(placed.body).toMatchObject({ terminationNoticeHours: 168 });
    // The cancel's answer (read back by the group commit) carries the notice too.
    const cancelled = await http()
      .post(`/v1/offers/${(placed.body as { id: string }).id}/cancel`)
      .set(tenant.auth)
      .expect(200);
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED', terminationNoticeHours: 168 });

    const lease = await leaseOf({ provider: tenant, siteId }, { gpus: 1, durationHours: 2 });
    await handOverAccess(app, tenant, lease.id).expect(200);
    const before = await prisma.lease.findUniqueOrThrow({ where: { id: lease.id } });
    for (const [tenantOf, body] of [
      [tenant, { mode: 'LATER' }],
      [tenant, { mode: 'IMMEDIATE', penalty: '0.00' }],
      [buyer, { mode: 'NOTICE' }],
      [buyer, { mode: 'IMMEDIATE' }],
    ] as const) {
      const res = await terminate(lease.id, tenantOf, body);
      expect([body, res.status]).toEqual([body, 400]);
    }
    expect(await prisma.lease.findUniqueOrThrow({ where: { id: lease.id } })).toEqual(before);
    expect(await prisma.ledgerTransfer.count({ where: { leaseId: lease.id, kind: 'PENALTY' } })).toBe(0);
    // Ended at its notice (24 h by default) it would run to its own end first: nothing recorded.
    expect((await terminate(lease.id, tenant).expect(200)).body).toMatchObject({
      status: 'ACTIVE',
      noticeGivenAt: null,
      endedBy: null,
    });
    await clock().advance(2 * HOUR);
    await sweep();
    expect(await settle(lease.id)).toBe(2);
  });
});
