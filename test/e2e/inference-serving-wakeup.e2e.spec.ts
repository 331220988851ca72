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
// Below the H100 reference (docs/INFERENCE.md), so sizing uses them as declared: TTFT p95 100 ms.
const FAST = {
  promptTokensPerSecondPerGpu: 3000,
  outputTokensPerSecondPerGpu: 1000,
  ttftP50Ms: 60,
  ttftP95Ms: 100,
};
// TTFTs far below the reference's: flagged PENDING_REVIEW, so not used until an admin accepts.
const FLAGGED = { ...FAST, ttftP50Ms: 20, ttftP95Ms: 40 };

/**
 * A change of what an offer serves wakes its market (docs/INFERENCE.md "Matching"): a resting
 * inference bid that a declaration or an admin's acceptance makes fillable fills at the run the
 * change asks for. The matching sweep runs hourly here, so nothing else would match it: without
 * `offer.serving_changed` among the matching triggers both tests time out.
 *
 * The book: 2 GPUs at 60.00 that serve the model (above every bid's cap) and GPUs at 20.00 that
 * serve nothing until a test declares them. Each bid asks 500 output + 500 prompt tokens/s:
 * 500/3000 + 500/1000 = 0.67 -> 1 GPU, at 7.00 per million tokens = 25.20 per GPU-hour.
 */
describe('inference: a serving profile change wakes the market', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let provider: TestTenant;
  let buyer: TestTenant;
  let admin: TestAdmin;
  let market: { id: string; slug: string };
  let siteId: string;
  const ids: string[] = [];
  const http = () => request(app.getHttpServer());

  const declare = (offerId: string, figures: Record<string, number>) =>
    http()
      .put(`/v1/offers/${offerId}/serving-profiles`)
      .set(provider.auth)
      .send({ profiles: [{ model: MODEL, concurrency: 8, ...figures }] })
      .expect(200);
  const placeInferenceBid = async () => {
    const res = await http()
      .post('/v1/bids')
      .set(buyer.auth)
      .set('idempotency-key', randomUUID())
      .send({
        market: market.slug,
        durationHours: 2,
        partialAllowed: false,
        expiresAt: hoursFromNow(48),
        inference: {
          model: MODEL,
          outputTokensPerSecond: 500,
          promptToOutputRatio: 1,
          ttftP95Ms: 300,
          maxPricePerMillionTokens: '7.00',
        },
      })
      .expect(201);
    return res.body as { id: string; gpus: number; maxPricePerGpuHour: string; status: string };
  };
  const statusOf = async (bidId: string) =>
    ((await http().get(`/v1/bids/${bidId}`).set(buyer.auth).expect(200)).body as { status: string }).status;
  const filled = (bidId: string) =>
    waitFor('the bid to fill', async () => ((await statusOf(bidId)) === 'FILLED' ? true : undefined));
  const servingChanged = (offerId: string) =>
    prisma.outboxEvent.findMany({
      where: { type: 'offer.serving_changed', aggregateId: offerId },
      orderBy: { seq: 'asc' },
    });
  const offer = (gpus: number, pricePerGpuHour: string) =>
    placeOffer(app, provider, siteId, { market: market.slug, gpus, pricePerGpuHour, minLeaseHours: 1 });

  beforeAll(async () => {
    app = await startApp();
    prisma = app.get(PrismaService);
    market = await createInferenceMarket(app);
    admin = await createTestAdmin(app, 'serving-wakeup');
    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    buyer = await registerOrganisation(app, 'BUYER', { verified: true });
    ids.push(provider.organisationId, buyer.organisationId);
    siteId = (await createSite(app, provider)).id;
    const dear = await offer(2, '60.00');
    await declare(dear.id, FAST);
    await quiet(app);
  });

  afterEach(() => expectLedgerSound(app, ids));

  afterAll(() => closeExchange(app, { organisations: ids, markets: [market.id], admin }));

  it("fills a resting inference bid at the run a provider's declaration asks for", async () => {
    const cheap = await offer(1, '20.00');
    const bid = await placeInferenceBid();
    expect(bid).toMatchObject({ gpus: 1, maxPricePerGpuHour: '25.20' });
    // The run the placement asked for found nothing it may take: the cheap GPUs serve nothing.
    await quiet(app);
    expect(await statusOf(bid.id)).toBe('OPEN');

    await declare(cheap.id, FAST);
    await filled(bid.id);
    const lease = await prisma.lease.findFirstOrThrow({ where: { bidId: bid.id } });
    expect({ offerId: lease.offerId, gpus: lease.gpus, price: lease.pricePerGpuHour }).toEqual({
      offerId: cheap.id,
      gpus: 1,
      price: 2000n,
    });
    const [event, ...more] = await servingChanged(cheap.id);
    expect(more).toEqual([]);
    expect(event?.payload).toEqual({
      offerId: cheap.id,
      organisationId: provider.organisationId,
      market: market.slug,
      cause: 'DECLARED',
      serves: [MODEL],
    });
    expect(event?.audience).toEqual([provider.organisationId]);

    // A restated declaration changes nothing and writes nothing.
    await declare(cheap.id, FAST);
    expect(await servingChanged(cheap.id)).toHaveLength(1);
  });

  it("fills a resting inference bid at the run an admin's acceptance of a flagged profile asks for", async () => {
    const cheap = await offer(1, '20.00');
    const bid = await placeInferenceBid();
    await quiet(app);
    expect(await statusOf(bid.id)).toBe('OPEN');

    // Flagged: what the offer serves is unchanged, and the run the declaration asks for takes nothing.
    const declared = await declare(cheap.id, FLAGGED);
    const [profile] = (declared.body as { data: Array<{ id: string; review: string }> }).data;
    expect(profile?.review).toBe('PENDING_REVIEW');
    await quiet(app);
    expect(await statusOf(bid.id)).toBe('OPEN');
    expect((await servingChanged(cheap.id)).map((event) => event.payload)).toEqual([
      expect.objectContaining({ cause: 'DECLARED', serves: [] }),
    ]);

    await http()
      .post(`/admin/inference/serving-profiles/${profile!.id}/review`)
      .set(await admin.signIn())
      .send({ decision: 'ACCEPT', reason: 'Measured on site' })
      .expect(200);
    await filled(bid.id);
    const lease = await prisma.lease.findFirstOrThrow({ where: { bidId: bid.id } });
    expect(lease.offerId).toBe(cheap.id);
    expect((await servingChanged(cheap.id)).map((event) => event.payload)).toEqual([
      expect.objectContaining({ cause: 'DECLARED', serves: [] }),
      expect.objectContaining({ cause: 'REVIEWED', serves: [MODEL] }),
    ]);
  });
});

function startApp(): Promise<NestFastifyApplication> {
  return startHttpApp(
    testConfig({
      RATE_LIMIT_PER_MINUTE: '100000',
      RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
      // Hourly: a bid that fills within the test filled at a run something asked for.
      MATCHING_SWEEP_INTERVAL_MS: '3600000',
    }),
    { api: true, worker: true },
  );
}
