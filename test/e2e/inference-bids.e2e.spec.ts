import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { startHttpApp } from '../support/http-app';
import { expectLedgerSound } from '../support/leases';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { closeExchange, createInferenceMarket } from './lease-fixtures';
import { createSite, hoursFromNow, placeOffer } from './marketplace-fixtures';

const MODEL = 'qwen2.5-7b-instruct';
// Declared below the reference (H100 figures, docs/INFERENCE.md), so sizing uses them as declared;
// TTFT p95 is the higher of declared and reference (87 ms): 100 ms.
const FAST = { promptTokensPerSecondPerGpu: 3000, outputTokensPerSecondPerGpu: 1000 };
const SLOW = { promptTokensPerSecondPerGpu: 1500, outputTokensPerSecondPerGpu: 500 };
const LATENCY = { ttftP50Ms: 60, ttftP95Ms: 100 };

/**
 * Inference bids over HTTP, API and worker in one process (docs/INFERENCE.md "Inference bids"),
 * in a market of the suite's own with H100 figures. The book: 2 GPUs at 30.00 in Guizhou and 4 at
 * 32.00 in Ulanqab that serve the model (the second at half the speed), 8 at 20.00 that serve
 * nothing, and 2 at 10.00 whose TTFT p95 is 900 ms.
 *
 * Demand 2,000 output + 2,000 prompt tokens/s (14.4 M tokens an hour): the fast offer sizes it
 * into 2000/3000 + 2000/1000 = 2.67 -> 3 GPUs, the slow one into 1.33 + 4 = 5.33 -> 6. Three GPUs
 * exist only at the fast offer (2): the bid is sized into 6 and spans both sites.
 */
