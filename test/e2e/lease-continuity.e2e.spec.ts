import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { SettlementService } from '@/modules/billing/settlement/settlement.service';
import { LeaseLifecycleService } from '@/modules/leases/lease-lifecycle.service';
import { createTestAdmin, type TestAdmin } from '../support/admin-cli';
import { startExchangeOnClock } from '../support/http-app';
import { balanceOf, clockOf, expectLedgerSound, HOUR, leaseOfBid, MINUTE, quiet } from '../support/leases';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { waitFor } from '../support/wait-for';
import { handOverAccess, providerWithSite } from './lease-fixtures';
import {
  createTestMarket,
  eventsOf,
  placeOffer,
  removeMarketplaceData,
  removeTestMarket,
} from './marketplace-fixtures';

type Body = Record<string, unknown>;

/**
 * Continuity for buyers (docs/LEASES.md "Extending a lease", "Reporting a provider failure",
 * "Re-placing a bid automatically"), over HTTP with the controllable clock: a buyer extends an
 * ACTIVE lease at its trade price (held as a bid's hold is), reports that the provider failed
 * (an admin's confirmation moves the provider's reliability), and has a bid re-placed when its
 * lease ends. Every refusal is a 4xx that writes nothing. Ledger invariants after every test.
 * Fee of the test market: 250 bps. Each test has its own provider, whose offers are withdrawn at
 * its end, so no test's bid fills from another's offer.
 */
