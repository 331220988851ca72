import { randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { Clock } from '@/infra/clock/clock';
import type { ControllableClock } from '@/infra/clock/controllable-clock';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { LeaseLifecycleService } from '@/modules/leases/lease-lifecycle.service';
import { startHttpApp } from '../support/http-app';
import { ledgerViolations } from '../support/ledger-invariants';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { balanceOf } from '../support/leases';
import { handOverAccess, leaseBetween, quiet } from './lease-fixtures';
import { createSite, placeOffer, removeMarketplaceData } from './marketplace-fixtures';

const MARKET = 'huawei-ascend-910b-64gb';
// Far below any other suite's asks, so no other suite's offer crosses these bids.
const PRICE = '0.31';

interface Reliability {
  score: number;
  isNew: boolean;
  evidence: number;
  components: {
    handover: { onTime: number; late: number; missed: number; onTimeShare: number | null };
    delivery: {
      delivered: number;
      endedWithNoticeByProvider: number;
      endedEarlyByProvider: number;
      deliveredShare: number | null;
    };
    slo: { met: number; missed: number; metShare: number | null };
    disputes: { lost: number };
  };
}

/**
 * A provider's reliability score from its lease outcomes (docs/RELIABILITY.md), on its own console
 * and on its public listings: one lease delivered, one ended early by the provider, one deadline
 * missed. Budget: ~15 s.
 */
describe('reliability: the provider record buyers see', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let provider: TestTenant;
  let buyer: TestTenant;
  let site: { id: string };
  const ids: string[] = [];
  const http = () => request(app.getHttpServer());
  const own = async (): Promise<Reliability> =>
    (await http().get('/v1/providers/reliability').set(provider.auth).expect(200)).body as Reliability;
  const storedScore = async (): Promise<number> =>
    (await prisma.organisation.findUniqueOrThrow({ where: { id: provider.organisationId } }))
      .reliabilityScore;
  const lease = (durationHours = 1) =>
    leaseBetween(
      app,
      { provider, buyer, siteId: site.id },
      { market: MARKET, gpus: 1, price: PRICE, durationHours, billingMode: 'RESERVED' },
    );

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
        MATCHING_SWEEP_INTERVAL_MS: '3600000',
        LEASE_SWEEP_INTERVAL_MS: '3600000',
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

  afterAll(async () => {
    await quiet(app);
    expect(await ledgerViolations(prisma, ids)).toEqual([]);
    await removeMarketplaceData(app, ids);
    await app.close();
  });

  it('starts a new provider at the prior, 80, and shows only providers their own score', async () => {
    expect(await own()).toEqual({
      score: 80,
      isNew: true,
      evidence: 0,
      components: {
        handover: { onTime: 0, late: 0, missed: 0, onTimeShare: null },
        delivery: {
          delivered: 0,
          endedWithNoticeByProvider: 0,
          endedEarlyByProvider: 0,
          deliveredShare: null,
        },
        // No lease here carries an SLO or was disputed (docs/SLO.md).
        slo: { met: 0, missed: 0, metShare: null },
        disputes: { lost: 0 },
      },
    });
    await http().get('/v1/providers/reliability').set(buyer.auth).expect(403);
    await http().get('/v1/providers/reliability').expect(401);
  });

  it('scores handovers and deliveries: (4 + 3) / (5 + 5) = 70.0, the same on the public listing', async () => {
    // Delivered: handed over, runs its hour, ends.
    const delivered = await lease();
    await handOverAccess(app, provider, delivered.id).expect(200);
    // Ended early by the provider after handover, without notice (a penalty to the buyer).
    const early = await lease();
    await handOverAccess(app, provider, early.id).expect(200);
    await http()
      .post(`/v1/leases/${early.id}/terminate`)
      .set(provider.auth)
      .send({ mode: 'IMMEDIATE' })
      .expect(200);
    // Missed: the deadline passes with no handover.
    const missed = await lease();
    await prisma.lease.update({
      where: { id: missed.id },
      data: { provisioningDeadline: new Date(app.get(Clock).now().getTime() - 1000) },
    });
    // A buyer that ends a lease before handover says nothing of the provider.
    const neutral = await lease();
    await http().post(`/v1/leases/${neutral.id}/terminate`).set(buyer.auth).expect(200);
    // Ended by the provider at the offer's notice (24 h): its handover counts now, its end once
    // the notice runs out.
    const noticed = await lease(48);
    await handOverAccess(app, provider, noticed.id).expect(200);
    await http()
      .post(`/v1/leases/${noticed.id}/terminate`)
      .set(provider.auth)
      .send({ mode: 'NOTICE' })
      .expect(200);

    await app.get<Clock, ControllableClock>(Clock).advance(61 * 60_000);
    await app.get(LeaseLifecycleService).sweep();
    await quiet(app);
    expect(await prisma.lease.findUniqueOrThrow({ where: { id: delivered.id } })).toMatchObject({
      status: 'ENDED',
    });
    expect(await prisma.lease.findUniqueOrThrow({ where: { id: missed.id } })).toMatchObject({
      status: 'TERMINATED',
      terminationReason: 'PROVIDER_FAILURE',
      startedAt: null,
    });

    // good = 3 on-time handovers + 1 delivery, bad = 1 missed handover + 1 early end, all about an
    // hour old (weight 0.9997 each): 100 x (4 + 4) / (5 + 6) = 72.7.
    const score = await own();
    expect(score).toEqual({
      score: 72.7,
      isNew: false,
      evidence: 6,
      components: {
        handover: { onTime: 3, late: 0, missed: 1, onTimeShare: 0.75 },
        delivery: {
          delivered: 1,
          endedWithNoticeByProvider: 0,
          endedEarlyByProvider: 1,
          deliveredShare: 0.5,
        },
        // No lease here carries an SLO or was disputed (docs/SLO.md).
        slo: { met: 0, missed: 0, metShare: null },
        disputes: { lost: 0 },
      },
    });

    // Every listing of this provider carries that score: the offers whose GPUs came back, and
    // one priced above every bid.
    await placeOffer(app, provider, site.id, {
      market: MARKET,
      gpus: 1,
      pricePerGpuHour: '9999.00',
      availableFrom: new Date(app.get(Clock).now().getTime() - 60_000).toISOString(),
      availableUntil: new Date(app.get(Clock).now().getTime() + 48 * 3_600_000).toISOString(),
    });
    const listings = await http().get(`/v1/offers/listings?market=${MARKET}&limit=100`).expect(200);
    const mine = (
      listings.body as {
        data: Array<{ pricePerGpuHour: string; provider: { name: string; reliability: Reliability } }>;
      }
    ).data.filter((l) => l.provider.name === `PROVIDER ${provider.email}`);
    expect(mine.map((l) => l.pricePerGpuHour)).toContain('9999.00');
    for (const listing of mine) expect(listing.provider.reliability).toEqual(score);
    // The public book names it at its ask level, with the same score and components.
    const book = await http().get(`/v1/markets/${MARKET}/book?depth=100`).expect(200);
    const level = (
      book.body as {
        asks: Array<{ price: string; providers: Array<{ name: string; reliability: Reliability }> }>;
      }
    ).asks.find((ask) => ask.price === '9999.00');
    expect(level?.providers).toContainEqual({ name: `PROVIDER ${provider.email}`, reliability: score });
    expect(JSON.stringify(book.body)).not.toContain(provider.organisationId);
    // And the provider's console shows it beside its sites.
    const stats = await http().get('/v1/providers/stats').set(provider.auth).expect(200);
    expect((stats.body as { reliability: Reliability }).reliability).toEqual(score);

    // The copy matching reads followed each outcome (the lease events' consumer).
    expect(await storedScore()).toBe(72.7);
  });

  it('stores decayed scores on the schedule: 90 days on, the notice end counted half, (4 + 2.25) / (5 + 3.5) = 73.5', async () => {
    // A stored score off the truth (as if an event were lost) is put right by the refresh too.
    await prisma.organisation.update({
      where: { id: provider.organisationId },
      data: { reliabilityScore: 12 },
    });
    await app.get<Clock, ControllableClock>(Clock).advance(90 * 24 * 3_600_000);
    // The notice ran out 89 days ago: the sweep ends that lease now, as PROVIDER_NOTICE.
    await app.get(LeaseLifecycleService).sweep();
    await quiet(app);
    // Weights: the handovers, the early end, the missed one and the delivery about 0.4998-0.5, the
    // notice end 0.5037 (89 days old): good = 4 x 0.5 + 0.5 x 0.5037, bad = 2 x 0.5 + 0.5 x 0.5037.
    await app.get(JobProducer).enqueue('stats.reliability', { trigger: 'test' });
    await waitFor('the stored score to decay', async () =>
      (await storedScore()) === 73.5 ? true : undefined,
    );
    expect(await own()).toEqual({
      score: 73.5,
      isNew: false,
      evidence: 3.5,
      components: {
        handover: { onTime: 3, late: 0, missed: 1, onTimeShare: 0.75 },
        delivery: {
          delivered: 1,
          endedWithNoticeByProvider: 1,
          endedEarlyByProvider: 1,
          deliveredShare: 0.333,
        },
        // No lease here carries an SLO or was disputed (docs/SLO.md).
        slo: { met: 0, missed: 0, metShare: null },
        disputes: { lost: 0 },
      },
    });
  });

  it("honours a bid's minimum score in quotes and matching, and refuses a minimum out of range", async () => {
    const now = app.get(Clock).now().getTime();
    // The provider scores 73.5 now (above). A fresh offer of one GPU at the suite's price.
    const offer = await placeOffer(app, provider, site.id, {
      market: MARKET,
      gpus: 1,
      pricePerGpuHour: PRICE,
      minLeaseHours: 1,
      availableFrom: new Date(now - 60_000).toISOString(),
      availableUntil: new Date(now + 48 * 3_600_000).toISOString(),
    });
    await quiet(app);
    const terms = (minProviderScore: unknown) => ({
      market: MARKET,
      gpus: 1,
      maxPricePerGpuHour: PRICE,
      durationHours: 1,
      provinces: [],
      minGpusPerSite: 1,
      partialAllowed: false,
      billingMode: 'RESERVED',
      ...(minProviderScore === undefined ? {} : { minProviderScore }),
    });
    // A minimum the provider meets: the supply line shows who would serve, by name and score.
    const met = await http().post('/v1/bids/quote').set(buyer.auth).send(terms(73.5)).expect(200);
    expect(met.body).toMatchObject({
      fillableGpus: 1,
      sites: [
        {
          province: '520000',
          gpus: 1,
          provider: { name: `PROVIDER ${provider.email}`, reliability: await own() },
        },
      ],
    });
    expect(JSON.stringify(met.body)).not.toContain(site.id);
    const quote = await http().post('/v1/bids/quote').set(buyer.auth).send(terms(80)).expect(200);
    expect(quote.body).toMatchObject({ fillableGpus: 0 });
    expect((quote.body as { excluded: unknown[] }).excluded).toContainEqual({
      constraint: 'RELIABILITY',
      gpus: 1,
    });

    const place = (minProviderScore: unknown) =>
      http()
        .post('/v1/bids')
        .set(buyer.auth)
        .set('idempotency-key', randomUUID())
        .send({ ...terms(minProviderScore), expiresAt: new Date(now + 24 * 3_600_000).toISOString() });
    // (null, like absence, means any provider: the bid's own answer shows a missing minimum as null.)
    // Out of range or not a score: 400 from the quote and the placement, and nothing written (no
    // bid, no hold, the balance as it was).
    const written = async (): Promise<unknown> => ({
      bids: await prisma.bid.count({ where: { organisationId: buyer.organisationId } }),
      transfers: await prisma.ledgerTransfer.count({ where: { organisationId: buyer.organisationId } }),
      balance: await balanceOf(app, buyer),
    });
    const before = await written();
    for (const bad of [100.5, -1, 85.55, '85', 'high', true]) {
      const quoted = await http().post('/v1/bids/quote').set(buyer.auth).send(terms(bad));
      expect([bad, quoted.status, (quoted.body as { code?: string }).code]).toEqual([
        bad,
        400,
        'VALIDATION_FAILED',
      ]);
      const res = await place(bad);
      expect([bad, res.status, (res.body as { code?: string }).code]).toEqual([
        bad,
        400,
        'VALIDATION_FAILED',
      ]);
    }
    expect(await written()).toEqual(before);
    const picky = (await place(80).expect(201)).body as { id: string; minProviderScore: number };
    expect(picky.minProviderScore).toBe(80);
    await quiet(app);
    expect(await prisma.lease.count({ where: { bidId: picky.id } })).toBe(0);
    const content = (await place(73.5).expect(201)).body as { id: string };
    const lease = await waitFor('the lease of the bid the score satisfies', () =>
      prisma.lease.findFirst({ where: { bidId: content.id } }).then((row) => row ?? undefined),
    );
    expect(lease.offerId).toBe(offer.id);
    await quiet(app);
    expect(await prisma.lease.count({ where: { bidId: picky.id } })).toBe(0);
    await http().post(`/v1/bids/${picky.id}/cancel`).set(buyer.auth).expect(200);
  });
});