describe('inference bids', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let provider: TestTenant;
  let buyer: TestTenant;
  let market: { id: string; slug: string };
  const ids: string[] = [];
  const http = () => request(app.getHttpServer());

  const inferenceBid = (inference: Record<string, unknown> = {}, terms: Record<string, unknown> = {}) => ({
    market: market.slug,
    durationHours: 24,
    partialAllowed: false,
    inference: {
      model: MODEL,
      outputTokensPerSecond: 2000,
      promptToOutputRatio: 1,
      ttftP95Ms: 300,
      maxPricePerMillionTokens: '14.00',
      ...inference,
    },
    ...terms,
  });
  const quote = (body: Record<string, unknown>) => http().post('/v1/bids/quote').set(buyer.auth).send(body);
  const place = (body: Record<string, unknown>) =>
    http()
      .post('/v1/bids')
      .set(buyer.auth)
      .set('idempotency-key', randomUUID())
      .send({ expiresAt: hoursFromNow(48), ...body });
  const declare = (offerId: string, figures: Record<string, number>) =>
    http()
      .put(`/v1/offers/${offerId}/serving-profiles`)
      .set(provider.auth)
      .send({ profiles: [{ model: MODEL, concurrency: 8, ...LATENCY, ...figures }] })
      .expect(200);
  const bidsOfBuyer = () => prisma.bid.count({ where: { organisationId: buyer.organisationId } });

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
    // The H100's figures, so the reference is docs/INFERENCE.md's.
    market = await createInferenceMarket(app);
    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    buyer = await registerOrganisation(app, 'BUYER', { verified: true });
    ids.push(provider.organisationId, buyer.organisationId);
    const guizhou = await createSite(app, provider, { provinceCode: '520000', cityCode: '520100' });
    const ulanqab = await createSite(app, provider, { provinceCode: '150000', cityCode: '150900' });
    const offer = (siteId: string, gpus: number, pricePerGpuHour: string) =>
      placeOffer(app, provider, siteId, { market: market.slug, gpus, pricePerGpuHour, minLeaseHours: 1 });
    const fast = await offer(guizhou.id, 2, '30.00');
    const slow = await offer(ulanqab.id, 4, '32.00');
    await offer(guizhou.id, 8, '20.00');
    const laggy = await offer(guizhou.id, 2, '10.00');
    await declare(fast.id, FAST);
    await declare(slow.id, SLOW);
    await declare(laggy.id, { ...FAST, ttftP50Ms: 300, ttftP95Ms: 900 });
  });

  afterEach(() => expectLedgerSound(app, ids));

  afterAll(() => closeExchange(app, { organisations: ids, markets: [market.id] }));

  it('quotes the sizing, the price per million tokens and what each constraint removed', async () => {
    // 7.00 per million tokens is 16.80 per GPU-hour on 6 GPUs: below every ask that serves.
    const low = await quote(inferenceBid({ maxPricePerMillionTokens: '7.00' })).expect(200);
    expect(low.body).toMatchObject({
      market: market.slug,
      fillableGpus: 0,
      excluded: [
        { constraint: 'MODEL', gpus: 8 },
        { constraint: 'TTFT_SLO', gpus: 2 },
        { constraint: 'PRICE', gpus: 6 },
      ],
      inference: {
        model: MODEL,
        gpus: 6,
        gpusPerReplica: 1,
        minGpusPerSite: 1,
        outputTokensPerSecond: 2000,
        promptTokensPerSecond: 2000,
        maxPricePerGpuHour: '16.80',
        // floor((2 x 30.00 + 4 x 32.00) / 6) = 31.33 per GPU-hour x 6 GPUs / 14.4 M tokens
        expectedPricePerMillionTokens: '13.05',
        supplyGpus: 6,
      },
    });

    const res = await quote(inferenceBid()).expect(200);
    expect(res.body).toMatchObject({
      fillableGpus: 6,
      vwap: '31.33',
      sites: [
        { province: '520000', gpus: 2 },
        { province: '150000', gpus: 4 },
      ],
      excluded: [
        { constraint: 'MODEL', gpus: 8 },
        { constraint: 'TTFT_SLO', gpus: 2 },
      ],
      inference: { gpus: 6, maxPricePerGpuHour: '33.60', expectedPricePerMillionTokens: '13.05' },
    });

    // A bid that names no market takes the one its quote ranks best: the only one that serves.
    const { market: _named, ...anywhere } = inferenceBid();
    const ranked = await quote(anywhere).expect(200);
    expect(ranked.body).toMatchObject({ market: market.slug, fillableGpus: 6 });
    expect((ranked.body as { inference: { markets: unknown[] } }).inference.markets[0]).toEqual({
      market: market.slug,
      gpus: 6,
      fillableGpus: 6,
      expectedPricePerMillionTokens: '13.05',
    });
    expect(await bidsOfBuyer()).toBe(0);
  });

  it('refuses a model nobody serves with 422 and the nearest alternatives', async () => {
    const res = await quote(inferenceBid({ model: 'llama-3.1-8b-instruct' })).expect(422);
    expect(res.body).toMatchObject({ code: 'MODEL_NOT_SERVED' });
    const { alternatives } = (res.body as { details: { alternatives: Array<Record<string, unknown>> } })
      .details;
    expect(alternatives).toContainEqual({
      change: 'MODEL',
      model: MODEL,
      market: market.slug,
      provinces: [],
      outputTokensPerSecond: 2000,
      promptTokensPerSecond: 2000,
      gpus: 6,
      fillableGpus: 6,
      expectedPricePerMillionTokens: '13.05',
    });

    // Served, but not in the buyer's provinces: the alternative is anywhere.
    const region = await place(inferenceBid({}, { provinces: ['110000'] })).expect(422);
    expect(region.body).toMatchObject({ code: 'MODEL_NOT_SERVED' });
    expect((region.body as { details: { alternatives: unknown[] } }).details.alternatives).toContainEqual(
      expect.objectContaining({ change: 'REGION', model: MODEL, provinces: [], gpus: 6 }),
    );
    expect(await bidsOfBuyer()).toBe(0);
  });

  it('refuses a throughput nobody can reach with the most the supply sustains', async () => {
    const res = await place(inferenceBid({ outputTokensPerSecond: 100_000 })).expect(422);
    expect(res.body).toMatchObject({ code: 'THROUGHPUT_UNREACHABLE' });
    // 2,250 + 2,250 tokens/s need 0.75 + 2.25 = 3 GPUs at the fast offer or 1.5 + 4.5 = 6 at the slow one.
    expect((res.body as { details: { alternatives: unknown[] } }).details.alternatives).toContainEqual(
      expect.objectContaining({
        change: 'THROUGHPUT',
        model: MODEL,
        outputTokensPerSecond: 2250,
        promptTokensPerSecond: 2250,
        gpus: 6,
        fillableGpus: 6,
      }),
    );
    expect(await bidsOfBuyer()).toBe(0);
  });

  it.each([
    ['NaN throughput', { outputTokensPerSecond: 'NaN' }],
    ['negative throughput', { outputTokensPerSecond: -5 }],
    ['zero throughput', { outputTokensPerSecond: 0 }],
    ['fractional throughput', { outputTokensPerSecond: 1.5 }],
    ['throughput over the cap', { outputTokensPerSecond: 10_000_001 }],
    ['negative prompt rate', { promptToOutputRatio: undefined, promptTokensPerSecond: -1 }],
    ['ratio over the cap', { promptToOutputRatio: 1000.01 }],
    ['both prompt rate and ratio', { promptTokensPerSecond: 10 }],
    ['neither prompt rate nor ratio', { promptToOutputRatio: undefined }],
    ['zero SLO', { ttftP95Ms: 0 }],
    ['SLO over the cap', { ttftP95Ms: 600_001 }],
    ['zero price cap', { maxPricePerMillionTokens: '0.00' }],
    ['price cap over the cap', { maxPricePerMillionTokens: '1000000.01' }],
    ['price cap as a number', { maxPricePerMillionTokens: 14 }],
    ['unknown model', { model: 'no-such-model' }],
  ])('answers 400 and writes nothing for %s', async (_case, inference) => {
    const body = inferenceBid(inference);
    const res = await place(body).expect(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    await quote(body).expect(400);
    expect(await bidsOfBuyer()).toBe(0);
  });

  it.each([
    ['GPU terms beside inference terms', { gpus: 6 }],
    ['a billing mode', { billingMode: 'RESERVED' }],
    ['a duration over 720 h', { durationHours: 721 }],
    ['zero duration', { durationHours: 0 }],
  ])('answers 400 and writes nothing for %s', async (_case, terms) => {
    await place(inferenceBid({}, terms)).expect(400);
    expect(await bidsOfBuyer()).toBe(0);
  });

  it('places the bid sized, holds as a GPU bid, and carries the terms to its leases', async () => {
    const res = await place(inferenceBid()).expect(201);
    const bid = res.body as Record<string, unknown> & { id: string };
    expect(bid).toMatchObject({
      market: market.slug,
      gpus: 6,
      maxPricePerGpuHour: '33.60',
      minGpusPerSite: 1,
      billingMode: 'RESERVED',
      inference: {
        model: MODEL,
        outputTokensPerSecond: 2000,
        promptTokensPerSecond: 2000,
        ttftP95Ms: 300,
        maxPricePerMillionTokens: '14.00',
        // The lot the bid was sized in: one replica of this model on an H100 is one GPU.
        gpusPerReplica: 1,
      },
    });
    const filled = await waitFor('the bid to fill', async () => {
      const now = (await http().get(`/v1/bids/${bid.id}`).set(buyer.auth).expect(200)).body as {
        status: string;
      };
      return now.status === 'FILLED' ? now : undefined;
    });
    expect(filled).toMatchObject({ filledGpus: 6, inference: { model: MODEL } });

    const leases = await prisma.lease.findMany({
      where: { bidId: bid.id },
      orderBy: { pricePerGpuHour: 'asc' },
    });
    expect(
      leases.map((lease) => ({
        gpus: lease.gpus,
        price: lease.pricePerGpuHour,
        perMillion: lease.inferencePricePerMillionTokens,
        output: lease.inferenceOutputTokensPerSecond,
        prompt: lease.inferencePromptTokensPerSecond,
      })),
    ).toEqual([
      // 30.00 x 6 GPUs x 1,000,000 / 14,400,000 tokens = 12.50; 2/6 of 2,000 tokens/s = 666
      { gpus: 2, price: 3000n, perMillion: 1250n, output: 666, prompt: 666 },
      // 32.00 x 6 x 1,000,000 / 14,400,000 = 13.333 -> 13.33; 4/6 of 2,000 = 1,333
      { gpus: 4, price: 3200n, perMillion: 1333n, output: 1333, prompt: 1333 },
    ]);
    const lease = await http().get(`/v1/leases/${leases[0]!.id}`).set(buyer.auth).expect(200);
    expect((lease.body as { inference: unknown }).inference).toEqual({
      model: MODEL,
      pricePerMillionTokens: '12.50',
      outputTokensPerSecond: 666,
      promptTokensPerSecond: 666,
      // Per-token billing's minimum: 50% of 1,332 tokens/s x 3,600 = 2,397,600 tokens, 29.97 an hour.
      billing: 'PER_TOKEN',
      takeOrPayPercent: 50,
      minimumTokensPerHour: '2397600',
      minimumChargePerHour: '29.97',
    });

    // The events state the inference terms beside the sized GPU terms (docs/EVENTS.md).
    const placed = await prisma.outboxEvent.findFirstOrThrow({
      where: { type: 'bid.placed', aggregateId: bid.id },
    });
    expect(placed.payload).toMatchObject({ gpus: 6, maxPricePerGpuHour: '33.60' });
    expect((placed.payload as { inference: unknown }).inference).toEqual({
      model: MODEL,
      outputTokensPerSecond: 2000,
      promptTokensPerSecond: 2000,
      ttftP95Ms: 300,
      maxPricePerMillionTokens: '14.00',
      takeOrPayPercent: 50,
      // 50% of 4,000 tokens/s x 3,600
      minimumTokensPerHour: '7200000',
    });
    const created = await prisma.outboxEvent.findMany({
      where: { type: 'lease.created', aggregateId: { in: leases.map((lease) => lease.id) } },
    });
    const createdOf = (leaseId: string) => created.find((event) => event.aggregateId === leaseId)?.payload;
    expect(createdOf(leases[0]!.id)).toMatchObject({
      gpus: 2,
      pricePerGpuHour: '30.00',
      inference: {
        model: MODEL,
        pricePerMillionTokens: '12.50',
        outputTokensPerSecond: 666,
        promptTokensPerSecond: 666,
        ttftP95Ms: 300,
        // The reference's replica of this model on an H100 is one GPU.
        gpusPerReplica: 1,
        takeOrPayPercent: 50,
        minimumTokensPerHour: '2397600',
      },
    });
    expect(createdOf(leases[1]!.id)).toMatchObject({
      gpus: 4,
      inference: {
        pricePerMillionTokens: '13.33',
        outputTokensPerSecond: 1333,
        minimumTokensPerHour: '4798800',
      },
    });

    // The database keeps the terms whole even against a wrong statement.
    await expect(
      prisma.$executeRawUnsafe(`UPDATE bids SET inference_ttft_p95_ms = NULL WHERE id = $1::uuid`, bid.id),
    ).rejects.toThrow(/inference terms/);
    await expect(
      prisma.$executeRawUnsafe(
        `UPDATE leases SET inference_price_per_million_tokens = -1 WHERE id = $1::uuid`,
        leases[0]!.id,
      ),
    ).rejects.toThrow(/inference terms/);
  });

  it('states no inference terms in the events of a GPU bid and its lease', async () => {
    // 1 GPU at up to 20.00: a GPU bid takes GPUs whatever they serve.
    const res = await place({
      market: market.slug,
      gpus: 1,
      maxPricePerGpuHour: '20.00',
      durationHours: 1,
      partialAllowed: false,
      billingMode: 'RESERVED',
    }).expect(201);
    const bidId = (res.body as { id: string }).id;
    const lease = await waitFor('the GPU bid to fill', () =>
      prisma.lease.findFirst({ where: { bidId } }).then((row) => row ?? undefined),
    );
    const placed = await prisma.outboxEvent.findFirstOrThrow({
      where: { type: 'bid.placed', aggregateId: bidId },
    });
    expect(placed.payload).toMatchObject({ gpus: 1, maxPricePerGpuHour: '20.00' });
    expect(placed.payload).not.toHaveProperty('inference');
    const created = await prisma.outboxEvent.findFirstOrThrow({
      where: { type: 'lease.created', aggregateId: lease.id },
    });
    expect(created.payload).toMatchObject({ gpus: 1, bidId });
    expect(created.payload).not.toHaveProperty('inference');
  });
});
