import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import {
  createSite,
  createTestMarket,
  marketplaceConfig,
  placeBid,
  placeOffer,
  removeMarketplaceData,
  removeTestMarket,
  withoutRequestId,
} from './marketplace-fixtures';

const GUIZHOU = '520000';
const BEIJING = '110000';

/**
 * GET /v1/bids/{id}/explanation (docs/MATCHING.md "Why a bid rests"). The API runs without a
 * worker, so the suite's CALL market never clears and its bids rest whatever the book holds.
 */
describe('GET /v1/bids/{id}/explanation', () => {
  let app: NestFastifyApplication;
  let provider: TestTenant;
  let buyer: TestTenant;
  let other: TestTenant;
  let market: { id: string; slug: string; callPhaseMs: number };
  let guizhou: { id: string };
  const ids: string[] = [];
  const http = () => request(app.getHttpServer());
  const explain = (id: string, tenant: TestTenant = buyer) =>
    http().get(`/v1/bids/${id}/explanation`).set(tenant.auth);
  const bid = (terms: Record<string, unknown> = {}) =>
    placeBid(app, buyer, {
      market: market.slug,
      gpus: 6,
      maxPricePerGpuHour: '20.00',
      provinces: [GUIZHOU],
      minGpusPerSite: 1,
      ...terms,
    });

  beforeAll(async () => {
    app = await startHttpApp(marketplaceConfig());
    market = await createTestMarket(app, { matchingMode: 'CALL', callWindowMs: 1000 });
    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    buyer = await registerOrganisation(app, 'BUYER', { verified: true });
    other = await registerOrganisation(app, 'BUYER', { verified: true });
    ids.push(provider.organisationId, buyer.organisationId, other.organisationId);
    guizhou = await createSite(app, provider, { provinceCode: GUIZHOU, cityCode: '520100' });
    const beijing = await createSite(app, provider, { provinceCode: BEIJING, cityCode: '110100' });
    // In the bid's province but above its cap; under its cap but in another province.
    await placeOffer(app, provider, guizhou.id, { market: market.slug, gpus: 4, pricePerGpuHour: '25.00' });
    await placeOffer(app, provider, beijing.id, { market: market.slug, gpus: 8, pricePerGpuHour: '18.00' });
  });

  afterAll(async () => {
    await removeMarketplaceData(app, ids);
    await removeTestMarket(app, market.id);
    await app.close();
  });

  it('names the rules that removed each offer of a bid blocked by price and province', async () => {
    const placed = await bid();
    const res = await explain(placed.id).expect(200);
    expect(res.body).toEqual({
      bidId: placed.id,
      market: market.slug,
      currency: 'CNY',
      status: 'OPEN',
      remainingGpus: 6,
      matchingMode: 'CALL',
      nextClearingAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as string,
      reason: 'NO_ELIGIBLE_SUPPLY',
      eligibleGpus: 0,
      fillableGpus: 0,
      vwap: null,
      sites: [],
      excluded: [
        { constraint: 'PRICE', gpus: 4, offers: 1 },
        { constraint: 'PROVINCE', gpus: 8, offers: 1 },
      ],
      cheapestExcluded: { price: '18.00', province: BEIJING },
      summary:
        'No free supply passes every rule for this bid now. Removed: 4 GPUs in 1 offer ask above your price cap; ' +
        '8 GPUs in 1 offer are outside your provinces; cheapest excluded 18.00 CNY/GPU-h in 110000.',
    });
    // The next clearing is ahead, on the market's 1 s window at its phase.
    const next = Date.parse((res.body as { nextClearingAt: string }).nextClearingAt);
    expect((next - market.callPhaseMs) % 1000).toBe(0);
    expect(next).toBeGreaterThan(Date.now() - 1000);
  });

  it('says the bid waits for the clearing once eligible supply exists, and what all-or-nothing lacks', async () => {
    const partial = await bid();
    const whole = await bid({ partialAllowed: false });
    await placeOffer(app, provider, guizhou.id, { market: market.slug, gpus: 2, pricePerGpuHour: '19.00' });

    const waiting = await explain(partial.id).expect(200);
    expect(waiting.body).toMatchObject({
      reason: 'AWAITING_CLEARING',
      eligibleGpus: 2,
      fillableGpus: 2,
      vwap: '19.00',
      sites: [{ province: GUIZHOU, gpus: 2 }],
      excluded: [
        { constraint: 'PRICE', gpus: 4, offers: 1 },
        { constraint: 'PROVINCE', gpus: 8, offers: 1 },
      ],
    });
    expect((waiting.body as { summary: string }).summary).toMatch(
      /^Eligible supply covers 2 of your 6 remaining GPUs; the next clearing at \S+ considers the bid for it/,
    );

    const short = await explain(whole.id).expect(200);
    expect(short.body).toMatchObject({ reason: 'ALL_OR_NOTHING_SHORT', eligibleGpus: 2, fillableGpus: 0 });
  });

  it("answers another organisation's bid exactly as a missing one: 404", async () => {
    const placed = await bid();
    const theirs = await explain(placed.id, other).expect(404);
    const missing = await explain('0190a0c0-0000-7000-8000-000000000000', other).expect(404);
    expect(withoutRequestId(theirs.body)).toEqual(withoutRequestId(missing.body));
    await explain('not-a-uuid').expect(404);
  });

  it('answers 409 with the status of a bid that no longer rests', async () => {
    const cancelled = await bid();
    await http().post(`/v1/bids/${cancelled.id}/cancel`).set(buyer.auth).expect(200);
    const res = await explain(cancelled.id).expect(409);
    expect(res.body).toMatchObject({ code: 'CONFLICT', details: { status: 'CANCELLED' } });

    // Filled by hand: this suite runs no matching.
    const filled = await bid();
    await app
      .get(PrismaService)
      .bid.update({ where: { id: filled.id }, data: { status: 'FILLED', filledGpus: 6 } });
    const answer = await explain(filled.id).expect(409);
    expect(answer.body).toMatchObject({ code: 'CONFLICT', details: { status: 'FILLED' } });
  });
});
