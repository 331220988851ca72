import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import {
  createSite,
  hoursFromNow,
  marketplaceConfig,
  placeBid,
  placeOffer,
  removeMarketplaceData,
} from './marketplace-fixtures';

// This suite alone trades in this market, so the book below is exactly what it placed.
const MARKET = 'nvidia-a100-80gb';

interface Listing {
  market: string;
  province: { code: string };
  city: { code: string };
  freeGpus: number;
  pricePerGpuHour: string;
  availableFrom: string;
}

describe('public market data', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  const tenants: TestTenant[] = [];
  const privateIds: string[] = [];
  const http = () => request(app.getHttpServer());
  const offers: Record<string, { id: string }> = {};

  beforeAll(async () => {
    app = await startHttpApp(marketplaceConfig());
    prisma = app.get(PrismaService);
    const verified = await registerOrganisation(app, 'PROVIDER', { verified: true });
    const pending = await registerOrganisation(app, 'PROVIDER');
    const suspended = await registerOrganisation(app, 'PROVIDER', { verified: true });
    const buyer = await registerOrganisation(app, 'BUYER', { verified: true });
    const pendingBuyer = await registerOrganisation(app, 'BUYER');
    tenants.push(verified, pending, suspended, buyer, pendingBuyer);

    const guiyang = await createSite(app, verified, {
      provinceCode: '520000',
      cityCode: '520100',
      uptimeTier: 'TIER_III',
    });
    const ulanqab = await createSite(app, verified, {
      provinceCode: '150000',
      cityCode: '150900',
      uptimeTier: 'TIER_IV',
    });
    const pendingSite = await createSite(app, pending);
    const suspendedSite = await createSite(app, suspended);
    const offer = (
      tenant: TestTenant,
      siteId: string,
      gpus: number,
      price: string,
      extra: Record<string, unknown> = {},
    ) => placeOffer(app, tenant, siteId, { market: MARKET, gpus, pricePerGpuHour: price, ...extra });

    offers.o1 = await offer(verified, guiyang.id, 10, '15.00');
    offers.o2 = await offer(verified, guiyang.id, 6, '15.00');
    await prisma.offer.update({
      where: { id: offers.o2.id },
      data: { leasedGpus: 2, status: 'PARTIALLY_FILLED' },
    });
    offers.o3 = await offer(verified, guiyang.id, 8, '12.50');
    offers.future = await offer(verified, guiyang.id, 4, '11.00', {
      availableFrom: hoursFromNow(2),
      availableUntil: hoursFromNow(48),
    });
    offers.cancelled = await offer(verified, guiyang.id, 4, '10.00');
    await http().post(`/v1/offers/${offers.cancelled.id}/cancel`).set(verified.auth).expect(200);
    offers.filled = await offer(verified, guiyang.id, 4, '13.00');
    await prisma.offer.update({ where: { id: offers.filled.id }, data: { leasedGpus: 4, status: 'FILLED' } });
    offers.ended = await offer(verified, guiyang.id, 4, '12.00');
    await prisma.offer.update({
      where: { id: offers.ended.id },
      data: {
        availableFrom: new Date(Date.now() - 48 * 3_600_000),
        availableUntil: new Date(Date.now() - 3_600_000),
      },
    });
    offers.o8 = await offer(verified, ulanqab.id, 2, '15.00');
    offers.pending = await offer(pending, pendingSite.id, 50, '9.00');
    offers.suspended = await offer(suspended, suspendedSite.id, 50, '9.50');
    await prisma.organisation.update({
      where: { id: suspended.organisationId },
      data: { status: 'SUSPENDED' },
    });

    const bid = (tenant: TestTenant, gpus: number, price: string, extra: Record<string, unknown> = {}) =>
      placeBid(app, tenant, { market: MARKET, gpus, maxPricePerGpuHour: price, minGpusPerSite: 1, ...extra });
    await bid(buyer, 2, '12.00');
    await bid(buyer, 8, '11.00');
    const partly = await bid(buyer, 4, '11.00');
    await prisma.bid.update({
      where: { id: partly.id },
      data: { filledGpus: 1, status: 'PARTIALLY_FILLED' },
    });
    const expired = await bid(buyer, 4, '11.50');
    await prisma.bid.update({ where: { id: expired.id }, data: { expiresAt: new Date(Date.now() - 1_000) } });
    const cancelled = await bid(buyer, 4, '11.80');
    await http().post(`/v1/bids/${cancelled.id}/cancel`).set(buyer.auth).expect(200);
    await bid(pendingBuyer, 100, '30.00');

    privateIds.push(
      ...tenants.map((t) => t.organisationId),
      guiyang.id,
      ulanqab.id,
      pendingSite.id,
      suspendedSite.id,
      ...Object.values(offers).map((o) => o.id),
      partly.id,
      expired.id,
      cancelled.id,
    );
  });

  afterAll(async () => {
    await removeMarketplaceData(
      app,
      tenants.map((t) => t.organisationId),
    );
    await app.close();
  });

  it('lists markets without authentication', async () => {
    const res = await http().get('/v1/markets').expect(200);
    const markets = (res.body as { data: Array<Record<string, unknown>> }).data;
    expect(markets).toHaveLength(8);
    expect(markets).toContainEqual({
      slug: 'nvidia-h100-80gb',
      vendor: 'NVIDIA',
      model: 'H100',
      memoryGb: 80,
      currency: 'CNY',
      currencyScale: 2,
      feeBps: 300,
      status: 'ACTIVE',
      // The catalogue's markets predate matching modes and stay price-time.
      matchingMode: 'CONTINUOUS',
      callWindowMs: 1000,
    });
  });

  it('lists provinces with their cities', async () => {
    const res = await http().get('/v1/provinces').expect(200);
    const provinces = (
      res.body as { data: Array<{ code: string; namePinyin: string; cities: Array<{ code: string }> }> }
    ).data;
    expect(provinces).toHaveLength(31);
    const guizhou = provinces.find((p) => p.code === '520000');
    expect(guizhou).toMatchObject({ nameZh: '贵州省', namePinyin: 'Guizhou' });
    expect(guizhou?.cities).toContainEqual({ code: '520100', nameZh: '贵阳市', namePinyin: 'Guiyang' });
  });

  it('aggregates the book by price, best first, from verified organisations’ live orders only', async () => {
    const res = await http().get(`/v1/markets/${MARKET}/book`).expect(200);
    expect(res.body).toEqual({
      market: MARKET,
      currency: 'CNY',
      status: 'ACTIVE',
      asOf: expect.any(String) as unknown,
      asks: [
        { price: '12.50', gpus: 8, orders: 1 },
        { price: '15.00', gpus: 16, orders: 3 },
      ],
      bids: [
        { price: '12.00', gpus: 2, orders: 1 },
        { price: '11.00', gpus: 11, orders: 2 },
      ],
    });
    const text = JSON.stringify(res.body);
    for (const id of privateIds) expect(text).not.toContain(id);
  });

  it('caps the book at the requested depth', async () => {
    const res = await http().get(`/v1/markets/${MARKET}/book?depth=1`).expect(200);
    expect(res.body).toMatchObject({
      asks: [{ price: '12.50', gpus: 8, orders: 1 }],
      bids: [{ price: '12.00', gpus: 2, orders: 1 }],
    });
    for (const depth of ['0', '101', 'abc', '1.5']) {
      const bad = await http().get(`/v1/markets/${MARKET}/book?depth=${depth}`).expect(400);
      expect(bad.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
  });

  it('answers an unknown market in the path with 404', async () => {
    const unknown = await http().get('/v1/markets/nvidia-b200-192gb/book').expect(404);
    expect(unknown.body).toMatchObject({ code: 'NOT_FOUND', message: 'Market not found.' });
    await http().get('/v1/markets/NVIDIA%20H100/book').expect(404);
  });

  it('lists anonymised supply of verified providers, newest first', async () => {
    const res = await http().get(`/v1/offers/listings?market=${MARKET}`).expect(200);
    const page = res.body as { data: Listing[]; nextCursor: string | null };
    expect(page.nextCursor).toBeNull();
    expect(page.data.map((l) => [l.pricePerGpuHour, l.freeGpus, l.province.code])).toEqual([
      ['15.00', 2, '150000'],
      ['11.00', 4, '520000'],
      ['12.50', 8, '520000'],
      ['15.00', 4, '520000'],
      ['15.00', 10, '520000'],
    ]);
    expect(page.data[0]).toEqual({
      market: MARKET,
      currency: 'CNY',
      // By display name only (docs/EVENTS.md, "Who sees whom").
      provider: {
        name: expect.stringMatching(/^PROVIDER owner-/) as unknown,
        // No lease yet: the prior of a new provider (docs/RELIABILITY.md).
        reliability: {
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
          },
        },
      },
      province: { code: '150000', nameZh: '内蒙古自治区', namePinyin: 'Nei Mongol' },
      city: { code: '150900', nameZh: '乌兰察布市', namePinyin: 'Ulanqab' },
      uptimeTier: 'TIER_IV',
      freeGpus: 2,
      pricePerGpuHour: '15.00',
      availableFrom: expect.any(String) as unknown,
      availableUntil: expect.any(String) as unknown,
      minLeaseHours: 2,
      payPerUseMinPercent: 30,
      terminationNoticeHours: 24,
    });
    const text = JSON.stringify(res.body);
    for (const id of privateIds) expect(text).not.toContain(id);
  });

  it('filters listings by province and pages them', async () => {
    const inMongolia = await http().get(`/v1/offers/listings?market=${MARKET}&province=150000`).expect(200);
    expect((inMongolia.body as { data: Listing[] }).data.map((l) => l.city.code)).toEqual(['150900']);
    const first = await http().get(`/v1/offers/listings?market=${MARKET}&limit=3`).expect(200);
    const page1 = first.body as { data: Listing[]; nextCursor: string };
    expect(page1.data).toHaveLength(3);
    const second = await http()
      .get(`/v1/offers/listings?market=${MARKET}&limit=3&cursor=${encodeURIComponent(page1.nextCursor)}`)
      .expect(200);
    expect((second.body as { data: Listing[]; nextCursor: null }).data.map((l) => l.freeGpus)).toEqual([
      4, 10,
    ]);
  });

  it('refuses unknown or malformed filters with 400', async () => {
    const market = await http().get('/v1/offers/listings?market=nvidia-b200-192gb').expect(400);
    expect(market.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'market' } });
    const province = await http().get('/v1/offers/listings?province=999900').expect(400);
    expect(province.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'province' } });
    await http().get('/v1/offers/listings?province=guizhou').expect(400);
    await http().get('/v1/offers/listings?organisationId=x').expect(400);
    await http().get('/v1/offers/listings?limit=1000').expect(400);
    await http().get('/v1/offers/listings?cursor=forged.AAAAAAAAAAAAAAAAAAAAAA').expect(400);
  });
});
