import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { createAdminWithCli } from '../support/admin-cli';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, signIn, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { quiet } from '../support/leases';
import { createSite, placeBid, placeOffer, removeMarketplaceData } from './marketplace-fixtures';

type Auth = { authorization: string };

/**
 * Admin market controls over HTTP with the API and workers in one process, as `npm start` runs
 * them: pause, resume (whose event alone must run matching: no sweep runs) and the fee. A
 * market of its own (inserted here) keeps the catalogue's markets untouched (budget: ~15 s).
 */
describe('admin market controls', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let admin: Auth;
  let provider: TestTenant;
  let buyer: TestTenant;
  let site: { id: string };
  const marketId = randomUUID();
  const MARKET = `test-${marketId.slice(0, 8)}`;
  const adminEmail = `admin-${randomUUID()}@platform.test`;
  const adminPassword = 'market admin passphrase';
  const ids: string[] = [];
  const http = () => request(app.getHttpServer());

  /** Every event relayed and delivered, and no matching job waiting or running: the exchange is quiet. */
  const settled = () => quiet(app, ['events', 'matching']);
  const bidStatus = async (id: string) =>
    ((await http().get(`/v1/bids/${id}`).set(buyer.auth).expect(200)).body as { status: string }).status;
  const marketEvents = () =>
    prisma.outboxEvent.findMany({ where: { aggregateId: marketId }, orderBy: { seq: 'asc' } });
  const marketAudit = () =>
    prisma.auditLogEntry.findMany({ where: { targetId: marketId }, orderBy: { createdAt: 'asc' } });

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
        // No backstop: a resumed market must be run by its event alone.
        MATCHING_SWEEP_INTERVAL_MS: '3600000',
      }),
      { api: true, worker: true },
    );
    prisma = app.get(PrismaService);
    // Its market_matching row comes with it (insert trigger), as for the catalogue's markets.
    await prisma.market.create({
      data: {
        id: marketId,
        slug: MARKET,
        vendor: 'Test',
        model: 'T1',
        memoryGb: 80,
        currency: 'CNY',
        currencyScale: 2,
        feeBps: 250,
        matchingMode: 'CONTINUOUS',
      },
    });
    const created = await createAdminWithCli(adminEmail, adminPassword);
    if (created.code !== 0) throw new Error(`admin CLI failed: ${created.stderr}`);
    admin = (await signIn(app, { email: adminEmail, password: adminPassword })).auth;
    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    buyer = await registerOrganisation(app, 'BUYER', { verified: true });
    ids.push(provider.organisationId, buyer.organisationId);
    site = await createSite(app, provider);
  });

  // A failed case must not leave the next one a paused market.
  afterEach(async () => {
    await prisma.market.update({ where: { id: marketId }, data: { status: 'ACTIVE' } });
  });

  afterAll(async () => {
    await settled();
    await removeMarketplaceData(app, ids);
    await prisma.outboxEvent.deleteMany({ where: { aggregateId: marketId } });
    await prisma.auditLogEntry.deleteMany({ where: { targetId: marketId } });
    await prisma.marketMatching.deleteMany({ where: { marketId } });
    await prisma.market.delete({ where: { id: marketId } });
    await prisma.user.deleteMany({ where: { email: adminEmail } });
    await app.close();
  });

  it('pauses: audited, market.paused, new orders refused, nothing fills; resume alone fills the crossed pair', async () => {
    const bid = await placeBid(app, buyer, {
      market: MARKET,
      gpus: 2,
      maxPricePerGpuHour: '20.00',
      provinces: [],
      minGpusPerSite: 1,
    });
    const offer = await placeOffer(app, provider, site.id, {
      market: MARKET,
      gpus: 2,
      pricePerGpuHour: '25.00',
      minLeaseHours: 1,
    });
    await settled();
    expect(await bidStatus(bid.id)).toBe('OPEN');

    const paused = await http().post(`/admin/markets/${MARKET}/pause`).set(admin).expect(200);
    expect(paused.body).toMatchObject({ slug: MARKET, status: 'PAUSED', feeBps: 250 });
    const adminUser = await prisma.user.findUniqueOrThrow({ where: { email: adminEmail } });
    expect(await marketAudit()).toMatchObject([
      {
        actorUserId: adminUser.id,
        action: 'market.pause',
        targetType: 'market',
        details: { market: MARKET, before: { status: 'ACTIVE' }, after: { status: 'PAUSED' } },
      },
    ]);
    const [pausedEvent, ...others] = await marketEvents();
    expect(others).toHaveLength(0);
    expect(pausedEvent).toMatchObject({
      type: 'market.paused',
      aggregateType: 'market',
      payload: { market: MARKET, status: 'PAUSED' },
    });
    expect((pausedEvent?.payload as { at: string }).at).toBe(
      (paused.body as { updatedAt: string }).updatedAt,
    );
    // Idempotent by state: a second pause answers the same and records nothing.
    const again = await http().post(`/admin/markets/${MARKET}/pause`).set(admin).expect(200);
    expect(again.body).toMatchObject({ status: 'PAUSED' });
    expect(await marketAudit()).toHaveLength(1);
    expect(await marketEvents()).toHaveLength(1);

    // New orders are refused; resting ones may still be amended, and cross without filling.
    const refused = await http()
      .post('/v1/bids')
      .set(buyer.auth)
      .set('idempotency-key', randomUUID())
      .send({
        market: MARKET,
        gpus: 1,
        maxPricePerGpuHour: '30.00',
        durationHours: 24,
        provinces: [],
        minGpusPerSite: 1,
        partialAllowed: true,
        billingMode: 'PAY_PER_USE',
        expiresAt: new Date(Date.now() + 48 * 3_600_000).toISOString(),
      })
      .expect(409);
    expect(refused.body).toMatchObject({ code: 'CONFLICT', details: { reason: 'MARKET_PAUSED' } });
    await http()
      .patch(`/v1/offers/${offer.id}`)
      .set(provider.auth)
      .send({ pricePerGpuHour: '18.00' })
      .expect(200);
    // The amendment's run has come and gone: paused, it filled nothing.
    await settled();
    expect(await bidStatus(bid.id)).toBe('OPEN');
    expect(await prisma.lease.count({ where: { marketId } })).toBe(0);

    const resumed = await http().post(`/admin/markets/${MARKET}/resume`).set(admin).expect(200);
    expect(resumed.body).toMatchObject({ slug: MARKET, status: 'ACTIVE' });
    await waitFor('the resumed market to fill the bid', async () =>
      (await bidStatus(bid.id)) === 'FILLED' ? true : undefined,
    );
    const [lease, ...more] = await prisma.lease.findMany({ where: { marketId } });
    expect(more).toHaveLength(0);
    // The bid rested first, so the trade is at its maximum (docs/MATCHING.md).
    expect(lease).toMatchObject({ bidId: bid.id, offerId: offer.id, gpus: 2, pricePerGpuHour: 2000n });
    const events = await marketEvents();
    expect(events.map((e) => e.type)).toEqual(['market.paused', 'market.resumed']);
    const resumedEvent = events[1]!;
    expect(resumedEvent.payload).toMatchObject({ market: MARKET, status: 'ACTIVE' });
    // Nothing but the resume asked for the run: every later event is the run's own.
    const later = await prisma.outboxEvent.findMany({ where: { seq: { gt: resumedEvent.seq } } });
    expect(new Set(later.map((e) => e.type))).toEqual(new Set(['lease.created', 'order.filled']));
    // The relay's matching trigger added the market's run for it (kept a while once completed).
    const runs = await app.get(JobProducer).queue('matching').getJobs(['completed', 'active', 'waiting']);
    expect(runs.map((job) => job.data as unknown)).toContainEqual({ marketId, reason: 'market.resumed' });
    expect((await marketAudit()).map((entry) => entry.action)).toEqual(['market.pause', 'market.resume']);

    await http().post(`/admin/markets/${MARKET}/resume`).set(admin).expect(200);
    expect(await marketAudit()).toHaveLength(2);
    expect(await marketEvents()).toHaveLength(2);
    await settled();
  });

  it('changes the fee for leases matched afterwards only, audited with before and after', async () => {
    await placeOffer(app, provider, site.id, {
      market: MARKET,
      gpus: 8,
      pricePerGpuHour: '10.00',
      minLeaseHours: 1,
    });
    const bidTerms = {
      market: MARKET,
      gpus: 2,
      maxPricePerGpuHour: '12.00',
      provinces: [],
      minGpusPerSite: 1,
    };
    const before = await placeBid(app, buyer, bidTerms);
    await waitFor('the first bid to fill', async () =>
      (await bidStatus(before.id)) === 'FILLED' ? true : undefined,
    );

    const changed = await http()
      .patch(`/admin/markets/${MARKET}`)
      .set(admin)
      .send({ feeBps: 400 })
      .expect(200);
    expect(changed.body).toMatchObject({ slug: MARKET, feeBps: 400, status: 'ACTIVE' });
    const after = await placeBid(app, buyer, bidTerms);
    await waitFor('the second bid to fill', async () =>
      (await bidStatus(after.id)) === 'FILLED' ? true : undefined,
    );
    const feeOf = async (bidId: string) => (await prisma.lease.findFirstOrThrow({ where: { bidId } })).feeBps;
    expect(await feeOf(before.id)).toBe(250);
    expect(await feeOf(after.id)).toBe(400);

    const audit = (await marketAudit()).filter((entry) => entry.action === 'market.set_fee');
    expect(audit).toMatchObject([
      { details: { market: MARKET, before: { feeBps: 250 }, after: { feeBps: 400 } } },
    ]);
    const feeEvents = (await marketEvents()).filter((e) => e.type === 'market.fee_changed');
    expect(feeEvents).toMatchObject([{ payload: { market: MARKET, feeBps: 400, previousFeeBps: 250 } }]);
    // Restating the fee changes nothing.
    await http().patch(`/admin/markets/${MARKET}`).set(admin).send({ feeBps: 400 }).expect(200);
    expect((await marketAudit()).filter((entry) => entry.action === 'market.set_fee')).toHaveLength(1);

    const list = await http().get('/admin/markets').set(admin).expect(200);
    const mine = (list.body as { data: Array<Record<string, unknown>> }).data.find((m) => m.slug === MARKET);
    expect(mine).toMatchObject({ status: 'ACTIVE', feeBps: 400, matching: { staleCommits: '0' } });
    const matching = (mine as { matching: { epoch: string; commits: string; lastCommitAt: string } })
      .matching;
    // Every commit of the suite's runs so far, each stamped on its leases with the epoch of the
    // read it committed; every read moves the epoch on, so it is at least the newest of those.
    const epochs = await prisma.lease.findMany({ where: { marketId }, distinct: ['matchEpoch'] });
    expect(matching.commits).toBe(String(epochs.length));
    const newest = epochs.reduce((max, lease) => (lease.matchEpoch > max ? lease.matchEpoch : max), 0n);
    expect(BigInt(matching.epoch)).toBeGreaterThanOrEqual(newest);
    expect(Date.parse(matching.lastCommitAt)).not.toBeNaN();
    expect((list.body as { data: unknown[] }).data.length).toBeGreaterThan(1);
  });

  it('answers 404 for an unknown market and 400 for a bad fee', async () => {
    for (const slug of ['no-such-market', 'NOT A SLUG']) {
      const path = `/admin/markets/${encodeURIComponent(slug)}`;
      const res = await http().post(`${path}/pause`).set(admin).expect(404);
      expect(res.body).toMatchObject({ code: 'NOT_FOUND' });
      await http().post(`${path}/resume`).set(admin).expect(404);
      await http().patch(path).set(admin).send({ feeBps: 100 }).expect(404);
    }
    for (const body of [
      {},
      { feeBps: -1 },
      { feeBps: 5001 },
      { feeBps: 2.5 },
      { feeBps: '300' },
      { feeBps: 1, status: 'PAUSED' },
    ]) {
      const res = await http().patch(`/admin/markets/${MARKET}`).set(admin).send(body).expect(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    await http().patch(`/admin/markets/${MARKET}`).set(admin).send({ feeBps: 5000 }).expect(200);
    await http().patch(`/admin/markets/${MARKET}`).set(admin).send({ feeBps: 0 }).expect(200);
    expect((await prisma.market.findUniqueOrThrow({ where: { id: marketId } })).feeBps).toBe(0);
  });

  it('refuses organisations: buyer and provider keys and owners signed in get 403, no credentials 401', async () => {
    const owner = await signIn(app, provider);
    for (const auth of [buyer.auth, provider.auth, owner.auth]) {
      const res = await http().get('/admin/markets').set(auth).expect(403);
      expect(res.body).toMatchObject({ code: 'FORBIDDEN' });
      await http().post(`/admin/markets/${MARKET}/pause`).set(auth).expect(403);
      await http().post(`/admin/markets/${MARKET}/resume`).set(auth).expect(403);
      await http().patch(`/admin/markets/${MARKET}`).set(auth).send({ feeBps: 100 }).expect(403);
    }
    await http().get('/admin/markets').expect(401);
    await http().post(`/admin/markets/${MARKET}/pause`).expect(401);
    expect(await prisma.market.findUniqueOrThrow({ where: { id: marketId } })).toMatchObject({
      status: 'ACTIVE',
    });
  });
});
