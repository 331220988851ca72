import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { createAdminWithCli } from '../support/admin-cli';
import { startHttpApp } from '../support/http-app';
import { ledgerViolations } from '../support/ledger-invariants';
import { registerOrganisation, signIn, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import {
  createSite,
  createTestMarket,
  hoursFromNow,
  placeOffer,
  removeMarketplaceData,
  removeTestMarket,
} from './marketplace-fixtures';

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
  let admin: { authorization: string };
  let adminUserId: string;
  let market: { id: string; slug: string };
  let siteId: string;
  const ids: string[] = [];
  const adminEmail = `admin-${randomUUID()}@serving-wakeup.test`;
  const adminPassword = 'serving wakeup admin passphrase';
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
  // Every published event's trigger has run and no matching job waits or runs.
  const settled = () =>
    waitFor('the exchange to settle', async () => {
      const producer = app.get(JobProducer);
      let busy = await prisma.outboxEvent.count({ where: { publishedAt: null } });
      for (const queue of ['events', 'matching'] as const) {
        const counts = await producer.queue(queue).getJobCounts('wait', 'active', 'prioritized');
        busy += (counts.wait ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0);
      }
      return busy === 0 ? true : undefined;
    });
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
    market = await createTestMarket(app);
    await prisma.marketGpuSpec.create({
      data: {
        marketId: market.id,
        memoryBandwidthGbPerS: 3350,
        fp16Tflops: 989.4,
        fp8Tflops: 1978.9,
        int8Tops: 1978.9,
      },
    });
    const created = await createAdminWithCli(adminEmail, adminPassword);
    if (created.code !== 0) throw new Error(`admin CLI failed: ${created.stderr}`);
    admin = (await signIn(app, { email: adminEmail, password: adminPassword })).auth;
    adminUserId = (await prisma.user.findUniqueOrThrow({ where: { email: adminEmail } })).id;
    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    buyer = await registerOrganisation(app, 'BUYER', { verified: true });
    ids.push(provider.organisationId, buyer.organisationId);
    siteId = (await createSite(app, provider)).id;
    const dear = await offer(2, '60.00');
    await declare(dear.id, FAST);
    await settled();
  });

  afterEach(async () => {
    await settled();
    expect(await ledgerViolations(prisma, ids)).toEqual([]);
  });

  afterAll(async () => {
    await settled();
    await removeMarketplaceData(app, ids);
    await removeTestMarket(app, market.id);
    await prisma.auditLogEntry.deleteMany({ where: { actorUserId: adminUserId } });
    await prisma.user.deleteMany({ where: { email: adminEmail } });
    await app.close();
  });

  it("fills a resting inference bid at the run a provider's declaration asks for", async () => {
    const cheap = await offer(1, '20.00');
    const bid = await placeInferenceBid();
    expect(bid).toMatchObject({ gpus: 1, maxPricePerGpuHour: '25.20' });
    // The run the placement asked for found nothing it may take: the cheap GPUs serve nothing.
    await settled();
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
    await settled();
    expect(await statusOf(bid.id)).toBe('OPEN');

    // Flagged: what the offer serves is unchanged, and the run the declaration asks for takes nothing.
    const declared = await declare(cheap.id, FLAGGED);
    const [profile] = (declared.body as { data: Array<{ id: string; review: string }> }).data;
    expect(profile?.review).toBe('PENDING_REVIEW');
    await settled();
    expect(await statusOf(bid.id)).toBe('OPEN');
    expect((await servingChanged(cheap.id)).map((event) => event.payload)).toEqual([
      expect.objectContaining({ cause: 'DECLARED', serves: [] }),
    ]);

    await http()
      .post(`/admin/inference/serving-profiles/${profile!.id}/review`)
      .set(admin)
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
