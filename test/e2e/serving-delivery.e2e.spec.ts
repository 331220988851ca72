import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { createTestAdmin, type TestAdmin } from '../support/admin-cli';
import { startExchangeOnClock } from '../support/http-app';
import { clockOf, expectLedgerSound, HOUR, leaseOfBid, MINUTE } from '../support/leases';
import { tradingPair } from '../support/tenants';
import { closeExchange, createInferenceMarket, startLease } from './lease-fixtures';
import { createSite, placeOffer } from './marketplace-fixtures';

const MODEL = 'qwen2.5-7b-instruct';

type Body = Record<string, unknown>;
const body = (res: { body: unknown }): Body => res.body as Body;

/**
 * Delivered usage confirms a declaration (docs/INFERENCE.md "Delivery confirms a declaration")
 * over HTTP on the controllable clock. Qwen2.5 7B on the test market's GPU has a reference of
 * 25,983.4 prompt and 1,020.3 output tokens/s per GPU (replicas of 1, concurrency 8); the provider
 * declares 26,000 and 1,400 (1.37 x the output reference, inside the review band), so sizing
 * trusts 1,020.3 output tokens/s until delivery shows more. Demand of 2,000 + 2,000 tokens/s sizes
 * into 2,000 / 25,983.4 + 2,000 / 1,020.3 = 2.04 -> 3 GPUs. Each period of the 3-GPU lease then
 * serves 14,000,000 prompt and 14,000,000 output tokens: (14e6 / 25,983.4 + 14e6 / 1,020.3) /
 * 10,800 = 1.3204 x the reference. Two periods agreed by both sides and a third decided by an
 * admin confirm 1.3204, so the output figure trusted is 1,020.3 x 1.3204 = 1,347.2 and the same
 * demand sizes into 2,000 / 26,000 + 2,000 / 1,347.2 = 1.56 -> 2 GPUs.
 */
