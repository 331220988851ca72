import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Clock } from '@/infra/clock/clock';
import type { ControllableClock } from '@/infra/clock/controllable-clock';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { StatsRefreshService } from '@/modules/stats/stats-refresh.service';
import { createAdminWithCli } from '../support/admin-cli';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, signIn, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { createSite, removeMarketplaceData } from './marketplace-fixtures';

const MIN = 60_000;
const HOUR = 60 * MIN;
// The fixture lives in hours of its own (2030) and a market of its own, so no other suite's rows
// fall into its buckets. H0 = [T0, T0+1h), H1, H2; statistics are read at T0 + 3h 10m.
const T0 = Date.UTC(2030, 0, 7, 0, 0, 0);
const at = (minutes: number): Date => new Date(T0 + minutes * MIN);
const NOW = at(190);

type Body = Record<string, unknown>;
const body = (res: { body: unknown }): Body => res.body as Body;

/**
 * Market statistics on a fixture with hand-computed answers (docs/STATS.md).
 * Rows are inserted with known timestamps; the refresh job runs on the controllable clock and
 * every figure is read over HTTP. Budget: ~10 s.
 */
describe('market statistics', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let providerA: TestTenant;
  let providerB: TestTenant;
  let pendingProvider: TestTenant;
  let buyer: TestTenant;
  let pendingBuyer: TestTenant;
  let lateProvider: TestTenant;
  let lateBuyer: TestTenant;
  let adminAuth: { authorization: string };
  let siteA: string;
  let siteB: string;
  let siteP: string;
  let l2: string;
  const marketId = randomUUID();
  const slug = `stats-${marketId.slice(0, 8)}`;
  const orgs: string[] = [];
  let seq = 900_000_000n;
  const http = () => request(app.getHttpServer());

  const offer = async (o: {
    org: string;
    site: string;
    gpus: number;
    price: bigint;
    from: Date;
    until: Date;
    leasedGpus?: number;
    status?: 'OPEN' | 'CANCELLED' | 'EXPIRED' | 'FILLED' | 'PARTIALLY_FILLED';
    cancelledAt?: Date;
    createdAt?: Date;
  }): Promise<string> =>
    (
      await prisma.offer.create({
        data: {
          organisationId: o.org,
          marketId,
          siteId: o.site,
          gpus: o.gpus,
          leasedGpus: o.leasedGpus ?? 0,
          pricePerGpuHour: o.price,
          availableFrom: o.from,
          availableUntil: o.until,
          minLeaseHours: 1,
          payPerUseMinPercent: 50,
          status: o.status ?? 'OPEN',
          seq: (seq += 1n),
          createdAt: o.createdAt ?? o.from,
          updatedAt: o.cancelledAt ?? o.createdAt ?? o.from,
          cancelledAt: o.cancelledAt ?? null,
        },
      })
    ).id;

  const bid = async (b: {
    org: string;
    gpus: number;
    filledGpus: number;
    durationHours: number;
    createdAt: Date;
    expiresAt: Date;
    status: 'OPEN' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELLED' | 'EXPIRED';
    updatedAt: Date;
    cancelledAt?: Date;
  }): Promise<string> =>
    (
      await prisma.bid.create({
        data: {
          organisationId: b.org,
          marketId,
          gpus: b.gpus,
          filledGpus: b.filledGpus,
          maxPricePerGpuHour: 5_000n,
          durationHours: b.durationHours,
          minGpusPerSite: 1,
          partialAllowed: true,
          billingMode: 'RESERVED',
          expiresAt: b.expiresAt,
          status: b.status,
          seq: (seq += 1n),
          createdAt: b.createdAt,
          updatedAt: b.updatedAt,
          cancelledAt: b.cancelledAt ?? null,
        },
      })
    ).id;

  const lease = async (l: {
    offerId: string;
    bidId: string;
    provider: string;
    site: string;
    gpus: number;
    price: bigint;
    durationHours: number;
    createdAt: Date;
    status: 'SCHEDULED' | 'ACTIVE' | 'ENDED';
    startedAt?: Date;
    endedAt?: Date;
  }): Promise<string> =>
    (
      await prisma.lease.create({
        data: {
          marketId,
          offerId: l.offerId,
          bidId: l.bidId,
          providerOrganisationId: l.provider,
          buyerOrganisationId: buyer.organisationId,
          siteId: l.site,
          gpus: l.gpus,
          pricePerGpuHour: l.price,
          durationHours: l.durationHours,
          billingMode: 'RESERVED',
          billingBasis: 'GPU_HOURS',
          feeBps: 300,
          payPerUseMinPercent: 50,
          status: l.status,
          matchEpoch: (seq += 1n),
          provisioningDeadline: new Date(l.createdAt.getTime() + 15 * MIN),
          startedAt: l.startedAt ?? null,
          endsAt: l.startedAt ? new Date(l.startedAt.getTime() + l.durationHours * HOUR) : null,
          endedAt: l.endedAt ?? null,
          createdAt: l.createdAt,
          updatedAt: l.endedAt ?? l.startedAt ?? l.createdAt,
        },
      })
    ).id;

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
        MATCHING_SWEEP_INTERVAL_MS: '3600000',
        LEASE_SWEEP_INTERVAL_MS: '3600000',
        SETTLEMENT_SWEEP_INTERVAL_MS: '3600000',
        STATS_REFRESH_INTERVAL_MS: '3600000',
        // Far enough back for the price-suggestion history at T0 - 90 h.
        STATS_REFRESH_HOURS: '100',
        CLOCK: 'controllable',
      }),
      { api: true, worker: true },
    );
    prisma = app.get(PrismaService);
    await prisma.market.create({
      data: {
        id: marketId,
        slug,
        vendor: 'Test',
        model: 'S1',
        memoryGb: 80,
        currency: 'CNY',
        currencyScale: 2,
        feeBps: 300,
        matchingMode: 'CONTINUOUS',
      },
    });
    providerA = await registerOrganisation(app, 'PROVIDER', { verified: true });
    providerB = await registerOrganisation(app, 'PROVIDER', { verified: true });
    pendingProvider = await registerOrganisation(app, 'PROVIDER');
    buyer = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor: 0n });
    pendingBuyer = await registerOrganisation(app, 'BUYER', { creditMinor: 0n });
    lateProvider = await registerOrganisation(app, 'PROVIDER');
    lateBuyer = await registerOrganisation(app, 'BUYER', { creditMinor: 0n });
    orgs.push(
      providerA.organisationId,
      providerB.organisationId,
      pendingProvider.organisationId,
      buyer.organisationId,
      pendingBuyer.organisationId,
      lateProvider.organisationId,
      lateBuyer.organisationId,
    );
    const adminEmail = `stats-admin-${marketId.slice(0, 8)}@ops.test`;
    const adminPassword = `pw-${randomUUID()}`;
    const created = await createAdminWithCli(adminEmail, adminPassword);
    if (created.code !== 0) throw new Error(`admin CLI failed: ${created.stderr}`);
    siteA = (await createSite(app, providerA, { provinceCode: '520000', cityCode: '520100' })).id;
    siteB = (await createSite(app, providerB, { provinceCode: '150000', cityCode: '150100' })).id;
    siteP = (await createSite(app, pendingProvider, { provinceCode: '520000', cityCode: '520100' })).id;
    const siteL = (await createSite(app, lateProvider, { provinceCode: '520000', cityCode: '520100' })).id;
    // Verified only at 1:40: what they withdrew before then was never visible.
    await prisma.organisation.updateMany({
      where: { id: { in: [lateProvider.organisationId, lateBuyer.organisationId] } },
      data: { status: 'VERIFIED', verifiedAt: at(100) },
    });
    await app.get<Clock, ControllableClock>(Clock).set(NOW);
    // Signed in on the fixture's clock: an access token lives minutes of exchange time.
    adminAuth = (await signIn(app, { email: adminEmail, password: adminPassword })).auth;

    const A = providerA.organisationId;
    const B = providerB.organisationId;
    // Offers. OA: 4 GPUs over [T0, T0+3h) -> 240 GPU-min in each of H0, H1, H2.
    const oa = await offer({
      org: A,
      site: siteA,
      gpus: 4,
      price: 1_000n,
      from: at(0),
      until: at(180),
      leasedGpus: 1,
    });
    // OB: 2 GPUs from T0+30m, cancelled at T0+2h -> H0 60, H1 120, H2 0 GPU-min.
    const ob = await offer({
      org: B,
      site: siteB,
      gpus: 2,
      price: 1_200n,
      from: at(30),
      until: at(150),
      status: 'CANCELLED',
      cancelledAt: at(120),
    });
    // OA2: live now (3 free GPUs), its window starts at T0+3h: nothing in complete hours yet.
    await offer({ org: A, site: siteA, gpus: 3, price: 1_500n, from: at(180), until: at(600) });
    // A pending provider's offer: invisible to statistics.
    await offer({
      org: pendingProvider.organisationId,
      site: siteP,
      gpus: 8,
      price: 500n,
      from: at(0),
      until: at(180),
    });

    // Cancelled at 1:10, before its provider's verification at 1:40: counts nowhere.
    await offer({
      org: lateProvider.organisationId,
      site: siteL,
      gpus: 2,
      price: 700n,
      from: at(0),
      until: at(180),
      status: 'CANCELLED',
      cancelledAt: at(70),
    });
    // Cancelled at 1:10, before its buyer's verification at 1:40: not unmet demand.
    await bid({
      org: lateBuyer.organisationId,
      gpus: 6,
      filledGpus: 0,
      durationHours: 1,
      createdAt: at(10),
      expiresAt: at(600),
      status: 'CANCELLED',
      updatedAt: at(70),
      cancelledAt: at(70),
    });

    const U = buyer.organisationId;
    // B1: 3 GPUs x 1 h placed at 0:10; filled at 0:20 (2 GPUs on OA) and 0:40 (1 on OB).
    const b1 = await bid({
      org: U,
      gpus: 3,
      filledGpus: 3,
      durationHours: 1,
      createdAt: at(10),
      expiresAt: at(600),
      status: 'FILLED',
      updatedAt: at(40),
    });
    // B2: 2 GPUs x 2 h placed at 1:00; 1 GPU filled at 1:30 on OA; expired at 2:30.
    const b2 = await bid({
      org: U,
      gpus: 2,
      filledGpus: 1,
      durationHours: 2,
      createdAt: at(60),
      expiresAt: at(150),
      status: 'EXPIRED',
      updatedAt: at(150),
    });
    // B3: 4 GPUs x 1 h placed at 0:05, cancelled unfilled at 1:45.
    await bid({
      org: U,
      gpus: 4,
      filledGpus: 0,
      durationHours: 1,
      createdAt: at(5),
      expiresAt: at(600),
      status: 'CANCELLED',
      updatedAt: at(105),
      cancelledAt: at(105),
    });
    // B4: 5 GPUs x 2 h placed at 0:30, still open (expires at 10:00).
    await bid({
      org: U,
      gpus: 5,
      filledGpus: 0,
      durationHours: 2,
      createdAt: at(30),
      expiresAt: at(600),
      status: 'OPEN',
      updatedAt: at(30),
    });
    // A pending buyer's cancelled bid: invisible (would add 10 unmet GPU-hours).
    await bid({
      org: pendingBuyer.organisationId,
      gpus: 10,
      filledGpus: 0,
      durationHours: 1,
      createdAt: at(5),
      expiresAt: at(600),
      status: 'CANCELLED',
      updatedAt: at(70),
      cancelledAt: at(70),
    });

    // L1: 2 GPUs of OA at 10.00, matched 0:20, ran 0:25-1:25: held [0:20, 1:25) -> H0 80, H1 50 GPU-min.
    const l1 = await lease({
      offerId: oa,
      bidId: b1,
      provider: A,
      site: siteA,
      gpus: 2,
      price: 1_000n,
      durationHours: 1,
      createdAt: at(20),
      status: 'ENDED',
      startedAt: at(25),
      endedAt: at(85),
    });
    // L2: 1 GPU of OB at 12.00, matched 0:40, ran 0:45-1:45 -> H0 20, H1 45 GPU-min.
    l2 = await lease({
      offerId: ob,
      bidId: b1,
      provider: B,
      site: siteB,
      gpus: 1,
      price: 1_200n,
      durationHours: 1,
      createdAt: at(40),
      status: 'ENDED',
      startedAt: at(45),
      endedAt: at(105),
    });
    // L3: 1 GPU of OA at 9.00, matched 1:30, active 1:35-3:35; OA's window ends at 3:00 -> H1 30, H2 60.
    await lease({
      offerId: oa,
      bidId: b2,
      provider: A,
      site: siteA,
      gpus: 1,
      price: 900n,
      durationHours: 2,
      createdAt: at(90),
      status: 'ACTIVE',
      startedAt: at(95),
    });
    // L1's period settled at 1:30: cost 2 x 10.00 = 20.00, fee 3% = 0.60, proceeds 19.40.
    await prisma.leasePeriod.create({
      data: {
        leaseId: l1,
        index: 0,
        startsAt: at(25),
        endsAt: at(85),
        gpuSeconds: 7_200n,
        basis: 'RESERVED',
        cost: 2_000n,
        fee: 60n,
        settledAt: at(90),
      },
    });

    // Price-suggestion history at site A (province 520000), placed at T0 - 90 h: 21 offers at
    // 8.00 (17 leased within 24 h, 1 leased only after 25 h) and 10 at 12.00 (2 leased within 24 h).
    const placed = at(-90 * 60);
    const history = await bid({
      org: U,
      gpus: 100,
      filledGpus: 20,
      durationHours: 1,
      createdAt: placed,
      expiresAt: at(-60 * 60),
      status: 'EXPIRED',
      updatedAt: at(-60 * 60),
    });
    const outcomes: Array<[bigint, 'soon' | 'late' | 'never']> = [
      ...Array.from({ length: 17 }, (): [bigint, 'soon'] => [800n, 'soon']),
      [800n, 'late'],
      ...Array.from({ length: 3 }, (): [bigint, 'never'] => [800n, 'never']),
      [1_200n, 'soon'],
      [1_200n, 'soon'],
      ...Array.from({ length: 8 }, (): [bigint, 'never'] => [1_200n, 'never']),
    ];
    for (const [price, outcome] of outcomes) {
      const id = await offer({ org: A, site: siteA, gpus: 1, price, from: placed, until: at(-40 * 60) });
      if (outcome === 'never') continue;
      const matchedAt = new Date(placed.getTime() + (outcome === 'soon' ? 2 : 25) * HOUR);
      await lease({
        offerId: id,
        bidId: history,
        provider: A,
        site: siteA,
        gpus: 1,
        price,
        durationHours: 1,
        createdAt: matchedAt,
        status: 'ENDED',
        startedAt: matchedAt,
        endedAt: new Date(matchedAt.getTime() + HOUR),
      });
    }

    await app.get(StatsRefreshService).refresh();
  });

  afterAll(async () => {
    await prisma.statsSiteHour.deleteMany({ where: { marketId } });
    await prisma.statsMarketHour.deleteMany({ where: { marketId } });
    await prisma.statsOfferOutcome.deleteMany({ where: { marketId } });
    await removeMarketplaceData(app, orgs);
    await prisma.marketMatching.deleteMany({ where: { marketId } });
    await prisma.market.delete({ where: { id: marketId } });
    await app.close();
  });

  it('public day window: utilisation, idle, fill rate, waits, unmet demand and OHLC, computed by hand', async () => {
    const res = await http().get(`/v1/markets/${slug}/stats?window=day`).expect(200);
    expect(body(res)).toMatchObject({
      market: slug,
      currency: 'CNY',
      window: 'day',
      from: at(180 - 24 * 60).toISOString(),
      to: at(180).toISOString(),
      minProviders: 2,
      // Offered: H0 240 + 60, H1 240 + 120, H2 240 = 900 GPU-min = 15 GPU-h (the pending
      // provider's 8 GPUs do not count). Leased: H0 80 + 20, H1 50 + 45 + 30, H2 60 = 285 GPU-min
      // = 4.75 GPU-h. Idle 10.25; utilisation 285 / 900 = 0.3167.
      supply: { offeredGpuHours: 15, leasedGpuHours: 4.75, idleGpuHours: 10.25, utilisation: 0.3167 },
      // Closed: B1 filled (3 GPU-h, 3 filled), B3 cancelled (4, 0), B2 expired (4, 2): 5 / 11 = 0.4545.
      // Unmet: B2 (2 - 1) x 2 h = 2 expired, B3 4 x 1 h = 4 cancelled. First fills: B1 10 min,
      // B2 30 min -> mean 1200 s; full fills: B1 30 min -> 1800 s.
      demand: {
        closedBids: 3,
        closedBidGpuHours: 11,
        filledGpuHours: 5,
        fillRate: 0.4545,
        unmetGpuHours: 6,
        unmetExpiredGpuHours: 2,
        unmetCancelledGpuHours: 4,
        firstFills: 2,
        fullFills: 1,
        meanSecondsToFirstFill: 1200,
        meanSecondsToFullFill: 1800,
      },
      // L1 10.00 x 2 GPU-h, L2 12.00 x 1, L3 9.00 x 2: open 10.00, high 12.00, low 9.00, close 9.00,
      // VWAP (2000 + 1200 + 1800) / 5 = 10.00. Two providers traded: prices shown.
      trades: {
        trades: 3,
        volumeGpuHours: 5,
        prices: { open: '10.00', high: '12.00', low: '9.00', close: '9.00', vwap: '10.00' },
      },
      // H0 has trades of two providers (prices shown); H1 only provider A's L3 (prices withheld).
      candles: [
        {
          start: at(0).toISOString(),
          trades: 2,
          volumeGpuHours: 3,
          open: '10.00',
          high: '12.00',
          low: '10.00',
          close: '12.00',
        },
        {
          start: at(60).toISOString(),
          trades: 1,
          volumeGpuHours: 2,
          open: null,
          high: null,
          low: null,
          close: null,
        },
      ],
    });
    expect(body(res).computedAt).toBe(NOW.toISOString());
    // Nothing names an organisation or a site.
    const text = JSON.stringify(res.body);
    for (const id of [...orgs, siteA, siteB]) expect(text).not.toContain(id);
  });

  it('public hour window: one provider offered in H2, so supply is withheld', async () => {
    const res = await http().get(`/v1/markets/${slug}/stats?window=hour`).expect(200);
    // H2: only OA (OB was cancelled at 2:00). B2 expired at 2:30: 4 GPU-h closed, 2 filled, 2 unmet.
    expect(body(res)).toMatchObject({
      from: at(120).toISOString(),
      to: at(180).toISOString(),
      supply: null,
      demand: {
        closedBids: 1,
        closedBidGpuHours: 4,
        filledGpuHours: 2,
        fillRate: 0.5,
        unmetExpiredGpuHours: 2,
      },
      trades: { trades: 0, volumeGpuHours: 0, prices: null },
      candles: [],
    });
  });

  it('admin: per province, unmet demand and open bids older than an hour, no minimum rule', async () => {
    const res = await http().get(`/admin/stats?window=hour&market=${slug}`).set(adminAuth).expect(200);
    const [market, ...others] = body(res).markets as Body[];
    expect(others).toHaveLength(0);
    // H2: province 520000 (site A) offered 4 GPU-h, leased 1 (L3); no row for 150000 (OB cancelled at 2:00).
    // At 3:00 only B4 (placed 0:30, 5 GPUs x 2 h unfilled) has been open for over an hour: 10 GPU-h.
    expect(market).toMatchObject({
      market: slug,
      supply: { offeredGpuHours: 4, leasedGpuHours: 1, idleGpuHours: 3, utilisation: 0.25 },
      // Only provinces with a snapshot row in the window appear.
      provinces: [
        {
          provinceCode: '520000',
          providers: 1,
          offeredGpuHours: 4,
          leasedGpuHours: 1,
          idleGpuHours: 3,
          utilisation: 0.25,
        },
      ],
      demand: { unmetGpuHours: 2, unmetExpiredGpuHours: 2, unmetCancelledGpuHours: 0 },
      openBidsOlderThanAnHour: { asOf: at(180).toISOString(), bids: 1, unfilledGpuHours: 10 },
    });

    const day = await http().get(`/admin/stats?window=day&market=${slug}`).set(adminAuth).expect(200);
    // Day by province: 520000 = OA 720 GPU-min offered, L1 130 + L3 90 = 220 leased (3.667 h, 0.3056);
    // 150000 = OB 180 offered, L2 65 leased (1.083 h, 0.3611).
    expect((day.body as { markets: Body[] }).markets[0]).toMatchObject({
      provinces: [
        {
          provinceCode: '150000',
          providers: 1,
          offeredGpuHours: 3,
          leasedGpuHours: 1.083,
          utilisation: 0.3611,
        },
        {
          provinceCode: '520000',
          providers: 1,
          offeredGpuHours: 12,
          leasedGpuHours: 3.667,
          utilisation: 0.3056,
        },
      ],
      trades: { prices: { open: '10.00', close: '9.00' } },
      candles: [
        { start: at(0).toISOString(), open: '10.00' },
        { start: at(60).toISOString(), open: '9.00', high: '9.00', low: '9.00', close: '9.00' },
      ],
    });
  });

  it('the refresh is idempotent: running it again leaves the same answers', async () => {
    const before = await http().get(`/admin/stats?window=day&market=${slug}`).set(adminAuth).expect(200);
    await app.get(StatsRefreshService).refresh();
    await app.get(StatsRefreshService).refresh();
    const after = await http().get(`/admin/stats?window=day&market=${slug}`).set(adminAuth).expect(200);
    expect(after.body).toEqual(before.body);
    expect(await prisma.statsMarketHour.count({ where: { marketId, bucketStart: { gte: at(0) } } })).toBe(3);
  });

  it('the scheduled job rebuilds lost snapshots through the worker', async () => {
    const before = await http().get(`/v1/markets/${slug}/stats?window=day`).expect(200);
    await prisma.statsSiteHour.deleteMany({ where: { marketId } });
    await prisma.statsMarketHour.deleteMany({ where: { marketId } });
    const empty = await http().get(`/v1/markets/${slug}/stats?window=day`).expect(200);
    expect(body(empty)).toMatchObject({ supply: null, computedAt: null, candles: [] });
    await app.get(JobProducer).enqueue('stats.refresh', { trigger: 'test' });
    await waitFor('the refresh job', async () =>
      (await prisma.statsMarketHour.count({ where: { marketId } })) > 0 ? true : undefined,
    );
    const after = await http().get(`/v1/markets/${slug}/stats?window=day`).expect(200);
    expect(after.body).toEqual(before.body);
  });

  it('a provider sees its own sites only: idle capacity, free GPUs now, settled proceeds', async () => {
    const res = await http().get('/v1/providers/stats?window=day').set(providerA.auth).expect(200);
    // Site A in the day window: 12 GPU-h offered, 3.667 leased, 8.333 idle; OA2 has 3 GPUs free now;
    // L1's settled period: 20.00 - 0.60 = 19.40.
    expect(body(res).sites).toEqual([
      {
        siteId: siteA,
        siteName: expect.any(String) as string,
        provinceCode: '520000',
        market: slug,
        currency: 'CNY',
        offeredGpuHours: 12,
        leasedGpuHours: 3.667,
        idleGpuHours: 8.333,
        utilisation: 0.3056,
        freeGpusNow: 3,
        proceeds: '19.40',
      },
    ]);
    const b = await http().get('/v1/providers/stats?window=day').set(providerB.auth).expect(200);
    expect((body(b).sites as Body[]).map((s) => [s.siteId, s.offeredGpuHours, s.proceeds])).toEqual([
      [siteB, 3, '0.00'],
    ]);
  });

  it('late data lands at the next refresh: a period settled after the first run', async () => {
    // L2's period settles late (2:30, H2): 1 GPU x 1 h x 12.00 = 12.00, fee 3% = 0.36, proceeds 11.64.
    await prisma.leasePeriod.create({
      data: {
        leaseId: l2,
        index: 0,
        startsAt: at(45),
        endsAt: at(105),
        gpuSeconds: 3_600n,
        basis: 'RESERVED',
        cost: 1_200n,
        fee: 36n,
        settledAt: at(150),
      },
    });
    const stale = await http().get('/v1/providers/stats?window=hour').set(providerB.auth).expect(200);
    expect(body(stale).sites).toEqual([]);
    await app.get(StatsRefreshService).refresh();
    const fresh = await http().get('/v1/providers/stats?window=hour').set(providerB.auth).expect(200);
    // H2 holds no offered capacity of B (OB ended at 2:00), only the proceeds.
    expect((body(fresh).sites as Body[]).map((x) => [x.siteId, x.offeredGpuHours, x.proceeds])).toEqual([
      [siteB, 0, '11.64'],
    ]);
  });

  it('price suggestion: highest ask whose own fitted 24 h lease chance is >= 80%', async () => {
    const res = await http()
      .get(`/v1/offers/price-suggestion?market=${slug}&site=${siteA}`)
      .set(providerA.auth)
      .expect(200);
    // Bins of 20: 8.00 alone, 17 of 21 leased within 24 h (the one leased after 25 h does not
    // count) = 0.8095; 12.00 (10 offers, 2 leased) is too short a bin to state a chance from.
    // The suggestion is 8.00 over 21 offers.
    expect(body(res)).toEqual({
      market: slug,
      siteId: siteA,
      currency: 'CNY',
      scope: 'province',
      target: 0.8,
      minSample: 20,
      lookbackDays: 30,
      insufficientData: false,
      suggestedAsk: '8.00',
      chance: 0.8095,
      sampleSize: 21,
      meetsTarget: true,
    });
    // Site B's province has no history; the market's (31 offers) stands in for it.
    const b = await http()
      .get(`/v1/offers/price-suggestion?market=${slug}&site=${siteB}`)
      .set(providerB.auth)
      .expect(200);
    expect(body(b)).toMatchObject({ scope: 'market', suggestedAsk: '8.00', sampleSize: 21 });

    // Per million tokens of a model, at the reference of the market's GPU (docs/STATS.md "Price
    // suggestion per million tokens"): given H100 figures, Llama 3.3 70B serves 2,804.6 / 419.8
    // tokens/s per GPU, 4,726,499 tokens a GPU-hour at 4:1; 8.00 is 1.69 -> 1.70 per million.
    await prisma.marketGpuSpec.create({
      data: { marketId, memoryBandwidthGbPerS: 3350, fp16Tflops: 989.4, fp8Tflops: 1978.9, int8Tops: 1978.9 },
    });
    try {
      const perMillion = await http()
        .get('/v1/offers/price-suggestion')
        .query({ market: slug, site: siteA, model: 'llama-3.3-70b-instruct' })
        .set(providerA.auth)
        .expect(200);
      expect(body(perMillion)).toMatchObject({
        suggestedAsk: '8.00',
        inference: {
          model: 'llama-3.3-70b-instruct',
          basis: 'REFERENCE',
          promptTokensPerSecondPerGpu: 2804.6,
          outputTokensPerSecondPerGpu: 419.8,
          promptToOutputRatio: 4,
          tokensPerGpuHour: 4_726_499,
          suggestedPricePerMillionTokens: '1.70',
        },
      });
    } finally {
      await prisma.marketGpuSpec.delete({ where: { marketId } });
    }
  });

  it('price suggestion says "insufficient data" below the minimum sample', async () => {
    // 29 days on, the lookback is [T0 - 21 h, T0 + 29 d - 21 h): the history at T0 - 90 h has left it.
    const clock = app.get<Clock, ControllableClock>(Clock);
    await clock.set(new Date(NOW.getTime() + 29 * 24 * HOUR));
    try {
      const res = await http()
        .get(`/v1/offers/price-suggestion?market=${slug}&site=${siteA}`)
        .set(providerA.auth)
        .expect(200);
      // Left: OA and OB, placed in H0 (OA2 was placed in H3, after the last refresh); 2 < 20.
      expect(body(res)).toMatchObject({
        scope: 'market',
        sampleSize: 2,
        insufficientData: true,
        suggestedAsk: null,
        chance: null,
        meetsTarget: null,
      });
    } finally {
      await clock.set(NOW);
    }
  });

  it('scopes and guards: admin stats for admins, provider views for their own sites', async () => {
    await http().get('/admin/stats').set(providerA.auth).expect(403);
    await http().get('/admin/stats').set(buyer.auth).expect(403);
    await http().get('/admin/stats').expect(401);
    await http().get('/v1/providers/stats').set(buyer.auth).expect(403);
    await http()
      .get('/v1/offers/price-suggestion')
      .query({ market: slug, site: siteA })
      .set(buyer.auth)
      .expect(403);
    // Another organisation's site answers exactly like a site that does not exist.
    const theirs = await http()
      .get('/v1/offers/price-suggestion')
      .query({ market: slug, site: siteB })
      .set(providerA.auth)
      .expect(400);
    const missing = await http()
      .get('/v1/offers/price-suggestion')
      .query({ market: slug, site: randomUUID() })
      .set(providerA.auth)
      .expect(400);
    expect(body(theirs).code).toBe('VALIDATION_FAILED');
    expect({ ...body(theirs), requestId: null }).toEqual({ ...body(missing), requestId: null });
    await http().get(`/v1/markets/${slug}/stats?window=month`).expect(400);
    await http().get('/v1/markets/no-such-market/stats').expect(404);
  });
});
