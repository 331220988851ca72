import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { createAdminWithCli } from '../support/admin-cli';
import { startHttpApp } from '../support/http-app';
import { ledgerViolations } from '../support/ledger-invariants';
import { registerOrganisation, signIn, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { handOverAccess, quiet } from './lease-fixtures';
import {
  createSite,
  createTestMarket,
  hoursFromNow,
  placeBid,
  placeOffer,
  removeMarketplaceData,
  removeTestMarket,
} from './marketplace-fixtures';

type Auth = { authorization: string };

const CREDIT = 10_000_000n; // 100,000.00 CNY in fen

/**
 * Admin suspension and reinstatement over HTTP (docs/ADMIN.md), with the API and workers
 * in one process so that orders really fill; a second API process that keeps verified keys for
 * a minute shows that a suspension made elsewhere refuses a cached key's writes at once. A
 * market of its own keeps other suites' orders out of these books.
 */
describe('organisation suspension', () => {
  let app: NestFastifyApplication;
  let other: NestFastifyApplication;
  let prisma: PrismaService;
  let admin: Auth;
  let adminUserId: string;
  let marketId: string;
  let MARKET: string;
  const adminEmail = `admin-${randomUUID()}@platform.test`;
  const adminPassword = 'suspension admin passphrase';
  const ids: string[] = [];
  const http = () => request(app.getHttpServer());

  const tenant = async (role: 'PROVIDER' | 'BUYER', verified = true): Promise<TestTenant> => {
    const created = await registerOrganisation(app, role, { verified, creditMinor: CREDIT });
    ids.push(created.organisationId);
    return created;
  };
  const balance = async (buyer: TestTenant) =>
    (await http().get('/v1/billing/balance').set(buyer.auth).expect(200)).body as {
      balances: Array<{ currency: string; available: string; held: string }>;
    };
  const audit = (targetId: string) =>
    prisma.auditLogEntry.findMany({ where: { targetId }, orderBy: { createdAt: 'asc' } });
  const eventsOfType = (type: string, aggregateIds: string[]) =>
    prisma.outboxEvent.findMany({
      where: { type, aggregateId: { in: aggregateIds } },
      orderBy: { seq: 'asc' },
    });
  const suspend = (organisationId: string, auth: Auth = admin) =>
    request(app.getHttpServer())
      .post(`/admin/organisations/${organisationId}/suspend`)
      .set(auth)
      .send({ reason: 'chargeback fraud under investigation' });

  beforeAll(async () => {
    const config = testConfig({
      RATE_LIMIT_PER_MINUTE: '100000',
      RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
      // Long enough that only the write's own check can refuse a key cached before a suspension.
      API_KEY_CACHE_TTL_MS: '60000',
    });
    app = await startHttpApp(config, { api: true, worker: true });
    // Another API process on the same database and Redis: told nothing by `app`.
    other = await startHttpApp(config);
    prisma = app.get(PrismaService);
    ({ id: marketId, slug: MARKET } = await createTestMarket(app));
    const created = await createAdminWithCli(adminEmail, adminPassword);
    if (created.code !== 0) throw new Error(`admin CLI failed: ${created.stderr}`);
    admin = (await signIn(app, { email: adminEmail, password: adminPassword })).auth;
    adminUserId = (await prisma.user.findUniqueOrThrow({ where: { email: adminEmail } })).id;
  });

  afterAll(async () => {
    await quiet(app);
    await removeMarketplaceData(app, ids);
    await prisma.auditLogEntry.deleteMany({ where: { targetId: { in: ids } } });
    await removeTestMarket(app, marketId);
    await prisma.user.deleteMany({ where: { email: adminEmail } });
    await other.close();
    await app.close();
  });

  it('cancels a buyer’s live bids and releases exactly their holds; its lease runs on', async () => {
    const provider = await tenant('PROVIDER');
    const buyer = await tenant('BUYER');
    const site = await createSite(app, provider);
    // 3 GPUs at 10.00; a bid for 5 at up to 12.00 for 2 h fills 3 at the offer's price.
    await placeOffer(app, provider, site.id, {
      market: MARKET,
      gpus: 3,
      pricePerGpuHour: '10.00',
      minLeaseHours: 1,
    });
    const partial = await placeBid(app, buyer, {
      market: MARKET,
      gpus: 5,
      maxPricePerGpuHour: '12.00',
      durationHours: 2,
      provinces: [],
      minGpusPerSite: 1,
      billingMode: 'RESERVED',
    });
    const lease = await waitFor('the lease', () =>
      prisma.lease.findFirst({ where: { bidId: partial.id } }).then((row) => row ?? undefined),
    );
    // Rests: nothing is offered at 5.00.
    const resting = await placeBid(app, buyer, {
      market: MARKET,
      gpus: 4,
      maxPricePerGpuHour: '5.00',
      durationHours: 10,
      provinces: [],
      minGpusPerSite: 1,
    });
    await quiet(app);
    // Held: the lease 3 x 10.00 x 2 = 60.00, the partial bid's rest 2 x 12.00 x 2 = 48.00,
    // the resting bid 4 x 5.00 x 10 = 200.00.
    expect((await balance(buyer)).balances).toEqual([
      { currency: 'CNY', available: '99692.00', held: '308.00' },
    ]);

    const res = await suspend(buyer.organisationId).expect(200);
    expect(res.body).toMatchObject({
      organisation: { id: buyer.organisationId, status: 'SUSPENDED' },
      cancelledBids: 2,
      cancelledOffers: 0,
    });
    const suspendedOrg = (res.body as { organisation: { verifiedAt: unknown; suspendedAt: unknown } })
      .organisation;
    expect([typeof suspendedOrg.verifiedAt, typeof suspendedOrg.suspendedAt]).toEqual(['string', 'string']);
    // Only the lease's hold is left.
    expect((await balance(buyer)).balances).toEqual([
      { currency: 'CNY', available: '99940.00', held: '60.00' },
    ]);
    expect(await ledgerViolations(prisma, [buyer.organisationId, provider.organisationId])).toEqual([]);
    for (const bid of [partial, resting]) {
      const read = await http().get(`/v1/bids/${bid.id}`).set(buyer.auth).expect(200);
      expect(read.body).toMatchObject({ status: 'CANCELLED' });
    }
    const cancelled = await eventsOfType('bid.cancelled', [partial.id, resting.id]);
    expect(cancelled.map((e) => e.payload)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ bidId: partial.id, cancelledGpus: 2, reason: 'ORGANISATION_SUSPENDED' }),
        expect.objectContaining({ bidId: resting.id, cancelledGpus: 4, reason: 'ORGANISATION_SUSPENDED' }),
      ]),
    );
    expect(cancelled).toHaveLength(2);
    expect(await eventsOfType('organisation.suspended', [buyer.organisationId])).toMatchObject([
      {
        payload: {
          organisationId: buyer.organisationId,
          role: 'BUYER',
          cancelledBids: 2,
          cancelledOffers: 0,
        },
      },
    ]);
    expect(await audit(buyer.organisationId)).toMatchObject([
      {
        actorUserId: adminUserId,
        action: 'organisation.suspend',
        targetType: 'organisation',
        details: {
          reason: 'chargeback fraud under investigation',
          previousStatus: 'VERIFIED',
          cancelledBids: 2,
          cancelledOffers: 0,
        },
      },
    ]);

    // The lease is binding: the provider hands over access and it runs.
    await handOverAccess(app, provider, lease.id).expect(200);
    const running = await http().get(`/v1/leases/${lease.id}`).set(buyer.auth).expect(200);
    expect(running.body).toMatchObject({ status: 'ACTIVE' });

    // Idempotent by state: a second suspension answers the same and records nothing.
    const again = await suspend(buyer.organisationId).expect(200);
    expect(again.body).toMatchObject({
      organisation: { status: 'SUSPENDED' },
      cancelledBids: 0,
      cancelledOffers: 0,
    });
    expect(await audit(buyer.organisationId)).toHaveLength(1);
    expect(await eventsOfType('organisation.suspended', [buyer.organisationId])).toHaveLength(1);
  });

  it('makes the organisation read-only: writes 403 ORGANISATION_SUSPENDED, reads and sign-in work', async () => {
    const buyer = await tenant('BUYER');
    await suspend(buyer.organisationId).expect(200);
    const owner = await signIn(app, buyer);
    for (const auth of [buyer.auth, owner.auth]) {
      await http().get('/v1/organisation').set(auth).expect(200);
      await http().get('/v1/bids').set(auth).expect(200);
      const bid = await http()
        .post('/v1/bids')
        .set(auth)
        .set('idempotency-key', randomUUID())
        .send({
          market: MARKET,
          gpus: 1,
          maxPricePerGpuHour: '1.00',
          durationHours: 1,
          billingMode: 'RESERVED',
          partialAllowed: true,
          expiresAt: hoursFromNow(2),
        })
        .expect(403);
      expect(bid.body).toMatchObject({ code: 'FORBIDDEN', details: { reason: 'ORGANISATION_SUSPENDED' } });
      const topUp = await http()
        .post('/v1/top-ups')
        .set(auth)
        .set('idempotency-key', randomUUID())
        .send({ amount: '100.00' })
        .expect(403);
      expect(topUp.body).toMatchObject({ details: { reason: 'ORGANISATION_SUSPENDED' } });
    }
    const invite = await http()
      .post('/v1/invitations')
      .set(owner.auth)
      .set('idempotency-key', randomUUID())
      .send({ email: `m-${randomUUID()}@buyer.test` })
      .expect(403);
    expect(invite.body).toMatchObject({ details: { reason: 'ORGANISATION_SUSPENDED' } });
    // Taking access away stays possible.
    const keys = await http().get('/v1/api-keys').set(owner.auth).expect(200);
    const keyId = (keys.body as { data: Array<{ id: string }> }).data[0]!.id;
    await http().post(`/v1/api-keys/${keyId}/revoke`).set(owner.auth).expect(200);
    await http().get('/v1/organisation').set(buyer.auth).expect(401);
  });

  it('withdraws a provider’s offers, leaving leased GPUs leased; access may still be handed over', async () => {
    const provider = await tenant('PROVIDER');
    const buyer = await tenant('BUYER');
    const site = await createSite(app, provider);
    const offer = await placeOffer(app, provider, site.id, {
      market: MARKET,
      gpus: 4,
      pricePerGpuHour: '11.00',
      minLeaseHours: 1,
    });
    const bid = await placeBid(app, buyer, {
      market: MARKET,
      gpus: 1,
      maxPricePerGpuHour: '11.00',
      durationHours: 1,
      provinces: [],
      minGpusPerSite: 1,
      billingMode: 'RESERVED',
    });
    const lease = await waitFor('the lease', () =>
      prisma.lease.findFirst({ where: { bidId: bid.id } }).then((row) => row ?? undefined),
    );
    await quiet(app);

    const res = await suspend(provider.organisationId).expect(200);
    expect(res.body).toMatchObject({ cancelledBids: 0, cancelledOffers: 1 });
    const read = await http().get(`/v1/offers/${offer.id}`).set(provider.auth).expect(200);
    expect(read.body).toMatchObject({ status: 'CANCELLED', gpus: 4, leasedGpus: 1 });
    expect((await eventsOfType('offer.cancelled', [offer.id])).map((e) => e.payload)).toEqual([
      expect.objectContaining({ leasedGpus: 1, withdrawnGpus: 3, reason: 'ORGANISATION_SUSPENDED' }),
    ]);
    const site2 = await http()
      .post('/v1/sites')
      .set(provider.auth)
      .set('idempotency-key', randomUUID())
      .send({ name: 'hall x', provinceCode: '520000', cityCode: '520100', uptimeTier: 'TIER_III' })
      .expect(403);
    expect(site2.body).toMatchObject({ details: { reason: 'ORGANISATION_SUSPENDED' } });
    await handOverAccess(app, provider, lease.id).expect(200);
    expect(await ledgerViolations(prisma, [buyer.organisationId, provider.organisationId])).toEqual([]);
  });

  it('refuses a bid placed with a key another API process cached before the suspension', async () => {
    const buyer = await tenant('BUYER');
    const provider = await tenant('PROVIDER');
    const site = await createSite(other, provider);
    const before = await placeBid(other, buyer, {
      market: MARKET,
      gpus: 1,
      maxPricePerGpuHour: '1.00',
      provinces: [],
      minGpusPerSite: 1,
    });
    // Both keys are now cached as VERIFIED by `other`, which is not told of the suspension below.
    await suspend(buyer.organisationId).expect(200);
    await suspend(provider.organisationId).expect(200);
    await request(other.getHttpServer()).get('/v1/organisation').set(buyer.auth).expect(200);
    const refused = await request(other.getHttpServer())
      .post('/v1/bids')
      .set(buyer.auth)
      .set('idempotency-key', randomUUID())
      .send({
        market: MARKET,
        gpus: 1,
        maxPricePerGpuHour: '1.00',
        durationHours: 24,
        provinces: [],
        minGpusPerSite: 1,
        partialAllowed: true,
        billingMode: 'PAY_PER_USE',
        expiresAt: hoursFromNow(48),
      })
      .expect(403);
    expect(refused.body).toMatchObject({ code: 'FORBIDDEN', details: { reason: 'ORGANISATION_SUSPENDED' } });
    const offer = await request(other.getHttpServer())
      .post('/v1/offers')
      .set(provider.auth)
      .set('idempotency-key', randomUUID())
      .send({
        market: MARKET,
        siteId: site.id,
        gpus: 1,
        pricePerGpuHour: '1.00',
        availableFrom: hoursFromNow(-1),
        availableUntil: hoursFromNow(24),
      })
      .expect(403);
    expect(offer.body).toMatchObject({ details: { reason: 'ORGANISATION_SUSPENDED' } });
    const siteRefused = await request(other.getHttpServer())
      .post('/v1/sites')
      .set(provider.auth)
      .set('idempotency-key', randomUUID())
      .send({ name: 'hall y', provinceCode: '520000', cityCode: '520100', uptimeTier: 'TIER_III' })
      .expect(403);
    expect(siteRefused.body).toMatchObject({ details: { reason: 'ORGANISATION_SUSPENDED' } });
    expect(await prisma.bid.count({ where: { organisationId: buyer.organisationId } })).toBe(1);
    expect(await prisma.bid.findUniqueOrThrow({ where: { id: before.id } })).toMatchObject({
      status: 'CANCELLED',
    });
    expect(await ledgerViolations(prisma, [buyer.organisationId])).toEqual([]);
  });

  it('leaves no live bid behind when placements race the suspension', async () => {
    const buyer = await tenant('BUYER');
    const place = (server: NestFastifyApplication) =>
      request(server.getHttpServer())
        .post('/v1/bids')
        .set(buyer.auth)
        .set('idempotency-key', randomUUID())
        .send({
          market: MARKET,
          gpus: 1,
          maxPricePerGpuHour: '1.00',
          durationHours: 1,
          provinces: [],
          minGpusPerSite: 1,
          partialAllowed: true,
          billingMode: 'RESERVED',
          expiresAt: hoursFromNow(2),
        });
    // Cache the key on both processes first, so only the placements' own check can refuse them.
    await place(app).expect(201);
    await place(other).expect(201);
    const results = await Promise.all([
      ...Array.from({ length: 12 }, (_, i) => place(i % 2 === 0 ? app : other)),
      suspend(buyer.organisationId),
      ...Array.from({ length: 12 }, (_, i) => place(i % 2 === 0 ? other : app)),
    ]);
    const statuses = results.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 201 || s === 403)).toBe(true);
    const placed = statuses.filter((s) => s === 201).length;
    expect(await prisma.bid.count({ where: { organisationId: buyer.organisationId } })).toBe(placed + 2);
    expect(
      await prisma.bid.count({
        where: { organisationId: buyer.organisationId, status: { in: ['OPEN', 'PARTIALLY_FILLED'] } },
      }),
    ).toBe(0);
    const suspension = results[12]!.body as { cancelledBids: number };
    expect(suspension.cancelledBids).toBe(placed + 2);
    expect(await ledgerViolations(prisma, [buyer.organisationId])).toEqual([]);
    expect((await balance(buyer)).balances).toEqual([
      { currency: 'CNY', available: '100000.00', held: '0.00' },
    ]);
  });

  it('reinstates to the status before: VERIFIED, or PENDING_VERIFICATION if never verified', async () => {
    const buyer = await tenant('BUYER');
    const pending = await tenant('PROVIDER', false);
    await suspend(buyer.organisationId).expect(200);
    await suspend(pending.organisationId).expect(200);

    const reinstated = await http()
      .post(`/admin/organisations/${buyer.organisationId}/reinstate`)
      .set(admin)
      .send({ reason: 'cleared' })
      .expect(200);
    expect(reinstated.body).toMatchObject({ status: 'VERIFIED', suspendedAt: null });
    const back = await http()
      .post(`/admin/organisations/${pending.organisationId}/reinstate`)
      .set(admin)
      .expect(200);
    expect(back.body).toMatchObject({ status: 'PENDING_VERIFICATION', verifiedAt: null });
    expect((await audit(buyer.organisationId)).map((a) => [a.action, a.actorUserId, a.details])).toEqual([
      ['organisation.suspend', adminUserId, expect.objectContaining({ previousStatus: 'VERIFIED' })],
      [
        'organisation.reinstate',
        adminUserId,
        expect.objectContaining({ status: 'VERIFIED', reason: 'cleared' }),
      ],
    ]);
    expect(await eventsOfType('organisation.reinstated', [buyer.organisationId])).toMatchObject([
      { payload: { organisationId: buyer.organisationId, role: 'BUYER', status: 'VERIFIED' } },
    ]);
    // Writable again at once, on this process and (its own check) on the other one.
    await placeBid(app, buyer, {
      market: MARKET,
      gpus: 1,
      maxPricePerGpuHour: '1.00',
      provinces: [],
      minGpusPerSite: 1,
    });
    await placeBid(other, buyer, {
      market: MARKET,
      gpus: 1,
      maxPricePerGpuHour: '1.00',
      provinces: [],
      minGpusPerSite: 1,
    });
    // Not suspended: answered unchanged, nothing recorded.
    await http().post(`/admin/organisations/${buyer.organisationId}/reinstate`).set(admin).expect(200);
    expect(await audit(buyer.organisationId)).toHaveLength(2);
    // A pending organisation reinstated can be verified as before.
    await http().post(`/admin/organisations/${pending.organisationId}/verify`).set(admin).expect(200);
  });

  it('is for platform admins only, validates the reason and answers 404 for unknown ids', async () => {
    const buyer = await tenant('BUYER');
    const provider = await tenant('PROVIDER');
    for (const who of [buyer, provider]) {
      const session = await signIn(app, who);
      for (const auth of [who.auth, session.auth]) {
        for (const action of ['suspend', 'reinstate']) {
          const res = await http()
            .post(`/admin/organisations/${buyer.organisationId}/${action}`)
            .set(auth)
            .send({ reason: 'x' })
            .expect(403);
          expect(res.body).toMatchObject({ code: 'FORBIDDEN' });
        }
      }
    }
    await http()
      .post(`/admin/organisations/${buyer.organisationId}/suspend`)
      .send({ reason: 'x' })
      .expect(401);
    for (const body of [{}, { reason: '   ' }, { reason: 'x'.repeat(1001) }]) {
      const res = await http()
        .post(`/admin/organisations/${buyer.organisationId}/suspend`)
        .set(admin)
        .send(body)
        .expect(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    await suspend(randomUUID()).expect(404);
    await http().post(`/admin/organisations/${randomUUID()}/reinstate`).set(admin).expect(404);
    expect(await audit(buyer.organisationId)).toHaveLength(0);
    const read = await http().get('/v1/organisation').set(buyer.auth).expect(200);
    expect(read.body).toMatchObject({ status: 'VERIFIED' });
  });
});
