import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { createSite, marketplaceConfig, placeOffer, removeMarketplaceData } from './marketplace-fixtures';

// A market no other suite trades in, so the book holds exactly what this suite places.
const MARKET = 'huawei-ascend-910b-64gb';

// No lease yet: the prior of a new provider (docs/RELIABILITY.md).
const NEW_PROVIDER = {
  score: 80,
  isNew: true,
  evidence: 0,
  components: {
    handover: { onTime: 0, late: 0, missed: 0, onTimeShare: null },
    delivery: { delivered: 0, endedWithNoticeByProvider: 0, endedEarlyByProvider: 0, deliveredShare: null },
    slo: { met: 0, missed: 0, metShare: null },
    disputes: { lost: 0 },
  },
};

describe('POST /v1/bids/quote', () => {
  let app: NestFastifyApplication;
  let provider: TestTenant;
  let pending: TestTenant;
  let buyer: TestTenant;
  const ids: string[] = [];
  const http = () => request(app.getHttpServer());
  const quote = (terms: Record<string, unknown>) =>
    http()
      .post('/v1/bids/quote')
      .set(buyer.auth)
      .send({
        market: MARKET,
        gpus: 6,
        maxPricePerGpuHour: '20.00',
        durationHours: 24,
        partialAllowed: true,
        billingMode: 'PAY_PER_USE',
        ...terms,
      });

  beforeAll(async () => {
    app = await startHttpApp(marketplaceConfig());
    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    pending = await registerOrganisation(app, 'PROVIDER');
    // Pending buyers may quote: quotes are computed as if the buyer were verified.
    buyer = await registerOrganisation(app, 'BUYER');
    ids.push(provider.organisationId, pending.organisationId, buyer.organisationId);
    const guizhou = await createSite(app, provider, { provinceCode: '520000', cityCode: '520100' });
    const ulanqab = await createSite(app, provider, { provinceCode: '150000', cityCode: '150900' });
    await placeOffer(app, provider, guizhou.id, { market: MARKET, gpus: 4, pricePerGpuHour: '18.00' });
    await placeOffer(app, provider, ulanqab.id, { market: MARKET, gpus: 2, pricePerGpuHour: '17.00' });
    await placeOffer(app, provider, guizhou.id, { market: MARKET, gpus: 8, pricePerGpuHour: '25.00' });
    // Cheaper than everything, but its organisation is not verified: never in a quote.
    const pendingSite = await createSite(app, pending, { provinceCode: '520000', cityCode: '520100' });
    await placeOffer(app, pending, pendingSite.id, { market: MARKET, gpus: 8, pricePerGpuHour: '10.00' });
  });

  afterAll(async () => {
    await removeMarketplaceData(app, ids);
    await app.close();
  });

  it('fills from the cheapest verified offers and names what the price excluded', async () => {
    const res = await quote({}).expect(200);
    expect(res.body).toEqual({
      market: MARKET,
      currency: 'CNY',
      fillableGpus: 6,
      // floor((2 x 17.00 + 4 x 18.00) / 6) = 17.66
      vwap: '17.66',
      // Each supply line names its provider by display name and reliability score, not the site.
      sites: [
        {
          province: '150000',
          gpus: 2,
          provider: { name: `PROVIDER ${provider.email}`, reliability: NEW_PROVIDER },
          // Offers without idle windows: always available.
          nextWindowOpensAt: null,
          windowClosesAt: null,
        },
        {
          province: '520000',
          gpus: 4,
          provider: { name: `PROVIDER ${provider.email}`, reliability: NEW_PROVIDER },
          nextWindowOpensAt: null,
          windowClosesAt: null,
        },
      ],
      excluded: [{ constraint: 'PRICE', gpus: 8 }],
      cheapestExcluded: { price: '25.00', province: '520000' },
      summary: expect.stringMatching(
        /^All 6 GPUs fillable now at 17\.66 CNY\/GPU-h across 2 sites\.$/,
      ) as string,
      // A market from before matching modes: continuous, so no clearing to wait for.
      matchingMode: 'CONTINUOUS',
      nextClearingAt: null,
    });
    // Anonymous: no organisation or site ids of the provider.
    expect(JSON.stringify(res.body)).not.toContain(provider.organisationId);
  });

  it.each([
    ['PRICE', { maxPricePerGpuHour: '16.00' }, 14, { price: '17.00', province: '150000' }],
    [
      'PROVINCE',
      { maxPricePerGpuHour: '30.00', provinces: ['110000'] },
      14,
      { price: '17.00', province: '150000' },
    ],
    [
      'WINDOW',
      { maxPricePerGpuHour: '30.00', durationHours: 720 },
      14,
      { price: '17.00', province: '150000' },
    ],
    [
      'MIN_LEASE',
      { maxPricePerGpuHour: '30.00', durationHours: 1 },
      14,
      { price: '17.00', province: '150000' },
    ],
  ])(
    'reports %s as the binding constraint when it excludes every offer',
    async (constraint, terms, gpus, cheapest) => {
      const res = await quote(terms).expect(200);
      expect(res.body).toMatchObject({
        fillableGpus: 0,
        vwap: null,
        sites: [],
        excluded: [{ constraint, gpus }],
        cheapestExcluded: cheapest,
      });
      expect((res.body as { summary: string }).summary).toMatch(
        /^Nothing fillable now: no offer .+; cheapest excluded 17\.00 CNY\/GPU-h in 150000\.$/,
      );
    },
  );

  it('reports co-location when a site cannot supply the minimum per site', async () => {
    const res = await quote({ gpus: 4, minGpusPerSite: 4 }).expect(200);
    expect(res.body).toMatchObject({
      fillableGpus: 4,
      vwap: '18.00',
      sites: [{ province: '520000', gpus: 4 }],
      excluded: [
        { constraint: 'PRICE', gpus: 8 },
        { constraint: 'CO_LOCATION', gpus: 2 },
      ],
    });
  });

  it('quotes what a whole run fills: a remainder below the site minimum fills in a later pass', async () => {
    // 6 GPUs at or below 20.00: S2 (Ulanqab) 2, S1 (Guizhou) 4. With 4 per site, S2 cannot open
    // for 6 at first; after S1's 4, the remaining 2 may come from S2 (m = min(4, 2)).
    const res = await quote({ gpus: 6, minGpusPerSite: 4 }).expect(200);
    expect(res.body).toMatchObject({
      fillableGpus: 6,
      sites: [
        { province: '520000', gpus: 4 },
        { province: '150000', gpus: 2 },
      ],
      excluded: [{ constraint: 'PRICE', gpus: 8 }],
    });
  });

  it('quotes zero for an all-or-nothing bid the book cannot fill whole', async () => {
    const res = await quote({ gpus: 10, partialAllowed: false }).expect(200);
    expect(res.body).toMatchObject({ fillableGpus: 0, vwap: null, sites: [] });
    expect((res.body as { summary: string }).summary).toMatch(
      /^Nothing fillable now: only 6 of 10 GPUs are available and the bid is all-or-nothing/,
    );
  });

  it('places nothing, and validates terms like placement does', async () => {
    const prisma = app.get(PrismaService);
    const before = await prisma.bid.count({ where: { organisationId: buyer.organisationId } });
    await quote({}).expect(200);
    expect(await prisma.bid.count({ where: { organisationId: buyer.organisationId } })).toBe(before);
    const bad = await quote({ maxPricePerGpuHour: 20 }).expect(400);
    expect(bad.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    await quote({ market: 'no-such-market' }).expect(400);
    await quote({ gpus: 4, minGpusPerSite: 5 }).expect(400);
    await http().post('/v1/bids/quote').set(provider.auth).send({}).expect(403);
  });
});
