import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { dueJobId, JobProducer } from '@/infra/queues/job-producer.service';
import { EXPIRY_SWEEP_JOB_PREFIX, windowRunJobPrefix } from '@/modules/matching/matching-trigger';
import { LEASE_DEADLINE_JOB_PREFIX } from '@/infra/queues/lease-timer-jobs';
import { OrganisationsAdminService } from '@/modules/organisations/organisations.admin.service';
import { startHttpApp } from '../support/http-app';
import { ledgerViolations } from '../support/ledger-invariants';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { quiet } from '../support/leases';
import {
  createSite,
  eventsOf,
  hoursFromNow,
  placeBid,
  placeOffer,
  removeMarketplaceData,
} from './marketplace-fixtures';

// Markets no other suite trades in, so each book holds exactly what this suite places.
const MARKET = 'nvidia-a800-80gb';
const QUIET_MARKET = 'nvidia-rtx-4090-24gb';

/**
 * Orders placed over HTTP become leases through outbox -> BullMQ -> matching, with the API and
 * the workers in one process as `npm start` runs them (budget: ~15 s).
 */
describe('matching through the API and workers', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let provider: TestTenant;
  let buyer: TestTenant;
  let guizhou: { id: string };
  let ulanqab: { id: string };
  const ids: string[] = [];
  const http = () => request(app.getHttpServer());

  const bidNow = async (tenant: TestTenant, id: string) =>
    (await http().get(`/v1/bids/${id}`).set(tenant.auth).expect(200)).body as {
      status: string;
      filledGpus: number;
    };
  const bidReaches = (tenant: TestTenant, id: string, status: string, timeoutMs = 8_000) =>
    waitFor(
      `bid ${id} to be ${status}`,
      async () => {
        const bid = await bidNow(tenant, id);
        return bid.status === status ? bid : undefined;
      },
      timeoutMs,
      50,
    );
  /** Every event relayed and delivered, and no matching job waiting or running: the exchange is quiet. */
  const settled = () => quiet(app, ['events', 'matching']);
  const leasesOfBid = (bidId: string) =>
    prisma.lease.findMany({ where: { bidId }, orderBy: { pricePerGpuHour: 'asc' } });

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
        // No backstop during the suite: triggers and delayed jobs alone must do the work.
        MATCHING_SWEEP_INTERVAL_MS: '3600000',
      }),
      { api: true, worker: true },
    );
    prisma = app.get(PrismaService);
    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    buyer = await registerOrganisation(app, 'BUYER', { verified: true });
    ids.push(provider.organisationId, buyer.organisationId);
    guizhou = await createSite(app, provider, { provinceCode: '520000', cityCode: '520100' });
    ulanqab = await createSite(app, provider, { provinceCode: '150000', cityCode: '150900' });
  });

  afterEach(async () => {
    await settled();
    expect(await ledgerViolations(prisma, ids)).toEqual([]);
  });

  afterAll(async () => {
    await settled();
    await removeMarketplaceData(app, ids);
    await prisma.auditLogEntry.deleteMany({ where: { targetId: { in: ids } } });
    await app.close();
  });

  it('turns a crossing bid into a SCHEDULED lease at the resting ask, with its events', async () => {
    const offer = await placeOffer(app, provider, guizhou.id, {
      market: MARKET,
      gpus: 8,
      pricePerGpuHour: '18.00',
      minLeaseHours: 1,
    });
    const bid = await placeBid(app, buyer, {
      market: MARKET,
      gpus: 4,
      maxPricePerGpuHour: '20.00',
      provinces: [],
      minGpusPerSite: 1,
    });
    const filled = await bidReaches(buyer, bid.id, 'FILLED');
    expect(filled.filledGpus).toBe(4);

    const [lease, ...more] = await leasesOfBid(bid.id);
    expect(more).toHaveLength(0);
    expect(lease).toMatchObject({
      offerId: offer.id,
      providerOrganisationId: provider.organisationId,
      buyerOrganisationId: buyer.organisationId,
      siteId: guizhou.id,
      gpus: 4,
      // The offer rested first, so the trade is at its ask (docs/MATCHING.md).
      pricePerGpuHour: 1800n,
      durationHours: 24,
      billingMode: 'PAY_PER_USE',
      feeBps: 300,
      payPerUseMinPercent: 30,
      status: 'SCHEDULED',
    });
    const deadline = lease!.provisioningDeadline.getTime() - lease!.createdAt.getTime();
    expect(deadline).toBe(15 * 60_000);
    // The run that made it brought the lease sweep forward to that deadline (no lease.created consumer).
    const timer = await waitFor('the provisioning-deadline sweep', async () =>
      app
        .get(JobProducer)
        .queue('leases')
        .getJob(dueJobId(LEASE_DEADLINE_JOB_PREFIX, lease!.provisioningDeadline.getTime())),
    );
    expect(timer.name).toBe('leases.sweep');

    const offerNow = await http().get(`/v1/offers/${offer.id}`).set(provider.auth).expect(200);
    expect(offerNow.body).toMatchObject({ gpus: 8, leasedGpus: 4, status: 'PARTIALLY_FILLED' });

    const leaseEvents = await eventsOf(app, lease!.id);
    expect(leaseEvents).toEqual([
      expect.objectContaining({
        type: 'lease.created',
        payload: expect.objectContaining({
          leaseId: lease!.id,
          market: MARKET,
          bidId: bid.id,
          offerId: offer.id,
          gpus: 4,
          pricePerGpuHour: '18.00',
        }) as unknown,
      }),
    ]);
    const bidEvents = (await eventsOf(app, bid.id)).map((e) => e.type);
    expect(bidEvents).toEqual(['bid.placed', 'order.filled']);
    const offerFilled = (await eventsOf(app, offer.id)).find((e) => e.type === 'order.filled');
    expect(offerFilled?.payload).toMatchObject({
      orderType: 'offer',
      filledGpus: 4,
      leasedGpus: 4,
      status: 'PARTIALLY_FILLED',
      leaseIds: [lease!.id],
    });

    // The rest of the offer fills a second bid; the offer is then FILLED.
    const second = await placeBid(app, buyer, { market: MARKET, gpus: 4, provinces: [], minGpusPerSite: 1 });
    await bidReaches(buyer, second.id, 'FILLED');
    const full = await http().get(`/v1/offers/${offer.id}`).set(provider.auth).expect(200);
    expect(full.body).toMatchObject({ leasedGpus: 8, status: 'FILLED' });

    // The relay asked for the runs itself: no deliver job and no inbox row per order.
    const placed = await prisma.outboxEvent.findMany({
      where: {
        aggregateId: { in: [offer.id, bid.id, second.id] },
        type: { in: ['offer.placed', 'bid.placed'] },
      },
    });
    expect(placed).toHaveLength(3);
    for (const event of placed) {
      expect(await app.get(JobProducer).queue('events').getJob(event.id)).toBeUndefined();
    }
    expect(await prisma.inboxEvent.count({ where: { eventId: { in: placed.map((e) => e.id) } } })).toBe(0);
  });

  it('fills a resting bid when an offer arrives, at the bid maximum', async () => {
    const bid = await placeBid(app, buyer, {
      market: MARKET,
      gpus: 2,
      maxPricePerGpuHour: '21.00',
      provinces: ['150000'],
      minGpusPerSite: 2,
    });
    // The bid's run has come and gone with nothing to fill.
    await settled();
    expect((await bidNow(buyer, bid.id)).status).toBe('OPEN');
    const offer = await placeOffer(app, provider, ulanqab.id, {
      market: MARKET,
      gpus: 2,
      pricePerGpuHour: '17.50',
      minLeaseHours: 1,
    });
    await bidReaches(buyer, bid.id, 'FILLED');
    const [lease] = await leasesOfBid(bid.id);
    expect(lease).toMatchObject({ offerId: offer.id, gpus: 2, pricePerGpuHour: 2100n });
  });

  it('never fills an expired bid, and the sweep moves it to EXPIRED with its event', async () => {
    const expiresAt = Date.now() + 1_500;
    const bid = await placeBid(app, buyer, {
      market: MARKET,
      gpus: 2,
      maxPricePerGpuHour: '10.00',
      provinces: [],
      minGpusPerSite: 1,
      expiresAt: new Date(expiresAt).toISOString(),
    });
    // Only the delayed sweep at its expiry can expire it (no scheduled sweep runs).
    const sweep = await waitFor('the delayed sweep', async () =>
      app.get(JobProducer).queue('matching').getJob(dueJobId(EXPIRY_SWEEP_JOB_PREFIX, expiresAt)),
    );
    expect(sweep.name).toBe('matching.sweep');
    await bidReaches(buyer, bid.id, 'EXPIRED', 10_000);
    // Now an offer it would have taken arrives: nothing happens to an expired bid.
    await placeOffer(app, provider, guizhou.id, { market: MARKET, gpus: 2, pricePerGpuHour: '9.00' });
    await settled();
    expect(await bidNow(buyer, bid.id)).toMatchObject({ status: 'EXPIRED', filledGpus: 0 });
    expect(await leasesOfBid(bid.id)).toHaveLength(0);
    const expired = (await eventsOf(app, bid.id)).find((e) => e.type === 'order.expired');
    expect(expired?.payload).toMatchObject({
      orderType: 'bid',
      orderId: bid.id,
      market: MARKET,
      gpus: 2,
      filledGpus: 0,
      expiredGpus: 2,
    });
  });

  it('fills when an offer window opens, with no other event', async () => {
    // Far enough ahead that placing both orders and settling fits before it on a busy machine.
    const availableFrom = Date.now() + 6_000;
    const offer = await placeOffer(app, provider, guizhou.id, {
      market: MARKET,
      gpus: 3,
      pricePerGpuHour: '8.00',
      availableFrom: new Date(availableFrom).toISOString(),
      minLeaseHours: 1,
    });
    const bid = await placeBid(app, buyer, {
      market: MARKET,
      gpus: 3,
      maxPricePerGpuHour: '8.50',
      provinces: [],
      minGpusPerSite: 1,
      partialAllowed: false,
    });
    await settled();
    expect((await bidNow(buyer, bid.id)).status).toBe('OPEN');
    // Only the delayed run at the window's opening can fill it now (no sweep runs).
    const marketId = (await prisma.market.findUniqueOrThrow({ where: { slug: MARKET } })).id;
    const opening = await app
      .get(JobProducer)
      .queue('matching')
      .getJob(dueJobId(windowRunJobPrefix(marketId), availableFrom));
    expect(opening?.name).toBe('matching.run');
    await bidReaches(buyer, bid.id, 'FILLED', 15_000);
    const [lease] = await leasesOfBid(bid.id);
    expect(lease).toMatchObject({ offerId: offer.id, gpus: 3, pricePerGpuHour: 800n });
    expect(lease!.createdAt.getTime()).toBeGreaterThanOrEqual(availableFrom);
  });

  it('leaves a pending buyer resting until verification, which triggers the run', async () => {
    const pending = await registerOrganisation(app, 'BUYER');
    ids.push(pending.organisationId);
    await placeOffer(app, provider, guizhou.id, { market: MARKET, gpus: 2, pricePerGpuHour: '30.00' });
    const bid = await placeBid(app, pending, {
      market: MARKET,
      gpus: 2,
      maxPricePerGpuHour: '31.00',
      provinces: [],
      minGpusPerSite: 1,
    });
    await settled();
    expect((await bidNow(pending, bid.id)).status).toBe('OPEN');
    await app.get(OrganisationsAdminService).verifyOrganisation(randomUUID(), pending.organisationId);
    const verified = (await eventsOf(app, pending.organisationId)).map((e) => e.type);
    expect(verified).toEqual(['organisation.verified']);
    await bidReaches(pending, bid.id, 'FILLED');
  });

  it('places a quoted bid in a quiet market and gets exactly the quoted fills', async () => {
    await placeOffer(app, provider, guizhou.id, {
      market: QUIET_MARKET,
      gpus: 4,
      pricePerGpuHour: '6.00',
      minLeaseHours: 1,
    });
    await placeOffer(app, provider, ulanqab.id, {
      market: QUIET_MARKET,
      gpus: 5,
      pricePerGpuHour: '5.50',
      minLeaseHours: 1,
    });
    await placeOffer(app, provider, ulanqab.id, {
      market: QUIET_MARKET,
      gpus: 1,
      pricePerGpuHour: '5.00',
      minLeaseHours: 1,
    });
    const terms = {
      market: QUIET_MARKET,
      gpus: 8,
      maxPricePerGpuHour: '6.50',
      durationHours: 24,
      provinces: [],
      minGpusPerSite: 3,
      partialAllowed: true,
      billingMode: 'RESERVED',
    };
    // Let the three offers' runs finish, so the book is quiet when quoting.
    await settled();
    const quote = await http().post('/v1/bids/quote').set(buyer.auth).send(terms).expect(200);
    expect(quote.body).toMatchObject({ fillableGpus: 8 });
    const body = quote.body as {
      fillableGpus: number;
      vwap: string;
      sites: Array<{ province: string; gpus: number }>;
    };

    const bid = await placeBid(app, buyer, { ...terms, expiresAt: hoursFromNow(2) });
    await bidReaches(buyer, bid.id, 'FILLED');
    const leases = await prisma.lease.findMany({
      where: { bidId: bid.id },
      include: { offer: { include: { site: true } } },
    });
    const gpus = leases.reduce((sum, lease) => sum + lease.gpus, 0);
    expect(gpus).toBe(body.fillableGpus);
    const cost = leases.reduce((sum, lease) => sum + lease.pricePerGpuHour * BigInt(lease.gpus), 0n);
    const vwap = cost / BigInt(gpus);
    expect(`${vwap / 100n}.${(vwap % 100n).toString().padStart(2, '0')}`).toBe(body.vwap);
    const bySite = new Map<string, number>();
    for (const lease of leases) {
      const province = lease.offer.site.provinceCode;
      bySite.set(province, (bySite.get(province) ?? 0) + lease.gpus);
    }
    expect(Object.fromEntries(bySite)).toEqual(
      Object.fromEntries(body.sites.map((site) => [site.province, site.gpus])),
    );
  });
});