describe('lease continuity: extension, failure reports, automatic re-placement', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let market: { id: string; slug: string };
  let buyer: TestTenant;
  let adminUser: TestAdmin;
  // Access tokens last 15 minutes of the controllable clock, which the tests move: sign in when needed.
  const admin = () => adminUser.signIn();
  const ids: string[] = [];
  const providers: TestTenant[] = [];
  const http = () => request(app.getHttpServer());
  const clock = () => clockOf(app);
  const post = (path: string, tenant: { auth: { authorization: string } } | null, body: object = {}) => {
    const req = http().post(path).set('idempotency-key', randomUUID());
    return (tenant === null ? req : req.set(tenant.auth)).send(body);
  };
  const balance = (tenant: TestTenant) => balanceOf(app, tenant);
  const provider = async (): Promise<{ tenant: TestTenant; siteId: string }> => {
    const made = await providerWithSite(app, ids);
    providers.push(made.tenant);
    return made;
  };
  /** An offer (kept live) and a bid (the buyer's unless `by`) that fill each other; the lease once the worker made it. */
  const lease = async (
    parties: { tenant: TestTenant; siteId: string },
    terms: {
      gpus: number;
      offered?: number;
      price?: string;
      hours: number;
      until?: number;
      bid?: Body;
      offer?: Body;
      by?: TestTenant;
    },
  ): Promise<{ id: string; offerId: string; bidId: string }> => {
    const now = clock().now().getTime();
    const offer = await placeOffer(app, parties.tenant, parties.siteId, {
      market: market.slug,
      gpus: terms.offered ?? terms.gpus,
      pricePerGpuHour: terms.price ?? '10.00',
      minLeaseHours: 1,
      availableFrom: new Date(now - HOUR).toISOString(),
      availableUntil: new Date(now + (terms.until ?? 24 * 30) * HOUR).toISOString(),
      ...terms.offer,
    });
    const bid = await post('/v1/bids', terms.by ?? buyer, {
      market: market.slug,
      gpus: terms.gpus,
      maxPricePerGpuHour: terms.price ?? '10.00',
      durationHours: terms.hours,
      provinces: [],
      partialAllowed: false,
      billingMode: 'RESERVED',
      expiresAt: new Date(now + 24 * HOUR).toISOString(),
      ...terms.bid,
    }).expect(201);
    const bidId = (bid.body as { id: string }).id;
    const row = await leaseOfBid(app, bidId);
    return { id: row.id, offerId: offer.id, bidId };
  };
  const extend = (leaseId: string, body: object, tenant: TestTenant = buyer) =>
    post(`/v1/leases/${leaseId}/extend`, tenant, body);
  const nothingWritten = async (leaseId: string, before: { endsAt: Date | null; durationHours: number }) => {
    const row = await prisma.lease.findUniqueOrThrow({ where: { id: leaseId } });
    expect({
      endsAt: row.endsAt,
      durationHours: row.durationHours,
      extendedHours: row.extendedHours,
    }).toEqual({
      endsAt: before.endsAt,
      durationHours: before.durationHours,
      extendedHours: 0,
    });
    expect(await prisma.leaseExtension.count({ where: { leaseId } })).toBe(0);
    expect(await prisma.ledgerTransfer.count({ where: { leaseId, kind: 'LEASE_EXTENSION' } })).toBe(0);
  };

  beforeAll(async () => {
    app = await startExchangeOnClock();
    prisma = app.get(PrismaService);
    market = await createTestMarket(app);
    buyer = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor: 1_000_000n });
    ids.push(buyer.organisationId);
    adminUser = await createTestAdmin(app, 'continuity');
  });

  afterEach(async () => {
    await quiet(app);
    // Withdraw every offer of the test, so that no later test's bid fills from it.
    for (const tenant of providers.splice(0)) {
      const offers = await prisma.offer.findMany({
        where: {
          organisationId: tenant.organisationId,
          status: { in: ['OPEN', 'PARTIALLY_FILLED', 'FILLED'] },
        },
      });
      for (const offer of offers) await post(`/v1/offers/${offer.id}/cancel`, tenant).expect(200);
    }
    await expectLedgerSound(app, ids);
  });

  afterAll(async () => {
    await quiet(app);
    const reports = (await prisma.leaseReport.findMany({ where: { buyerOrganisationId: { in: ids } } })).map(
      (r) => r.id,
    );
    await prisma.auditLogEntry.deleteMany({ where: { targetId: { in: reports } } });
    await removeMarketplaceData(app, ids);
    await removeTestMarket(app, market.id);
    await app.close();
  });

  describe('extending a lease', () => {
    it('adds hours at the trade price, holds their cost, and the lease runs and settles to the new end', async () => {
      const parties = await provider();
      const made = await lease(parties, { gpus: 2, hours: 2 });
      const started = (await handOverAccess(app, parties.tenant, made.id).expect(200)).body as {
        startedAt: string;
        endsAt: string;
      };
      const t0 = Date.parse(started.startedAt);
      await clock().advance(30 * MINUTE);
      const before = await balance(buyer);

      const res = await extend(made.id, { hours: 3 }).expect(200);
      expect(res.body).toMatchObject({
        view: 'buyer',
        status: 'ACTIVE',
        durationHours: 5,
        extendedHours: 3,
        endsAt: new Date(t0 + 5 * HOUR).toISOString(),
        pricePerGpuHour: '10.00',
      });
      // 2 GPUs x 3 h x 10.00 = 60.00 moved from available to held.
      const after = await balance(buyer);
      expect(Number(after.available)).toBeCloseTo(Number(before.available) - 60, 2);
      expect(Number(after.held)).toBeCloseTo(Number(before.held) + 60, 2);
      const listed = await http().get(`/v1/leases/${made.id}/extensions`).set(buyer.auth).expect(200);
      expect(listed.body).toEqual({
        data: [
          expect.objectContaining({
            number: 1,
            hours: 3,
            pricePerGpuHour: '10.00',
            amount: '60.00',
            previousEndsAt: started.endsAt,
            endsAt: new Date(t0 + 5 * HOUR).toISOString(),
          }),
        ],
      });
      // The provider sees the extension, not the buyer's hold.
      const seen = await http().get(`/v1/leases/${made.id}/extensions`).set(parties.tenant.auth).expect(200);
      expect((seen.body as { data: Body[] }).data[0]).not.toHaveProperty('amount');
      await quiet(app);
      expect(
        (await eventsOf(app, made.id)).filter((e) => e.type === 'lease.extended').map((e) => e.payload),
      ).toEqual([
        expect.objectContaining({
          leaseId: made.id,
          extension: 1,
          hours: 3,
          durationHours: 5,
          previousEndsAt: started.endsAt,
          endsAt: new Date(t0 + 5 * HOUR).toISOString(),
        }),
      ]);

      // The old end passes with the lease still ACTIVE; it ends at the new end, every period paid.
      await clock().advance(2 * HOUR);
      await app.get(LeaseLifecycleService).sweep();
      expect((await prisma.lease.findUniqueOrThrow({ where: { id: made.id } })).status).toBe('ACTIVE');
      await clock().advance(3 * HOUR);
      await app.get(LeaseLifecycleService).sweep();
      const ended = await prisma.lease.findUniqueOrThrow({ where: { id: made.id } });
      expect({ status: ended.status, endedAt: ended.endedAt }).toEqual({
        status: 'ENDED',
        endedAt: new Date(t0 + 5 * HOUR),
      });
      expect(await app.get(SettlementService).settleLease(made.id)).toBe(5);
      const periods = await prisma.leasePeriod.findMany({
        where: { leaseId: made.id },
        orderBy: { index: 'asc' },
      });
      expect(periods.map((p) => p.cost)).toEqual([2000n, 2000n, 2000n, 2000n, 2000n]);
    });

    it('refuses bad input and every state it cannot extend, writing nothing', async () => {
      const parties = await provider();
      const made = await lease(parties, { gpus: 1, hours: 2, until: 4 });
      const row = await prisma.lease.findUniqueOrThrow({ where: { id: made.id } });
      // Before access: not ACTIVE.
      expect((await extend(made.id, { hours: 1 }).expect(409)).body).toMatchObject({
        details: { reason: 'LEASE_NOT_ACTIVE' },
      });
      await nothingWritten(made.id, row);
      await handOverAccess(app, parties.tenant, made.id).expect(200);
      const active = await prisma.lease.findUniqueOrThrow({ where: { id: made.id } });
      const availableBefore = (await balance(buyer)).available;
      for (const body of [
        {},
        { hours: 0 },
        { hours: -1 },
        { hours: 721 },
        { hours: 1.5 },
        { hours: '2' },
        { hours: 1, extra: 1 },
      ]) {
        await extend(made.id, body).expect(400);
      }
      // No Idempotency-Key: 400; the provider: 403; another buyer, or a bad id: 404.
      await http().post(`/v1/leases/${made.id}/extend`).set(buyer.auth).send({ hours: 1 }).expect(400);
      await extend(made.id, { hours: 1 }, parties.tenant).expect(403);
      const stranger = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor: 100_000n });
      ids.push(stranger.organisationId);
      await extend(made.id, { hours: 1 }, stranger).expect(404);
      await extend('not-a-uuid', { hours: 1 }).expect(404);
      // The offer is available for 4 h from the match: 3 more hours would pass it.
      expect((await extend(made.id, { hours: 3 }).expect(409)).body).toMatchObject({
        details: { reason: 'OUTSIDE_AVAILABILITY' },
      });
      // The provider now asks more than the lease's price.
      await http()
        .patch(`/v1/offers/${made.offerId}`)
        .set(parties.tenant.auth)
        .send({ pricePerGpuHour: '12.00' })
        .expect(200);
      expect((await extend(made.id, { hours: 1 }).expect(409)).body).toMatchObject({
        details: { reason: 'ASK_ABOVE_LEASE_PRICE', ask: '12.00', pricePerGpuHour: '10.00' },
      });
      // The provider withdraws the offer.
      await post(`/v1/offers/${made.offerId}/cancel`, parties.tenant).expect(200);
      expect((await extend(made.id, { hours: 1 }).expect(409)).body).toMatchObject({
        details: { reason: 'OFFER_CLOSED' },
      });
      await nothingWritten(made.id, active);
      expect((await balance(buyer)).available).toBe(availableBefore);
    });

    it('refuses a lease under notice or the buyer’s own end, and a hold available credit does not cover', async () => {
      const parties = await provider();
      const poor = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor: 2_000n });
      ids.push(poor.organisationId);
      // 20.00 of credit: the lease holds 1 x 1 h x 10.00, an extension of 2 h would need 20.00 more.
      const poorLease = await lease(parties, { gpus: 1, hours: 1, until: 48, by: poor });
      await handOverAccess(app, parties.tenant, poorLease.id).expect(200);
      const row = await prisma.lease.findUniqueOrThrow({ where: { id: poorLease.id } });
      expect(row.offerId).toBe(poorLease.offerId);
      expect((await extend(poorLease.id, { hours: 2 }, poor).expect(402)).body).toMatchObject({
        code: 'INSUFFICIENT_FUNDS',
        details: { required: '20.00', available: '10.00' },
      });
      await nothingWritten(poorLease.id, row);
      await extend(poorLease.id, { hours: 1 }, poor).expect(200);

      const noticed = await lease(parties, { gpus: 1, hours: 4, offer: { terminationNoticeHours: 1 } });
      await handOverAccess(app, parties.tenant, noticed.id).expect(200);
      await post(`/v1/leases/${noticed.id}/terminate`, parties.tenant, { mode: 'NOTICE' }).expect(200);
      const noticedRow = await prisma.lease.findUniqueOrThrow({ where: { id: noticed.id } });
      expect((await extend(noticed.id, { hours: 1 }).expect(409)).body).toMatchObject({
        details: { reason: 'TERMINATION_SCHEDULED' },
      });
      await nothingWritten(noticed.id, noticedRow);

      const ending = await lease(parties, { gpus: 1, hours: 4 });
      await handOverAccess(app, parties.tenant, ending.id).expect(200);
      await post(`/v1/leases/${ending.id}/terminate`, buyer).expect(200);
      const endingRow = await prisma.lease.findUniqueOrThrow({ where: { id: ending.id } });
      expect((await extend(ending.id, { hours: 1 }).expect(409)).body).toMatchObject({
        details: { reason: 'TERMINATION_SCHEDULED' },
      });
      await nothingWritten(ending.id, endingRow);
    });

    it('an extension and a new match on the same offer both go through without overselling it', async () => {
      const parties = await provider();
      // 4 GPUs offered, 2 leased: the other 2 are free for a new bid while the lease is extended.
      const made = await lease(parties, { gpus: 2, offered: 4, hours: 2 });
      await handOverAccess(app, parties.tenant, made.id).expect(200);
      const now = clock().now().getTime();
      const [extended, bid] = await Promise.all([
        extend(made.id, { hours: 2 }),
        post('/v1/bids', buyer, {
          market: market.slug,
          gpus: 2,
          maxPricePerGpuHour: '10.00',
          durationHours: 1,
          provinces: [],
          partialAllowed: false,
          billingMode: 'RESERVED',
          expiresAt: new Date(now + 24 * HOUR).toISOString(),
        }),
      ]);
      expect([extended.status, bid.status]).toEqual([200, 201]);
      await leaseOfBid(app, (bid.body as { id: string }).id, 'the second lease');
      const offer = await prisma.offer.findUniqueOrThrow({ where: { id: made.offerId } });
      expect({ gpus: offer.gpus, leased: offer.leasedGpus, status: offer.status }).toEqual({
        gpus: 4,
        leased: 4,
        status: 'FILLED',
      });
    });
  });

  describe('reporting a provider failure', () => {
    it('records the report during provisioning and after the start; an admin’s confirmation moves the score', async () => {
      const parties = await provider();
      const scheduled = await lease(parties, { gpus: 1, hours: 2 });
      await clock().advance(5 * MINUTE);
      const observedAt = new Date(clock().now().getTime() - 2 * MINUTE).toISOString();
      const reported = await post(`/v1/leases/${scheduled.id}/failure-reports`, buyer, {
        observedAt,
        detail: 'no access, no answer',
      }).expect(200);
      expect(reported.body).toMatchObject({
        leaseId: scheduled.id,
        kind: 'PROVIDER_FAILED',
        phase: 'PROVISIONING',
        observedAt,
        reportedAt: clock().now().toISOString(),
        detail: 'no access, no answer',
        status: 'OPEN',
        decidedAt: null,
      });
      const reportId = (reported.body as { id: string }).id;
      // A second report answers the first; the provider reads it too.
      expect(
        (await post(`/v1/leases/${scheduled.id}/failure-reports`, buyer, {}).expect(200)).body,
      ).toMatchObject({
        id: reportId,
      });
      expect(
        (await http().get(`/v1/leases/${scheduled.id}/failure-reports`).set(parties.tenant.auth).expect(200))
          .body,
      ).toEqual({ data: [expect.objectContaining({ id: reportId, phase: 'PROVISIONING' })] });
      await quiet(app);
      expect(
        (await eventsOf(app, scheduled.id))
          .filter((e) => e.type === 'lease.failure_reported')
          .map((e) => e.payload),
      ).toEqual([expect.objectContaining({ reportId, phase: 'PROVISIONING', observedAt })]);

      // After the start, on another lease: RUNNING.
      const running = await lease(parties, { gpus: 1, hours: 2 });
      await handOverAccess(app, parties.tenant, running.id).expect(200);
      expect(
        (await post(`/v1/leases/${running.id}/failure-reports`, buyer, {}).expect(200)).body,
      ).toMatchObject({ phase: 'RUNNING', status: 'OPEN' });

      // An open report counts for nothing; a confirmed one is a fault of its phase.
      const score = async () =>
        (await prisma.organisation.findUniqueOrThrow({ where: { id: parties.tenant.organisationId } }))
          .reliabilityScore;
      const before = await score();
      const decided = await http()
        .post(`/admin/lease-reports/${reportId}/decide`)
        .set(await admin())
        .send({ status: 'CONFIRMED', note: 'provider admits the outage' })
        .expect(200);
      expect(decided.body).toMatchObject({
        id: reportId,
        status: 'CONFIRMED',
        decisionNote: 'provider admits the outage',
      });
      await quiet(app);
      await waitFor('the score to move', async () => ((await score()) < before ? true : undefined));
      // Again the same way: answered as it is; the other way: 409. Audited once.
      await http()
        .post(`/admin/lease-reports/${reportId}/decide`)
        .set(await admin())
        .send({ status: 'CONFIRMED', note: 'again' })
        .expect(200);
      await http()
        .post(`/admin/lease-reports/${reportId}/decide`)
        .set(await admin())
        .send({ status: 'REJECTED', note: 'changed my mind' })
        .expect(409);
      expect(
        await prisma.auditLogEntry.count({ where: { targetId: reportId, action: 'lease_report.decide' } }),
      ).toBe(1);
      expect(
        (await eventsOf(app, scheduled.id)).filter((e) => e.type === 'lease.report_decided'),
      ).toHaveLength(1);
    });

    it('refuses bad input, the provider, another buyer and an ended lease, writing nothing', async () => {
      const parties = await provider();
      const made = await lease(parties, { gpus: 1, hours: 1 });
      const future = new Date(clock().now().getTime() + MINUTE).toISOString();
      const beforeLease = new Date(clock().now().getTime() - 10 * 24 * HOUR).toISOString();
      for (const body of [
        { observedAt: future },
        { observedAt: beforeLease },
        { observedAt: 'yesterday' },
        { detail: '' },
        { detail: 'x'.repeat(2001) },
        { kind: 'OTHER' },
      ]) {
        await post(`/v1/leases/${made.id}/failure-reports`, buyer, body).expect(400);
      }
      await post(`/v1/leases/${made.id}/failure-reports`, parties.tenant, {}).expect(403);
      const stranger = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor: 0n });
      ids.push(stranger.organisationId);
      await post(`/v1/leases/${made.id}/failure-reports`, stranger, {}).expect(404);
      await post(`/v1/leases/${made.id}/terminate`, buyer).expect(200);
      await post(`/v1/leases/${made.id}/failure-reports`, buyer, {}).expect(409);
      expect(await prisma.leaseReport.count({ where: { leaseId: made.id } })).toBe(0);
      await http()
        .post(`/admin/lease-reports/${randomUUID()}/decide`)
        .set(await admin())
        .send({ status: 'CONFIRMED', note: 'none' })
        .expect(404);
      await http()
        .post(`/admin/lease-reports/${randomUUID()}/decide`)
        .set(await admin())
        .send({ status: 'MAYBE', note: 'none' })
        .expect(400);
    });
  });

  describe('re-placing a bid automatically', () => {
    it('re-places a bid when its lease ends, within the plan’s count, and tells the buyer when it stops', async () => {
      const parties = await provider();
      // Count 1: the first lease's end re-places, the re-placement's own end is refused.
      const made = await lease(parties, {
        gpus: 1,
        offered: 3,
        hours: 1,
        bid: { autoReplace: { maxCount: 1, budget: '100.00' } },
      });
      const placed = (await http().get(`/v1/bids/${made.bidId}`).set(buyer.auth).expect(200)).body as Body;
      expect(placed).toMatchObject({
        autoReplacePlanId: expect.any(String) as unknown,
        replacesLeaseId: null,
      });
      await handOverAccess(app, parties.tenant, made.id).expect(200);
      await clock().advance(HOUR);
      await app.get(LeaseLifecycleService).sweep();

      const replacement = await waitFor('the re-placed bid', () =>
        prisma.bid.findFirst({ where: { replacesLeaseId: made.id } }).then((r) => r ?? undefined),
      );
      expect(replacement).toMatchObject({
        organisationId: buyer.organisationId,
        gpus: 1,
        maxPricePerGpuHour: 1000n,
        durationHours: 1,
        replacementPlanId: placed.autoReplacePlanId,
      });
      // It filled from the same offer's free GPUs, through the placement path and matching.
      const second = await leaseOfBid(app, replacement.id, 'its lease');
      expect(
        (await eventsOf(app, replacement.id)).find((e) => e.type === 'bid.placed')?.payload,
      ).toMatchObject({
        replacesLeaseId: made.id,
      });
      expect(
        (await http().get(`/v1/bids/${made.bidId}/auto-replace`).set(buyer.auth).expect(200)).body,
      ).toMatchObject({
        maxCount: 1,
        usedCount: 1,
        budget: '100.00',
        usedBudget: '10.00',
        remainingCount: 0,
        stoppedAt: null,
      });

      await handOverAccess(app, parties.tenant, second.id).expect(200);
      await post(`/v1/leases/${second.id}/terminate`, parties.tenant, { mode: 'IMMEDIATE' }).expect(200);
      await quiet(app);
      const refused = await waitFor('the refusal', () =>
        eventsOf(app, replacement.id).then(
          (events) => events.find((e) => e.type === 'bid.replacement_refused') ?? undefined,
        ),
      );
      expect(refused.payload).toMatchObject({ leaseId: second.id, reason: 'REPLACEMENT_LIMIT' });
      expect(await prisma.bid.count({ where: { replacesLeaseId: second.id } })).toBe(0);
    });

    it('refuses a re-placement whose hold would pass the budget, with count to spare, and writes nothing', async () => {
      const parties = await provider();
      // 15.00 of budget: the first re-placement holds 10.00 (1 GPU x 1 h x 10.00), a second would
      // take 20.00 in all, though the count allows five.
      const made = await lease(parties, {
        gpus: 1,
        offered: 3,
        hours: 1,
        bid: { autoReplace: { maxCount: 5, budget: '15.00' } },
      });
      await handOverAccess(app, parties.tenant, made.id).expect(200);
      await clock().advance(HOUR);
      await app.get(LeaseLifecycleService).sweep();
      const replacement = await waitFor('the re-placed bid', () =>
        prisma.bid.findFirst({ where: { replacesLeaseId: made.id } }).then((r) => r ?? undefined),
      );
      const second = await leaseOfBid(app, replacement.id, 'its lease');
      await handOverAccess(app, parties.tenant, second.id).expect(200);
      const plan = async (): Promise<unknown> =>
        (await http().get(`/v1/bids/${made.bidId}/auto-replace`).set(buyer.auth).expect(200)).body;
      expect(await plan()).toMatchObject({ usedCount: 1, usedBudget: '10.00', remainingCount: 4 });
      const bidsBefore = await prisma.bid.count({ where: { organisationId: buyer.organisationId } });

      // The second lease runs to its end: the re-placement is refused on the budget, told once.
      await clock().advance(HOUR);
      await app.get(LeaseLifecycleService).sweep();
      await quiet(app);
      expect((await prisma.lease.findUniqueOrThrow({ where: { id: second.id } })).status).toBe('ENDED');
      const refused = await waitFor('the refusal', () =>
        eventsOf(app, replacement.id).then(
          (events) => events.find((e) => e.type === 'bid.replacement_refused') ?? undefined,
        ),
      );
      expect(refused.payload).toMatchObject({ leaseId: second.id, reason: 'REPLACEMENT_LIMIT' });
      expect(
        (await eventsOf(app, replacement.id)).filter((e) => e.type === 'bid.replacement_refused'),
      ).toHaveLength(1);
      expect(await prisma.bid.count({ where: { replacesLeaseId: second.id } })).toBe(0);
      expect(await prisma.bid.count({ where: { organisationId: buyer.organisationId } })).toBe(bidsBefore);
      expect(await plan()).toMatchObject({
        maxCount: 5,
        usedCount: 1,
        budget: '15.00',
        usedBudget: '10.00',
        remainingCount: 4,
        stoppedAt: null,
      });
    });

    it('re-places an interruptible bid when the provider reclaims its lease', async () => {
      const parties = await provider();
      // Idle windows all week (so one is open now), reclaimable at 30 minutes' notice.
      const made = await lease(parties, {
        gpus: 1,
        offered: 2,
        hours: 3,
        offer: {
          idleWindows: {
            timeZone: 'UTC',
            reclaimNoticeMinutes: 30,
            windows: [
              { days: ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'], start: '00:00', end: '24:00' },
            ],
          },
        },
        bid: { interruptible: true, autoReplace: { maxCount: 2, budget: '100.00' } },
      });
      expect((await prisma.lease.findUniqueOrThrow({ where: { id: made.id } })).reclaimable).toBe(true);
      await handOverAccess(app, parties.tenant, made.id).expect(200);
      await clock().advance(30 * MINUTE);
      await post(`/v1/leases/${made.id}/terminate`, parties.tenant, { mode: 'RECLAIM' }).expect(200);
      // Nothing is re-placed while the lease runs out its notice.
      await quiet(app);
      expect(await prisma.bid.count({ where: { replacesLeaseId: made.id } })).toBe(0);

      await clock().advance(30 * MINUTE);
      await app.get(LeaseLifecycleService).sweep();
      expect(await prisma.lease.findUniqueOrThrow({ where: { id: made.id } })).toMatchObject({
        status: 'TERMINATED',
        terminationReason: 'RECLAIMED',
      });
      const replacement = await waitFor('the re-placed bid', () =>
        prisma.bid.findFirst({ where: { replacesLeaseId: made.id } }).then((r) => r ?? undefined),
      );
      // The same terms, interruption accepted included.
      expect(replacement).toMatchObject({
        organisationId: buyer.organisationId,
        gpus: 1,
        maxPricePerGpuHour: 1000n,
        durationHours: 3,
        interruptible: true,
      });
      expect(
        (await eventsOf(app, replacement.id)).find((e) => e.type === 'bid.placed')?.payload,
      ).toMatchObject({ replacesLeaseId: made.id });
      expect(
        (await http().get(`/v1/bids/${made.bidId}/auto-replace`).set(buyer.auth).expect(200)).body,
      ).toMatchObject({ usedCount: 1, usedBudget: '30.00', remainingCount: 1 });
    });

    it('does not re-place after the buyer’s own end, nor once stopped; bad plans are 400', async () => {
      const parties = await provider();
      const made = await lease(parties, {
        gpus: 1,
        offered: 2,
        hours: 3,
        bid: { autoReplace: { maxCount: 5, budget: '1000.00' } },
      });
      await handOverAccess(app, parties.tenant, made.id).expect(200);
      await post(`/v1/leases/${made.id}/terminate`, buyer).expect(200);
      await clock().advance(HOUR);
      await app.get(LeaseLifecycleService).sweep();
      await quiet(app);
      expect((await prisma.lease.findUniqueOrThrow({ where: { id: made.id } })).status).toBe('ENDED');
      expect(await prisma.bid.count({ where: { replacesLeaseId: made.id } })).toBe(0);

      const stopped = await lease(parties, {
        gpus: 1,
        hours: 1,
        bid: { autoReplace: { maxCount: 5, budget: '1000.00' } },
      });
      expect(
        (await post(`/v1/bids/${stopped.bidId}/auto-replace/stop`, buyer).expect(200)).body,
      ).toMatchObject({ stoppedAt: clock().now().toISOString(), usedCount: 0 });
      await handOverAccess(app, parties.tenant, stopped.id).expect(200);
      await post(`/v1/leases/${stopped.id}/terminate`, parties.tenant, { mode: 'IMMEDIATE' }).expect(200);
      await quiet(app);
      expect(await prisma.bid.count({ where: { replacesLeaseId: stopped.id } })).toBe(0);

      const now = clock().now().getTime();
      const plansBefore = await prisma.bidReplacementPlan.count({
        where: { organisationId: buyer.organisationId },
      });
      for (const autoReplace of [
        { maxCount: 0, budget: '10.00' },
        { maxCount: 101, budget: '10.00' },
        { maxCount: 1.5, budget: '10.00' },
        { maxCount: 1, budget: '0.00' },
        { maxCount: 1, budget: '-5.00' },
        { maxCount: 1, budget: 10 },
        { maxCount: 1, budget: '1.001' },
        { maxCount: 1 },
        { budget: '10.00' },
      ]) {
        await post('/v1/bids', buyer, {
          market: market.slug,
          gpus: 1,
          maxPricePerGpuHour: '10.00',
          durationHours: 1,
          partialAllowed: true,
          billingMode: 'RESERVED',
          expiresAt: new Date(now + HOUR).toISOString(),
          autoReplace,
        }).expect(400);
      }
      expect(await prisma.bidReplacementPlan.count({ where: { organisationId: buyer.organisationId } })).toBe(
        plansBefore,
      );
      await http().get(`/v1/bids/${randomUUID()}/auto-replace`).set(buyer.auth).expect(404);
    });
  });
});
