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
// At 4 prompt tokens per output token: 4 / 8,000 + 1 / 500 = 1 / 400 -> 400 output + 1,600 prompt
// tokens/s per GPU, 7,200,000 tokens a GPU-hour.
const QWEN = {
  model: 'qwen2.5-7b-instruct',
  promptTokensPerSecondPerGpu: 8000,
  outputTokensPerSecondPerGpu: 500,
  ttftP50Ms: 200,
  ttftP95Ms: 300,
};
// 4 / 800 + 1 / 200 = 1 / 100 -> 100 + 400 tokens/s per GPU, 1,800,000 a GPU-hour.
const LLAMA = {
  model: 'llama-3.3-70b-instruct',
  promptTokensPerSecondPerGpu: 800,
  outputTokensPerSecondPerGpu: 200,
  ttftP50Ms: 400,
  ttftP95Ms: 700,
};
// A provider with no lease yet: the prior of a new provider (docs/RELIABILITY.md).
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
  let providerName: string;
  let providerTenant: TestTenant;
  let guiyangId: string;

  beforeAll(async () => {
    app = await startHttpApp(marketplaceConfig());
    prisma = app.get(PrismaService);
    const verified = await registerOrganisation(app, 'PROVIDER', { verified: true });
    const pending = await registerOrganisation(app, 'PROVIDER');
    const suspended = await registerOrganisation(app, 'PROVIDER', { verified: true });
    const buyer = await registerOrganisation(app, 'BUYER', { verified: true });
    const pendingBuyer = await registerOrganisation(app, 'BUYER');
    tenants.push(verified, pending, suspended, buyer, pendingBuyer);
    providerName = `PROVIDER ${verified.email}`;
    providerTenant = verified;

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
    guiyangId = guiyang.id;
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
    // What the GPUs serve (docs/INFERENCE.md "Market data in inference terms"). On A100 the
    // references are Qwen2.5 7B 8,193.6 / 621.0 per GPU (replicas of 1) and Llama 3.3 70B 884.4 /
    // 255.5 (replicas of 4); these declarations lie below both, so sizing takes them as declared.
    const serve = (offerId: string, profiles: Array<Record<string, unknown>>) =>
      http()
        .put(`/v1/offers/${offerId}/serving-profiles`)
        .set(offerId === offers.pending?.id ? pending.auth : verified.auth)
        .send({ profiles: profiles.map((p) => ({ concurrency: 8, ...p })) })
        .expect(200);
    await serve(offers.o1.id, [QWEN, LLAMA]);
    await serve(offers.o3.id, [QWEN]);
    await serve(offers.o8.id, [QWEN, LLAMA]);
    await serve(offers.pending.id, [QWEN]);
    // 1,000 output tokens/s is above 1.5 x 621.0: flagged for review, so it serves nothing yet.
    await serve(offers.o2.id, [{ ...QWEN, outputTokensPerSecondPerGpu: 1000 }]);
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
      // The first of the catalogue, so the first phase of its window (docs/MATCHING.md).
      callPhaseMs: 0,
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
      // Each ask level names its providers by display name and reliability score, never by id.
      asks: [
        {
          price: '12.50',
          gpus: 8,
          orders: 1,
          providers: [{ name: providerName, reliability: NEW_PROVIDER }],
          // No idle windows: always available.
          nextWindowOpensAt: null,
          windowClosesAt: null,
        },
        {
          price: '15.00',
          gpus: 16,
          orders: 3,
          providers: [{ name: providerName, reliability: NEW_PROVIDER }],
          nextWindowOpensAt: null,
          windowClosesAt: null,
        },
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
      asks: [{ price: '12.50', gpus: 8, orders: 1, providers: [{ name: providerName }] }],
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
      provider: { name: providerName, reliability: NEW_PROVIDER },
      province: { code: '150000', nameZh: '内蒙古自治区', namePinyin: 'Nei Mongol' },
      city: { code: '150900', nameZh: '乌兰察布市', namePinyin: 'Ulanqab' },
      uptimeTier: 'TIER_IV',
      freeGpus: 2,
      pricePerGpuHour: '15.00',
      availableFrom: expect.any(String) as unknown,
      availableUntil: expect.any(String) as unknown,
      minLeaseHours: 2,
      payPerUseMinPercent: 30,
      // No SLO promised (docs/SLO.md).
      slo: null,
      terminationNoticeHours: 24,
      // No idle windows: the whole availability window (docs/LEASES.md "Idle windows").
      idleWindows: null,
      nextWindowOpensAt: null,
      windowClosesAt: null,
      // 2 free GPUs: no whole replica of Llama (4 GPUs), 2 of Qwen. 15.00 per GPU-hour over
      // 7,200,000 tokens = 2.083 -> 2.09 per million; over 1,800,000 = 8.333 -> 8.34.
      serves: [
        {
          model: 'llama-3.3-70b-instruct',
          gpusPerReplica: 4,
          promptTokensPerSecondPerGpu: 800,
          outputTokensPerSecondPerGpu: 200,
          // The higher of declared (700) and reference (611).
          ttftP95Ms: 700,
          promptToOutputRatio: 4,
          replicas: 0,
          outputTokensPerSecond: 0,
          promptTokensPerSecond: 0,
          tokensPerSecond: 0,
          pricePerMillionTokens: '8.34',
        },
        {
          model: 'qwen2.5-7b-instruct',
          gpusPerReplica: 1,
          promptTokensPerSecondPerGpu: 8000,
          outputTokensPerSecondPerGpu: 500,
          ttftP95Ms: 300,
          promptToOutputRatio: 4,
          replicas: 2,
          outputTokensPerSecond: 800,
          promptTokensPerSecond: 3200,
          tokensPerSecond: 4000,
          pricePerMillionTokens: '2.09',
        },
      ],
    });
    // A flagged declaration serves nothing until an admin accepts it; an offer without any, nothing.
    const byAsk = (price: string, free: number) =>
      page.data.find((l) => l.pricePerGpuHour === price && l.freeGpus === free) as Listing & {
        serves: Array<{
          model: string;
          replicas: number;
          tokensPerSecond: number;
          pricePerMillionTokens: string;
        }>;
      };
    expect(byAsk('15.00', 4).serves).toEqual([]);
    expect(byAsk('11.00', 4).serves).toEqual([]);
    expect(
      byAsk('12.50', 8).serves.map((l) => [l.model, l.replicas, l.tokensPerSecond, l.pricePerMillionTokens]),
    ).toEqual([
      // 12.50 / 7.2 = 1.736 -> 1.74
      ['qwen2.5-7b-instruct', 8, 16000, '1.74'],
    ]);
    expect(
      byAsk('15.00', 10).serves.map((l) => [l.model, l.replicas, l.tokensPerSecond, l.pricePerMillionTokens]),
    ).toEqual([
      ['llama-3.3-70b-instruct', 2, 4000, '8.34'],
      ['qwen2.5-7b-instruct', 10, 20000, '2.09'],
    ]);
    const text = JSON.stringify(res.body);
    for (const id of privateIds) expect(text).not.toContain(id);
  });

  it('states live supply per model and province in tokens/s and per million tokens on the public stats', async () => {
    const res = await http().get(`/v1/markets/${MARKET}/stats?window=hour`).expect(200);
    const supply = (
      res.body as { supplyByModel: { asOf: string; promptToOutputRatio: number; models: unknown[] } }
    ).supplyByModel;
    expect(supply.promptToOutputRatio).toBe(4);
    // The verified provider's live offers only: not the future one, the pending or suspended
    // providers', or the flagged declaration. Llama: 10 GPUs of o1 hold 2 replicas; o8's 2, none.
    expect(supply.models).toEqual([
      {
        model: 'llama-3.3-70b-instruct',
        providers: 1,
        offers: 1,
        freeGpus: 10,
        servingGpus: 8,
        outputTokensPerSecond: 800,
        promptTokensPerSecond: 3200,
        tokensPerSecond: 4000,
        lowestPricePerGpuHour: '15.00',
        lowestPricePerMillionTokens: '8.34',
        meanPricePerMillionTokens: '8.34',
        provinces: [
          {
            provinceCode: '520000',
            providers: 1,
            offers: 1,
            freeGpus: 10,
            servingGpus: 8,
            outputTokensPerSecond: 800,
            promptTokensPerSecond: 3200,
            tokensPerSecond: 4000,
            lowestPricePerGpuHour: '15.00',
            lowestPricePerMillionTokens: '8.34',
            meanPricePerMillionTokens: '8.34',
          },
        ],
      },
      {
        model: 'qwen2.5-7b-instruct',
        providers: 1,
        offers: 3,
        freeGpus: 20,
        servingGpus: 20,
        outputTokensPerSecond: 8000,
        promptTokensPerSecond: 32000,
        tokensPerSecond: 40000,
        lowestPricePerGpuHour: '12.50',
        lowestPricePerMillionTokens: '1.74',
        // (10 x 15.00 + 8 x 12.50 + 2 x 15.00) per hour over 20 x 7.2 M tokens = 1.944 -> 1.95
        meanPricePerMillionTokens: '1.95',
        provinces: [
          {
            provinceCode: '150000',
            providers: 1,
            offers: 1,
            freeGpus: 2,
            servingGpus: 2,
            outputTokensPerSecond: 800,
            promptTokensPerSecond: 3200,
            tokensPerSecond: 4000,
            lowestPricePerGpuHour: '15.00',
            lowestPricePerMillionTokens: '2.09',
            meanPricePerMillionTokens: '2.09',
          },
          {
            provinceCode: '520000',
            providers: 1,
            offers: 2,
            freeGpus: 18,
            servingGpus: 18,
            outputTokensPerSecond: 7200,
            promptTokensPerSecond: 28800,
            tokensPerSecond: 36000,
            lowestPricePerGpuHour: '12.50',
            lowestPricePerMillionTokens: '1.74',
            meanPricePerMillionTokens: '1.93',
          },
        ],
      },
    ]);
    const text = JSON.stringify(res.body);
    for (const id of privateIds) expect(text).not.toContain(id);
  });

  it('answers the price suggestion per million tokens of a model, at the offer’s figures or the reference', async () => {
    const suggest = (query: Record<string, string>) =>
      http()
        .get('/v1/offers/price-suggestion')
        .set(providerTenant.auth)
        .query({ market: MARKET, site: guiyangId, ...query });
    // No history in this market: no ask to restate, but the figures it would be stated at.
    const reference = await suggest({ model: 'qwen2.5-7b-instruct' }).expect(200);
    expect(reference.body).toMatchObject({
      insufficientData: true,
      suggestedAsk: null,
      inference: {
        model: 'qwen2.5-7b-instruct',
        basis: 'REFERENCE',
        promptTokensPerSecondPerGpu: 8193.6,
        outputTokensPerSecondPerGpu: 621,
        promptToOutputRatio: 4,
        suggestedPricePerMillionTokens: null,
      },
    });
    const atOffer = await suggest({ model: 'qwen2.5-7b-instruct', offer: offers.o1!.id }).expect(200);
    expect((atOffer.body as { inference: unknown }).inference).toEqual({
      model: 'qwen2.5-7b-instruct',
      basis: 'OFFER',
      promptTokensPerSecondPerGpu: 8000,
      outputTokensPerSecondPerGpu: 500,
      promptToOutputRatio: 4,
      tokensPerGpuHour: 7200000,
      suggestedPricePerMillionTokens: null,
    });
    const without = await suggest({}).expect(200);
    expect(without.body).not.toHaveProperty('inference');
    const field = async (query: Record<string, string>, name: string) =>
      expect((await suggest(query).expect(400)).body).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { field: name },
      });
    await field({ offer: offers.o1!.id }, 'model');
    await field({ model: 'no-such-model' }, 'model');
    expect((await suggest({ model: 'Not A Slug' }).expect(400)).body).toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    expect((await suggest({ model: 'qwen2.5-7b-instruct', offer: 'o1' }).expect(400)).body).toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    // The flagged declaration of o2 is not usable; o3 does not serve Llama.
    await field({ model: 'qwen2.5-7b-instruct', offer: offers.o2!.id }, 'model');
    await field({ model: 'llama-3.3-70b-instruct', offer: offers.o3!.id }, 'model');
    // Another provider's offer, an offer at another site and a missing one answer alike.
    await field({ model: 'qwen2.5-7b-instruct', offer: offers.pending!.id }, 'offer');
    await field({ model: 'qwen2.5-7b-instruct', offer: offers.o8!.id }, 'offer');
    await field({ model: 'qwen2.5-7b-instruct', offer: '00000000-0000-4000-8000-000000000000' }, 'offer');
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
