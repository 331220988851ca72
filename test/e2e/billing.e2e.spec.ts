import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { OrderExpiryService } from '@/modules/matching/order-expiry.service';
import { createAdminWithCli } from '../support/admin-cli';
import { fundBuyer } from '../support/funding';
import { startHttpApp } from '../support/http-app';
import { ledgerViolations } from '../support/ledger-invariants';
import { registerOrganisation, signIn, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import {
  createSite,
  eventsOf,
  hoursFromNow,
  placeOffer,
  removeMarketplaceData,
} from './marketplace-fixtures';

// A market only the quote suite also uses (and cleans up), so this suite's fills are its own.
const MARKET = 'huawei-ascend-910b-64gb';

type Page = { data: Array<Record<string, unknown> & { id: string }>; nextCursor: string | null };
const page = (res: { body: unknown }): Page => res.body as Page;
const field = (res: { body: unknown }, name: string): unknown => (res.body as Record<string, unknown>)[name];

/**
 * Money through the API: top-ups confirmed by an admin, holds at bid placement (402 when not
 * covered), release on cancel and expiry, conversion at match, statements. The ledger
 * invariants (DESIGN 4) are checked after every test. Budget: ~20 s.
 */
describe('billing: top-ups, holds and the ledger', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let admin: { authorization: string };
  let provider: TestTenant;
  const ids: string[] = [];
  const http = () => request(app.getHttpServer());

  const buyer = async (creditMinor = 0n): Promise<TestTenant> => {
    const tenant = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor });
    ids.push(tenant.organisationId);
    return tenant;
  };
  const balance = async (tenant: TestTenant) =>
    ((await http().get('/v1/billing/balance').set(tenant.auth).expect(200)).body as { balances: unknown[] })
      .balances[0];
  const bidBody = (overrides: Record<string, unknown> = {}) => ({
    market: MARKET,
    gpus: 8,
    maxPricePerGpuHour: '20.00',
    durationHours: 3,
    provinces: [],
    minGpusPerSite: 1,
    partialAllowed: true,
    billingMode: 'RESERVED',
    expiresAt: hoursFromNow(48),
    ...overrides,
  });
  const placeBid = (tenant: TestTenant, overrides: Record<string, unknown> = {}) =>
    http().post('/v1/bids').set(tenant.auth).set('idempotency-key', randomUUID()).send(bidBody(overrides));
  const requestTopUp = (tenant: TestTenant, body: Record<string, unknown>) =>
    http().post('/v1/top-ups').set(tenant.auth).set('idempotency-key', randomUUID()).send(body);

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
        MATCHING_SWEEP_INTERVAL_MS: '3600000',
      }),
      { api: true, worker: true },
    );
    prisma = app.get(PrismaService);
    const email = `admin-${randomUUID()}@billing.test`;
    expect((await createAdminWithCli(email, 'billing admin passphrase')).code).toBe(0);
    admin = (await signIn(app, { email, password: 'billing admin passphrase' })).auth;
    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    ids.push(provider.organisationId);
  });

  afterEach(async () => {
    expect(await ledgerViolations(prisma, ids)).toEqual([]);
  });

  afterAll(async () => {
    // Ledger rows and top-ups stay (the ledger is append-only); events and audit rows go.
    const topUps = await prisma.topUp.findMany({
      where: { organisationId: { in: ids } },
      select: { id: true },
    });
    const payouts = await prisma.payout.findMany({
      where: { organisationId: { in: ids } },
      select: { id: true },
    });
    const topUpIds = [...topUps, ...payouts].map((t) => t.id);
    await prisma.outboxEvent.deleteMany({ where: { aggregateId: { in: topUpIds } } });
    await prisma.auditLogEntry.deleteMany({ where: { targetId: { in: topUpIds } } });
    await removeMarketplaceData(app, ids);
    await app.close();
  });

  it('refuses a bid its buyer cannot cover with 402 and the numbers, then credits a confirmed top-up once', async () => {
    const tenant = await buyer();
    expect(await balance(tenant)).toEqual({ currency: 'CNY', available: '0.00', held: '0.00' });

    const refused = await placeBid(tenant).expect(402);
    // 8 GPUs x 20.00 x 3 h.
    expect(refused.body).toMatchObject({
      code: 'INSUFFICIENT_FUNDS',
      details: { required: '480.00', available: '0.00', currency: 'CNY' },
    });
    expect(await prisma.bid.count({ where: { organisationId: tenant.organisationId } })).toBe(0);

    const pending = await requestTopUp(tenant, { amount: '1000.00' }).expect(201);
    expect(pending.body).toMatchObject({
      amount: '1000.00',
      currency: 'CNY',
      status: 'PENDING',
      instructions: { method: 'BANK_TRANSFER', amount: '1000.00', currency: 'CNY' },
    });
    const topUp = pending.body as { id: string; reference: string };
    expect(topUp.reference).toMatch(/^CX[0-9A-HJKMNP-TV-Z]{10}$/);
    expect(field(pending, 'instructions')).toMatchObject({ reference: topUp.reference });
    // Requested is not credited.
    expect(await balance(tenant)).toEqual({ currency: 'CNY', available: '0.00', held: '0.00' });

    const queue = await http()
      .get(`/admin/top-ups?status=PENDING&organisationId=${tenant.organisationId}`)
      .set(admin)
      .expect(200);
    expect(page(queue).data.map((t) => t.id)).toEqual([topUp.id]);

    const confirm = () =>
      http().post(`/admin/top-ups/${topUp.id}/confirm`).set(admin).send({ bankReference: 'BOC-20261201-1' });
    expect((await confirm().expect(200)).body).toMatchObject({
      status: 'CONFIRMED',
      bankReference: 'BOC-20261201-1',
    });
    // Confirming twice (a double click, a retry) credits once.
    expect((await confirm().expect(200)).body).toMatchObject({ status: 'CONFIRMED' });
    expect(await balance(tenant)).toEqual({ currency: 'CNY', available: '1000.00', held: '0.00' });
    await http().post(`/admin/top-ups/${topUp.id}/reject`).set(admin).send({ reason: 'late' }).expect(409);

    const events = await eventsOf(app, topUp.id);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'topup.confirmed',
        payload: expect.objectContaining({
          topUpId: topUp.id,
          amount: '1000.00',
          currency: 'CNY',
        }) as unknown,
      }),
    ]);
    const audit = await prisma.auditLogEntry.findMany({ where: { targetId: topUp.id } });
    expect(audit.map((a) => a.action)).toEqual(['topup.confirm']);

    const entries = await http().get('/v1/billing/entries').set(tenant.auth).expect(200);
    expect(page(entries).data).toEqual([
      expect.objectContaining({
        account: 'BUYER_AVAILABLE',
        amount: '1000.00',
        kind: 'TOPUP',
        topUpId: topUp.id,
      }),
    ]);
    const bid = (await placeBid(tenant).expect(201)).body as { id: string };
    expect(await balance(tenant)).toEqual({ currency: 'CNY', available: '520.00', held: '480.00' });
    // Cancelled, so it does not take the fills a later test expects.
    await http().post(`/v1/bids/${bid.id}/cancel`).set(tenant.auth).expect(200);
  });

  it('validates top-ups and keeps them to their owner and to buyers', async () => {
    const tenant = await buyer();
    const other = await buyer();
    for (const amount of ['0', '0.00', '1e5', '-5.00', '10.001', 5, '10000000.01']) {
      const res = await requestTopUp(tenant, { amount }).expect(400);
      expect(field(res, 'code')).toBe('VALIDATION_FAILED');
    }
    await requestTopUp(tenant, { amount: '10.00', currency: 'USD' }).expect(400);
    await http().post('/v1/top-ups').set(tenant.auth).send({ amount: '10.00' }).expect(400);
    await requestTopUp(provider, { amount: '10.00' }).expect(403);

    const mine = (await requestTopUp(tenant, { amount: '10.00' }).expect(201)).body as { id: string };
    const missing = await http().get(`/v1/top-ups/${randomUUID()}`).set(other.auth).expect(404);
    const foreign = await http().get(`/v1/top-ups/${mine.id}`).set(other.auth).expect(404);
    expect({ ...foreign.body, requestId: 0 }).toEqual({ ...missing.body, requestId: 0 });
    expect(page(await http().get('/v1/top-ups').set(other.auth).expect(200)).data).toEqual([]);
    expect(page(await http().get('/v1/top-ups').set(tenant.auth).expect(200)).data).toHaveLength(1);

    for (let i = 0; i < 4; i += 1) await requestTopUp(tenant, { amount: '10.00' }).expect(201);
    expect(field(await requestTopUp(tenant, { amount: '10.00' }).expect(409), 'message')).toMatch(
      /At most 5/,
    );

    const rejected = await http()
      .post(`/admin/top-ups/${mine.id}/reject`)
      .set(admin)
      .send({ reason: 'never arrived' });
    expect(rejected.body).toMatchObject({ status: 'REJECTED', rejectionReason: 'never arrived' });
    await http()
      .post(`/admin/top-ups/${mine.id}/confirm`)
      .set(admin)
      .send({ bankReference: 'x' })
      .expect(409);
    expect(await balance(tenant)).toEqual({ currency: 'CNY', available: '0.00', held: '0.00' });

    // Admin routes are for platform admins only.
    await http().get('/admin/top-ups').set(tenant.auth).expect(403);
    await http()
      .post(`/admin/top-ups/${mine.id}/confirm`)
      .set(provider.auth)
      .send({ bankReference: 'x' })
      .expect(403);
  });

  it('holds a bid at its cap, releases the unfilled part on cancel and on expiry', async () => {
    const tenant = await buyer(100_000n);
    const bid = (
      await placeBid(tenant, {
        market: 'nvidia-h20-96gb',
        gpus: 2,
        maxPricePerGpuHour: '5.00',
        durationHours: 10,
        provinces: ['650000'],
      }).expect(201)
    ).body as { id: string };
    // 2 x 5.00 x 10 h = 100.00 of 1000.00.
    expect(await balance(tenant)).toEqual({ currency: 'CNY', available: '900.00', held: '100.00' });
    await placeBid(tenant, { gpus: 10, maxPricePerGpuHour: '40.00', durationHours: 3 }).expect(402);
    await http().post(`/v1/bids/${bid.id}/cancel`).set(tenant.auth).expect(200);
    await http().post(`/v1/bids/${bid.id}/cancel`).set(tenant.auth).expect(200);
    expect(await balance(tenant)).toEqual({ currency: 'CNY', available: '1000.00', held: '0.00' });

    const expiring = (
      await placeBid(tenant, {
        market: 'nvidia-h20-96gb',
        gpus: 1,
        maxPricePerGpuHour: '3.00',
        durationHours: 2,
        provinces: ['650000'],
      }).expect(201)
    ).body as { id: string };
    expect(await balance(tenant)).toEqual({ currency: 'CNY', available: '994.00', held: '6.00' });
    await prisma.bid.update({ where: { id: expiring.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await app.get(OrderExpiryService).sweep();
    expect(field(await http().get(`/v1/bids/${expiring.id}`).set(tenant.auth).expect(200), 'status')).toBe(
      'EXPIRED',
    );
    expect(await balance(tenant)).toEqual({ currency: 'CNY', available: '1000.00', held: '0.00' });
    const kinds = (await http().get('/v1/billing/entries?limit=2').set(tenant.auth).expect(200)).body as {
      data: Array<{ kind: string; account: string; amount: string; memo: string }>;
      nextCursor: string;
    };
    expect(kinds.data.map((e) => [e.kind, e.memo])).toEqual([
      ['BID_RELEASE', 'bid expired'],
      ['BID_RELEASE', 'bid expired'],
    ]);
    const next = await http()
      .get(`/v1/billing/entries?limit=100&cursor=${kinds.nextCursor}`)
      .set(tenant.auth)
      .expect(200);
    // The funding credit, two holds and two releases of two entries each, less the first page.
    expect(page(next).data).toHaveLength(1 + 8 - 2);
  });

  it('re-prices the hold at the trade price when the bid fills, releasing the difference', async () => {
    const tenant = await buyer(100_000n);
    const site = await createSite(app, provider, { provinceCode: '520000', cityCode: '520100' });
    await placeOffer(app, provider, site.id, {
      market: MARKET,
      gpus: 4,
      pricePerGpuHour: '18.00',
      minLeaseHours: 1,
    });
    const bid = (
      await placeBid(tenant, { gpus: 6, maxPricePerGpuHour: '20.00', durationHours: 3 }).expect(201)
    ).body as { id: string };
    await waitFor('the bid to fill', async () => {
      const res = await http().get(`/v1/bids/${bid.id}`).set(tenant.auth).expect(200);
      return field(res, 'filledGpus') === 4 ? true : undefined;
    });
    // Hold 6 x 20.00 x 3 = 360.00; the lease holds 4 x 18.00 x 3 = 216.00; 4 x 2.00 x 3 = 24.00 back;
    // the 2 unfilled GPUs keep 120.00 held.
    await waitFor('the conversion', async () =>
      ((await balance(tenant)) as { held: string }).held === '336.00' ? true : undefined,
    );
    expect(await balance(tenant)).toEqual({ currency: 'CNY', available: '664.00', held: '336.00' });
    const lease = await prisma.lease.findFirstOrThrow({ where: { bidId: bid.id } });
    const conversion = await prisma.ledgerTransfer.findUniqueOrThrow({
      where: { key: `lease-hold:${lease.id}` },
    });
    expect(conversion).toMatchObject({ kind: 'LEASE_HOLD', bidId: bid.id, leaseId: lease.id });
  });

  it('keeps amounts beyond 2^53 exact and refuses what a bigint cannot hold', async () => {
    const tenant = await buyer();
    const big = 2n ** 53n + 1n;
    await fundBuyer((sql, ...params) => prisma.$executeRawUnsafe(sql, ...params), tenant.organisationId, big);
    expect(await balance(tenant)).toEqual({ currency: 'CNY', available: '90071992547409.93', held: '0.00' });
    await expect(
      fundBuyer(
        (sql, ...params) => prisma.$executeRawUnsafe(sql, ...params),
        tenant.organisationId,
        2n ** 63n - 1n,
      ),
    ).rejects.toThrow(/out of range/);
    expect(await balance(tenant)).toEqual({ currency: 'CNY', available: '90071992547409.93', held: '0.00' });
  });

  it('keeps a balance beyond 2^53 exact through a payout and its return, and refuses larger amounts whole', async () => {
    const tenant = await buyer();
    await fundBuyer(
      (sql, ...params) => prisma.$executeRawUnsafe(sql, ...params),
      tenant.organisationId,
      2n ** 53n + 1n,
    );
    const owner = (await signIn(app, tenant)).auth;
    await http()
      .put('/v1/bank-account')
      .set(owner)
      .send({
        beneficiary: 'Big Buyer Ltd',
        bankName: 'Bank of Guiyang',
        accountNumber: '6222 0210 0101 9999',
      })
      .expect(200);
    const payout = (body: Record<string, unknown> | string) =>
      http()
        .post('/v1/payouts')
        .set(owner)
        .set('idempotency-key', randomUUID())
        .set('content-type', 'application/json')
        .send(body);
    // 2^53 + 1 fen as a string is above the largest payout and top-up: 400, nothing moves; as a
    // JSON number (already rounded by any double-based parser) it is refused too.
    expect(field(await payout({ amount: '90071992547409.93' }).expect(400), 'code')).toBe(
      'VALIDATION_FAILED',
    );
    await payout('{"amount":90071992547409.93}').expect(400);
    await requestTopUp(tenant, { amount: '90071992547409.93' }).expect(400);
    await http()
      .post('/v1/top-ups')
      .set(tenant.auth)
      .set('idempotency-key', randomUUID())
      .set('content-type', 'application/json')
      .send('{"amount":90071992547409.93}')
      .expect(400);
    expect(await balance(tenant)).toEqual({ currency: 'CNY', available: '90071992547409.93', held: '0.00' });

    // 10^15 - 1 fen out: 2^53 + 1 - (10^15 - 1) = 8,007,199,254,740,994 fen left, to the fen.
    const paid = await payout({ amount: '9999999999999.99' }).expect(201);
    expect(await balance(tenant)).toEqual({ currency: 'CNY', available: '80071992547409.94', held: '0.00' });
    const entries = page(await http().get('/v1/billing/entries').set(tenant.auth).expect(200)).data;
    expect(entries[0]).toMatchObject({
      account: 'BUYER_AVAILABLE',
      amount: '-9999999999999.99',
      kind: 'PAYOUT',
    });
    const id = (paid.body as { id: string }).id;
    await http()
      .post(`/admin/payouts/${id}/reject`)
      .set(admin)
      .send({ reason: 'test of exact amounts' })
      .expect(200);
    expect(await balance(tenant)).toEqual({ currency: 'CNY', available: '90071992547409.93', held: '0.00' });
  });

  it('keeps at most 5 top-ups and 5 payouts pending when 16 of each arrive at once', async () => {
    const tenant = await buyer(1_000_000n);
    const owner = (await signIn(app, tenant)).auth;
    await http()
      .put('/v1/bank-account')
      .set(owner)
      .send({
        beneficiary: 'Parallel Buyer Ltd',
        bankName: 'Bank of Guiyang',
        accountNumber: '6222021001017777',
      })
      .expect(200);
    const burst = (send: () => request.Test) => Promise.all(Array.from({ length: 16 }, send));
    const statuses = (answers: request.Response[]) => answers.map((res) => res.status).sort();
    const expected = [...Array<number>(5).fill(201), ...Array<number>(11).fill(409)];

    const topUps = await burst(() => requestTopUp(tenant, { amount: '10.00' }));
    expect(statuses(topUps)).toEqual(expected);
    for (const refused of topUps.filter((res) => res.status === 409)) {
      expect(field(refused, 'code')).toBe('CONFLICT');
      expect(field(refused, 'message')).toMatch(/At most 5 top-ups/);
    }
    expect(
      await prisma.topUp.count({ where: { organisationId: tenant.organisationId, status: 'PENDING' } }),
    ).toBe(5);

    const payouts = await burst(() =>
      http().post('/v1/payouts').set(owner).set('idempotency-key', randomUUID()).send({ amount: '1.00' }),
    );
    expect(statuses(payouts)).toEqual(expected);
    for (const refused of payouts.filter((res) => res.status === 409)) {
      expect(field(refused, 'code')).toBe('CONFLICT');
      expect(field(refused, 'message')).toMatch(/At most 5 payouts/);
    }
    expect(
      await prisma.payout.count({ where: { organisationId: tenant.organisationId, status: 'PENDING' } }),
    ).toBe(5);
    expect(await balance(tenant)).toEqual({ currency: 'CNY', available: '9995.00', held: '0.00' });
  });

  it('is append-only: entries and transfers cannot be changed or deleted', async () => {
    await expect(prisma.$executeRaw`UPDATE ledger_entries SET amount = amount + 1`).rejects.toThrow(
      /append-only/,
    );
    await expect(prisma.$executeRaw`DELETE FROM ledger_transfers`).rejects.toThrow(/append-only/);
    await expect(prisma.$executeRaw`UPDATE ledger_accounts SET balance = balance + 1`).rejects.toThrow(
      /only through ledger entries/,
    );
  });
});
