import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { createTestAdmin, type TestAdmin } from '../support/admin-cli';
import { startHttpApp } from '../support/http-app';
import { expectLedgerSound, quiet } from '../support/leases';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { closeExchange, createInferenceMarket } from './lease-fixtures';
import { createSite, hoursFromNow, placeOffer } from './marketplace-fixtures';

const MODEL = 'qwen2.5-7b-instruct';
// Below the H100 reference (docs/INFERENCE.md), so sizing uses them as declared.
const FAST = {
  promptTokensPerSecondPerGpu: 3000,
  outputTokensPerSecondPerGpu: 1000,
  ttftP50Ms: 60,
  ttftP95Ms: 100,
};

/**
 * Rule 4's `TAKE_OR_PAY` in a CALL market, over HTTP (docs/MATCHING.md "Eligibility of a pair",
 * docs/INFERENCE.md "Per-token billing"): a per-token inference bid takes from an offer only when
 * its take-or-pay share is at least the offer's pay-per-use floor, at the clearing too.
 *
 * The market is switched to CALL by the admin endpoint. Two offers serve the model at the same
 * figures: 2 GPUs at 18.00 with a 60% floor and 2 at 24.00 with a 10% floor. Each bid asks 1,500
 * output + 1,500 prompt tokens/s: 1500/3000 + 1500/1000 = 2 GPUs, at 5.00 per million tokens =
 * 27.00 per GPU-hour, all or nothing. A clearing maximises matched GPU-hours, then surplus: without
 * the rule, a bid would take the cheaper 18.00 (more surplus). A 20% share must take the 24.00;
 * a 60% share meets the 18.00's floor exactly and takes it.
 */
describe('inference: take-or-pay eligibility at a CALL clearing', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let provider: TestTenant;
  let buyer: TestTenant;
  let admin: TestAdmin;
  let market: { id: string; slug: string };
  let highFloor: { id: string };
  let lowFloor: { id: string };
  const ids: string[] = [];
  const http = () => request(app.getHttpServer());

  const inferenceBid = (takeOrPayPercent: number) => ({
    market: market.slug,
    durationHours: 2,
    partialAllowed: false,
    expiresAt: hoursFromNow(48),
    inference: {
      model: MODEL,
      outputTokensPerSecond: 1500,
      promptToOutputRatio: 1,
      ttftP95Ms: 300,
      maxPricePerMillionTokens: '5.00',
      takeOrPayPercent,
    },
  });
  const place = async (takeOrPayPercent: number) =>
    (
      await http()
        .post('/v1/bids')
        .set(buyer.auth)
        .set('idempotency-key', randomUUID())
        .send(inferenceBid(takeOrPayPercent))
        .expect(201)
    ).body as { id: string; gpus: number; maxPricePerGpuHour: string };
  const filled = (bidId: string) =>
    waitFor('the bid to fill at a clearing', async () => {
      const bid = (await http().get(`/v1/bids/${bidId}`).set(buyer.auth).expect(200)).body as {
        status: string;
      };
      return bid.status === 'FILLED' ? bid : undefined;
    });
  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
        MATCHING_SWEEP_INTERVAL_MS: '3600000',
      }),
      { api: true, worker: true },
    );
    prisma = app.get(PrismaService);
    market = await createInferenceMarket(app);
    admin = await createTestAdmin(app, 'call-take-or-pay');
    await http()
      .put(`/admin/markets/${market.slug}/matching`)
      .set(await admin.signIn())
      .send({ matchingMode: 'CALL', callWindowMs: 1000 })
      .expect(200);

    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    buyer = await registerOrganisation(app, 'BUYER', { verified: true });
    ids.push(provider.organisationId, buyer.organisationId);
    const site = await createSite(app, provider);
    const offer = (pricePerGpuHour: string, payPerUseMinPercent: number) =>
      placeOffer(app, provider, site.id, {
        market: market.slug,
        gpus: 2,
        pricePerGpuHour,
        payPerUseMinPercent,
        minLeaseHours: 1,
      });
    highFloor = await offer('18.00', 60);
    lowFloor = await offer('24.00', 10);
    for (const { id } of [highFloor, lowFloor]) {
      await http()
        .put(`/v1/offers/${id}/serving-profiles`)
        .set(provider.auth)
        .send({ profiles: [{ model: MODEL, concurrency: 8, ...FAST }] })
        .expect(200);
    }
    await quiet(app);
  });

  afterEach(() => expectLedgerSound(app, ids));

  afterAll(() => closeExchange(app, { organisations: ids, markets: [market.id], admin }));

  it("passes over an offer whose floor is above the bid's share and clears it with one whose floor it meets", async () => {
    // The quote counts the cheaper offer under TAKE_OR_PAY.
    const { expiresAt: _placementOnly, ...terms } = inferenceBid(20);
    const quoted = await http().post('/v1/bids/quote').set(buyer.auth).send(terms);
    expect({ status: quoted.status, body: quoted.body as unknown }).toMatchObject({ status: 200 });
    expect(quoted.body).toMatchObject({
      fillableGpus: 2,
      excluded: [{ constraint: 'TAKE_OR_PAY', gpus: 2 }],
      inference: { gpus: 2, maxPricePerGpuHour: '27.00' },
    });

    const low = await place(20);
    expect(low).toMatchObject({ gpus: 2, maxPricePerGpuHour: '27.00' });
    await filled(low.id);
    const lowLeases = await prisma.lease.findMany({ where: { bidId: low.id } });
    // Pay-as-ask at the clearing: the 24.00 offer, not the cheaper one its share is below.
    expect(
      lowLeases.map((lease) => ({ offerId: lease.offerId, gpus: lease.gpus, price: lease.pricePerGpuHour })),
    ).toEqual([{ offerId: lowFloor.id, gpus: 2, price: 2400n }]);
    expect(lowLeases[0]).toMatchObject({ inferenceTakeOrPayPercent: 20, payPerUseMinPercent: 10 });
    expect(await prisma.offer.findUniqueOrThrow({ where: { id: highFloor.id } })).toMatchObject({
      leasedGpus: 0,
      status: 'OPEN',
    });
    // Only clearings match in this market.
    expect(await prisma.market.findUniqueOrThrow({ where: { id: market.id } })).toMatchObject({
      matchingMode: 'CALL',
    });

    // A share equal to the floor meets it: the next clearing gives that bid the 18.00 offer.
    const met = await place(60);
    await filled(met.id);
    const metLeases = await prisma.lease.findMany({ where: { bidId: met.id } });
    expect(
      metLeases.map((lease) => ({ offerId: lease.offerId, gpus: lease.gpus, price: lease.pricePerGpuHour })),
    ).toEqual([{ offerId: highFloor.id, gpus: 2, price: 1800n }]);
    expect(metLeases[0]).toMatchObject({ inferenceTakeOrPayPercent: 60, payPerUseMinPercent: 60 });
  });
});