describe('serving delivery: agreed and decided token counts confirm a declaration, and sizing trusts it', () => {
  let app: NestFastifyApplication;
  let market: { id: string; slug: string };
  let provider: Awaited<ReturnType<typeof tradingPair>>['provider'];
  let buyer: Awaited<ReturnType<typeof tradingPair>>['buyer'];
  let adminUser: TestAdmin;
  const ids: string[] = [];
  const http = () => request(app.getHttpServer());
  const clock = () => clockOf(app);
  const at = (ms: number) => new Date(clock().now().getTime() + ms).toISOString();
  const state = (tenant: { auth: Record<string, string> }, leaseId: string, counts: Body) =>
    http().post(`/v1/leases/${leaseId}/tokens`).set(tenant.auth).send(counts);

  const terms = () => ({
    market: market.slug,
    durationHours: 4,
    partialAllowed: false,
    inference: {
      model: MODEL,
      outputTokensPerSecond: 2000,
      promptTokensPerSecond: 2000,
      ttftP95Ms: 300,
      maxPricePerMillionTokens: '14.00',
    },
  });
  const quotedGpus = async (): Promise<number> =>
    (body(await http().post('/v1/bids/quote').set(buyer.auth).send(terms()).expect(200)).inference as Body)
      .gpus as number;

  beforeAll(async () => {
    app = await startExchangeOnClock({ SETTLEMENT_GRACE_MINUTES: '90' });
    market = await createInferenceMarket(app);
    ({ provider, buyer } = await tradingPair(app, ids));
    adminUser = await createTestAdmin(app, 'delivery');
  });

  afterEach(() => expectLedgerSound(app, ids));

  afterAll(() => closeExchange(app, { organisations: ids, markets: [market.id], admin: adminUser }));

  it('trusts 1.32 x the reference after three confirmed periods, and sizes the same demand into 2 GPUs, not 3', async () => {
    const site = await createSite(app, provider, { provinceCode: '520000', cityCode: '520100' });
    const offer = await placeOffer(app, provider, site.id, {
      market: market.slug,
      gpus: 8,
      pricePerGpuHour: '30.00',
      minLeaseHours: 1,
      availableFrom: at(-HOUR),
      availableUntil: at(30 * 24 * HOUR),
    });
    const profiles = `/v1/offers/${offer.id}/serving-profiles`;
    const declaration = {
      model: MODEL,
      concurrency: 8,
      promptTokensPerSecondPerGpu: 26000,
      outputTokensPerSecondPerGpu: 1400,
      ttftP50Ms: 60,
      ttftP95Ms: 100,
    };
    const declared = body(
      await http()
        .put(profiles)
        .set(provider.auth)
        .send({ profiles: [declaration] })
        .expect(200),
    );
    expect((declared.data as Body[])[0]).toMatchObject({
      review: 'NOT_FLAGGED',
      reference: { outputTokensPerSecondPerGpu: 1020.3, promptTokensPerSecondPerGpu: 25983.4 },
      delivery: { deliveredScales: [], confirmedScale: 1 },
    });
    expect(await quotedGpus()).toBe(3);

    const bid = body(
      await http()
        .post('/v1/bids')
        .set(buyer.auth)
        .set('idempotency-key', randomUUID())
        .send({ ...terms(), expiresAt: at(24 * HOUR) })
        .expect(201),
    );
    const lease = await leaseOfBid(app, bid.id as string);
    expect(lease.gpus).toBe(3);
    const start = new Date(await startLease(app, provider, lease.id)).getTime();
    const period = (i: number) => new Date(start + i * HOUR).toISOString();
    const served = { promptTokens: 14_000_000, outputTokens: 14_000_000 };

    // Periods 0 and 1: both sides agree (the buyer within the tolerance, a little lower: the
    // lower of each figure is what both stand behind).
    for (const i of [0, 1]) {
      await clock().advance(HOUR + (i === 0 ? MINUTE : 0));
      await state(provider, lease.id, { periodStart: period(i), ...served }).expect(200);
      await state(buyer, lease.id, {
        periodStart: period(i),
        promptTokens: served.promptTokens,
        outputTokens: served.outputTokens - 1000,
      }).expect(200);
    }
    const two = (body(await http().get(profiles).set(provider.auth).expect(200)).data as Body[])[0]!;
    const twoScales = (two.delivery as Body).deliveredScales as number[];
    expect(twoScales).toHaveLength(2);
    expect(twoScales[0]).toBeCloseTo((14e6 / 25983.4 + (14e6 - 1000) / 1020.3) / 10_800, 6);
    expect((two.delivery as Body).confirmedScale).toBe(1);
    // Two periods are not a record yet: the same demand still takes 3 GPUs.
    expect(await quotedGpus()).toBe(3);

    // Period 2: the buyer counts half; an admin decides the provider's counts stand.
    await clock().advance(HOUR);
    await state(provider, lease.id, { periodStart: period(2), ...served }).expect(200);
    const disputed = body(
      await state(buyer, lease.id, {
        periodStart: period(2),
        promptTokens: 7_000_000,
        outputTokens: 7_000_000,
      }).expect(200),
    );
    const admin = await adminUser.signIn();
    await http()
      .post(`/admin/disputes/${(disputed.dispute as Body).id as string}/resolve`)
      .set(admin)
      .send({ note: 'gateway logs show the provider served it', usage: served })
      .expect(200);

    const three = (body(await http().get(profiles).set(provider.auth).expect(200)).data as Body[])[0]!;
    const delivery = three.delivery as Body;
    const scale = (14e6 / 25983.4 + 14e6 / 1020.3) / 10_800;
    expect((delivery.deliveredScales as number[])[0]).toBeCloseTo(scale, 6);
    expect(delivery.confirmedScale as number).toBeCloseTo(twoScales[1]!, 9);
    expect(delivery.confirmedScale as number).toBeGreaterThan(1.32);
    expect(await quotedGpus()).toBe(2);
    // Sizing trusts more: the offer's serving changed, which wakes its market's matching.
    const changed = await app.get(PrismaService).outboxEvent.findMany({
      where: { aggregateId: offer.id, type: 'offer.serving_changed' },
      orderBy: { seq: 'asc' },
    });
    expect(changed.map((event) => (event.payload as Body).cause)).toEqual(['DECLARED', 'DELIVERED']);

    // A new concurrency is another reference: the record starts again.
    const redeclared = body(
      await http()
        .put(profiles)
        .set(provider.auth)
        .send({ profiles: [{ ...declaration, concurrency: 16 }] })
        .expect(200),
    );
    expect((redeclared.data as Body[])[0]).toMatchObject({
      delivery: { deliveredScales: [], confirmedScale: 1 },
    });
  });
  it('bounds an inference lease’s token reports by its own model’s profile, not the fastest model the offer serves', async () => {
    // One offer serving Qwen2.5 7B (1,400 output tokens/s per GPU) and Llama 3.3 70B (400): a
    // lease for the 70B cannot report what only the 7B could serve on its GPUs.
    const site = await createSite(app, provider, { provinceCode: '520000', cityCode: '520100' });
    const offer = await placeOffer(app, provider, site.id, {
      market: market.slug,
      gpus: 8,
      pricePerGpuHour: '30.00',
      minLeaseHours: 1,
      availableFrom: at(-HOUR),
      availableUntil: at(30 * 24 * HOUR),
    });
    await http()
      .put(`/v1/offers/${offer.id}/serving-profiles`)
      .set(provider.auth)
      .send({
        profiles: [
          {
            model: MODEL,
            concurrency: 8,
            promptTokensPerSecondPerGpu: 26000,
            outputTokensPerSecondPerGpu: 1400,
            ttftP50Ms: 60,
            ttftP95Ms: 100,
          },
          {
            model: 'llama-3.3-70b-instruct',
            concurrency: 8,
            promptTokensPerSecondPerGpu: 2600,
            outputTokensPerSecondPerGpu: 400,
            ttftP50Ms: 120,
            ttftP95Ms: 220,
          },
        ],
      })
      .expect(200);
    const bid = body(
      await http()
        .post('/v1/bids')
        .set(buyer.auth)
        .set('idempotency-key', randomUUID())
        .send({
          market: market.slug,
          durationHours: 2,
          partialAllowed: false,
          expiresAt: at(24 * HOUR),
          inference: {
            model: 'llama-3.3-70b-instruct',
            outputTokensPerSecond: 100,
            promptTokensPerSecond: 100,
            ttftP95Ms: 300,
            maxPricePerMillionTokens: '200.00',
          },
        })
        .expect(201),
    );
    const lease = await leaseOfBid(app, bid.id as string);
    expect(lease.offerId).toBe(offer.id);
    const start = await startLease(app, provider, lease.id);
    await clock().advance(HOUR + MINUTE);
    // The 70B's bound for the hour: 400 x GPUs x 3,600 output tokens, plus the 10% headroom.
    const bound = Math.floor(400 * lease.gpus * 3600 * 1.1);
    const over = await state(provider, lease.id, {
      periodStart: start,
      promptTokens: 0,
      outputTokens: bound + 1000,
    });
    expect(over.status).toBe(422);
    expect(body(over)).toMatchObject({ code: 'USAGE_ABOVE_CAPACITY', details: { basis: 'DECLARED' } });
    await state(provider, lease.id, {
      periodStart: start,
      promptTokens: 0,
      outputTokens: bound - 1000,
    }).expect(200);
  });
});
