import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { MAX_LIVE_ORDERS_PER_ORGANISATION } from '@/modules/markets/domain/trading-rules';
import { startHttpApp } from '../support/http-app';
import { ledgerViolations } from '../support/ledger-invariants';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import {
  bidBody,
  eventsOf,
  hoursFromNow,
  marketplaceConfig,
  placeBid,
  removeMarketplaceData,
  withoutRequestId,
} from './marketplace-fixtures';

interface ErrorResponse {
  code: string;
  details?: Record<string, unknown>;
}

describe('buyers: bids', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let buyer: TestTenant;
  let provider: TestTenant;
  const tenants: TestTenant[] = [];
  const fabricated: TestTenant[] = [];
  // A buyer for tests that write orders' states straight to the table (not checked by the ledger).
  const fabricatedBuyer = async (): Promise<TestTenant> => {
    const tenant = await registerOrganisation(app, 'BUYER', { verified: true });
    fabricated.push(tenant);
    return tenant;
  };
  const http = () => request(app.getHttpServer());

  const post = (tenant: TestTenant, body: unknown) =>
    http()
      .post('/v1/bids')
      .set(tenant.auth)
      .set('idempotency-key', randomUUID())
      .send(body as object);

  beforeAll(async () => {
    app = await startHttpApp(marketplaceConfig());
    prisma = app.get(PrismaService);
    buyer = await registerOrganisation(app, 'BUYER', { verified: true });
    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    tenants.push(buyer, provider);
  });

  afterEach(async () => {
    expect(
      await ledgerViolations(
        prisma,
        tenants.map((t) => t.organisationId),
      ),
    ).toEqual([]);
  });

  afterAll(async () => {
    await removeMarketplaceData(
      app,
      [...tenants, ...fabricated].map((t) => t.organisationId),
    );
    await app.close();
  });

  describe('placing bids', () => {
    it('places an OPEN bid with a sequence number and a bid.placed event', async () => {
      const body = bidBody({ expiresAt: hoursFromNow(72) });
      const res = await post(buyer, body).expect(201);
      const bid = res.body as Record<string, unknown> & { id: string };
      expect(bid).toEqual({
        id: expect.any(String) as unknown,
        market: 'nvidia-h800-80gb',
        currency: 'CNY',
        gpus: 8,
        filledGpus: 0,
        remainingGpus: 8,
        maxPricePerGpuHour: '20.00',
        durationHours: 24,
        provinces: ['150000', '520000'],
        minGpusPerSite: 4,
        partialAllowed: true,
        // No reliability minimum given: any provider.
        minProviderScore: null,
        // Not interruptible unless asked: its leases on idle windows must fit a window.
        interruptible: false,
        billingMode: 'PAY_PER_USE',
        expiresAt: body.expiresAt,
        status: 'OPEN',
        createdAt: expect.any(String) as unknown,
        updatedAt: expect.any(String) as unknown,
        cancelledAt: null,
        // A GPU bid: no inference terms.
        inference: null,
        // Not re-placed automatically, and not a re-placement (docs/LEASES.md).
        autoReplacePlanId: null,
        replacesLeaseId: null,
      });
      const row = await prisma.bid.findUniqueOrThrow({ where: { id: bid.id } });
      expect(row.maxPricePerGpuHour).toBe(2000n);
      expect(await eventsOf(app, bid.id)).toEqual([
        {
          type: 'bid.placed',
          aggregateType: 'bid',
          payload: {
            bidId: bid.id,
            organisationId: buyer.organisationId,
            market: 'nvidia-h800-80gb',
            gpus: 8,
            maxPricePerGpuHour: '20.00',
            durationHours: 24,
            expiresAt: body.expiresAt,
            seq: row.seq.toString(),
          },
        },
      ]);
      await http().get(`/v1/bids/${bid.id}`).set(buyer.auth).expect(200, bid);
    });

    it('defaults to anywhere and one GPU per site', async () => {
      const body = bidBody({ partialAllowed: false, billingMode: 'RESERVED' });
      delete body.provinces;
      delete body.minGpusPerSite;
      const res = await post(buyer, body).expect(201);
      expect(res.body).toMatchObject({
        provinces: [],
        minGpusPerSite: 1,
        partialAllowed: false,
        billingMode: 'RESERVED',
      });
      await post(buyer, bidBody({ provinces: [] })).expect(201);
    });

    it('replays a retried placement and refuses the key with another body', async () => {
      const key = randomUUID();
      const body = bidBody();
      const first = await http()
        .post('/v1/bids')
        .set(buyer.auth)
        .set('idempotency-key', key)
        .send(body)
        .expect(201);
      const again = await http()
        .post('/v1/bids')
        .set(buyer.auth)
        .set('idempotency-key', key)
        .send(body)
        .expect(201);
      expect(again.body).toEqual(first.body);
      await http()
        .post('/v1/bids')
        .set(buyer.auth)
        .set('idempotency-key', key)
        .send({ ...body, gpus: 9 })
        .expect(422);
      expect(await eventsOf(app, (first.body as { id: string }).id)).toHaveLength(1);
    });

    it.each([
      ['a JSON number for the price', { maxPricePerGpuHour: 20 }, undefined],
      ['too many decimals', { maxPricePerGpuHour: '20.001' }, 'maxPricePerGpuHour'],
      ['a zero price', { maxPricePerGpuHour: '0' }, 'maxPricePerGpuHour'],
      ['a leading zero', { maxPricePerGpuHour: '020.00' }, 'maxPricePerGpuHour'],
      ['a price over the cap', { maxPricePerGpuHour: '1000000.01' }, 'maxPricePerGpuHour'],
      ['zero GPUs', { gpus: 0 }, undefined],
      ['negative GPUs', { gpus: -1 }, undefined],
      ['GPUs over the cap', { gpus: 10_001 }, undefined],
      ['a zero duration', { durationHours: 0 }, undefined],
      ['a duration over 720 hours', { durationHours: 721 }, undefined],
      ['minGpusPerSite above gpus', { gpus: 4, minGpusPerSite: 5 }, 'minGpusPerSite'],
      ['minGpusPerSite zero', { minGpusPerSite: 0 }, undefined],
      ['an unknown province', { provinces: ['520000', '999900'] }, 'provinces'],
      ['a malformed province', { provinces: ['guizhou'] }, undefined],
      ['a repeated province', { provinces: ['520000', '520000'] }, undefined],
      [
        'too many provinces',
        { provinces: Array.from({ length: 32 }, (_, i) => String(110000 + i * 10000)) },
        undefined,
      ],
      ['provinces as a string', { provinces: '520000' }, undefined],
      ['a nested object in provinces', { provinces: [{ code: '520000' }] }, undefined],
      ['an expiry in the past', { expiresAt: hoursFromNow(-1) }, 'expiresAt'],
      ['an expiry beyond 30 days', { expiresAt: hoursFromNow(24 * 31) }, 'expiresAt'],
      ['an expiry without offset', { expiresAt: '2030-01-01T00:00:00' }, undefined],
      ['an unknown billing mode', { billingMode: 'SPOT' }, undefined],
      ['partialAllowed as a string', { partialAllowed: 'true' }, undefined],
      ['an unknown market', { market: 'nvidia-b200-192gb' }, 'market'],
      ['a missing market', { market: undefined }, undefined],
      ['an unknown field', { priority: 'high' }, undefined],
      ['a server-owned field', { filledGpus: 8 }, undefined],
    ])('refuses %s with 400 and places nothing', async (_case, overrides, field) => {
      const before = await prisma.bid.count({ where: { organisationId: buyer.organisationId } });
      const res = await post(buyer, bidBody(overrides)).expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
      if (field !== undefined) expect((res.body as ErrorResponse).details).toMatchObject({ field });
      expect(await prisma.bid.count({ where: { organisationId: buyer.organisationId } })).toBe(before);
    });

    it('refuses malformed JSON and deeply nested bodies with 400', async () => {
      await http()
        .post('/v1/bids')
        .set(buyer.auth)
        .set('idempotency-key', randomUUID())
        .set('content-type', 'application/json')
        .send('{"market": "nvidia-h800-80gb",')
        .expect(400);
      const deep = `{"market": ${'['.repeat(200)}${']'.repeat(200)}}`;
      await http()
        .post('/v1/bids')
        .set(buyer.auth)
        .set('idempotency-key', randomUUID())
        .set('content-type', 'application/json')
        .send(deep)
        .expect(400);
    });

    it('is for buyers only, with a key that may place orders', async () => {
      await post(provider, bidBody()).expect(403);
      await http().get('/v1/bids').set(provider.auth).expect(403);
      await http().get('/v1/bids').expect(401);
    });

    it(`caps an organisation at ${MAX_LIVE_ORDERS_PER_ORGANISATION} open orders`, async () => {
      const tenant = await registerOrganisation(app, 'BUYER');
      // Its bids are written straight to the table, without holds: not a state the ledger checks.
      fabricated.push(tenant);
      const market = await prisma.market.findUniqueOrThrow({ where: { slug: 'nvidia-h800-80gb' } });
      const now = new Date();
      // Fill up to the cap directly: placing a thousand bids over HTTP would only be slow.
      await prisma.bid.createMany({
        data: Array.from({ length: MAX_LIVE_ORDERS_PER_ORGANISATION }, (_, i) => ({
          organisationId: tenant.organisationId,
          marketId: market.id,
          gpus: 2,
          filledGpus: i === 0 ? 1 : 0,
          maxPricePerGpuHour: 1n,
          durationHours: 1,
          minGpusPerSite: 1,
          partialAllowed: true,
          billingMode: 'RESERVED' as const,
          expiresAt: new Date(now.getTime() + 3_600_000),
          status: i === 0 ? ('PARTIALLY_FILLED' as const) : ('OPEN' as const),
          seq: BigInt(-1 - i),
          createdAt: now,
          updatedAt: now,
        })),
      });
      const res = await post(tenant, bidBody()).expect(409);
      expect(res.body).toMatchObject({ code: 'CONFLICT', details: { reason: 'OPEN_ORDER_LIMIT' } });
      await prisma.bid.updateMany({
        where: { organisationId: tenant.organisationId, status: 'PARTIALLY_FILLED' },
        data: { status: 'FILLED', filledGpus: 2 },
      });
      await post(tenant, bidBody()).expect(201);
    });

    it('holds the cap under concurrent placements: exactly the free places are taken', async () => {
      const tenant = await registerOrganisation(app, 'BUYER');
      fabricated.push(tenant);
      const market = await prisma.market.findUniqueOrThrow({ where: { slug: 'nvidia-h800-80gb' } });
      const now = new Date();
      const free = 3;
      await prisma.bid.createMany({
        data: Array.from({ length: MAX_LIVE_ORDERS_PER_ORGANISATION - free }, (_, i) => ({
          organisationId: tenant.organisationId,
          marketId: market.id,
          gpus: 2,
          maxPricePerGpuHour: 1n,
          durationHours: 1,
          minGpusPerSite: 1,
          partialAllowed: true,
          billingMode: 'RESERVED' as const,
          expiresAt: new Date(now.getTime() + 3_600_000),
          status: 'OPEN' as const,
          seq: BigInt(-1 - i),
          createdAt: now,
          updatedAt: now,
        })),
      });
      const answers = await Promise.all(Array.from({ length: 10 }, () => post(tenant, bidBody())));
      const statuses = answers.map((res) => res.status).sort();
      expect(statuses).toEqual([...Array<number>(free).fill(201), ...Array<number>(10 - free).fill(409)]);
      for (const res of answers.filter((r) => r.status === 409)) {
        expect(res.body).toMatchObject({ details: { reason: 'OPEN_ORDER_LIMIT' } });
      }
      expect(
        await prisma.bid.count({ where: { organisationId: tenant.organisationId, status: 'OPEN' } }),
      ).toBe(MAX_LIVE_ORDERS_PER_ORGANISATION);
    });

    it('refuses bids in a market paused after this process cached its catalogue entry', async () => {
      const slug = 'nvidia-l40s-48gb';
      await post(buyer, bidBody({ market: slug })).expect(201);
      await prisma.market.update({ where: { slug }, data: { status: 'PAUSED' } });
      try {
        const res = await post(buyer, bidBody({ market: slug })).expect(409);
        expect(res.body).toMatchObject({
          code: 'CONFLICT',
          details: { reason: 'MARKET_PAUSED', market: slug },
        });
      } finally {
        await prisma.market.update({ where: { slug }, data: { status: 'ACTIVE' } });
      }
      await post(buyer, bidBody({ market: slug })).expect(201);
    });
  });

  describe('listing bids', () => {
    it('filters by market and status and pages newest first', async () => {
      const tenant = await registerOrganisation(app, 'BUYER');
      tenants.push(tenant);
      const a = await placeBid(app, tenant);
      const b = await placeBid(app, tenant, { market: 'nvidia-h20-96gb' });
      const c = await placeBid(app, tenant);
      await http().post(`/v1/bids/${c.id}/cancel`).set(tenant.auth).expect(200);
      const ids = async (query: string) => {
        const res = await http().get(`/v1/bids${query}`).set(tenant.auth).expect(200);
        return (res.body as { data: Array<{ id: string }> }).data.map((bid) => bid.id);
      };
      expect(await ids('')).toEqual([c.id, b.id, a.id]);
      expect(await ids('?market=nvidia-h20-96gb')).toEqual([b.id]);
      expect(await ids('?status=OPEN')).toEqual([b.id, a.id]);
      expect(await ids('?status=CANCELLED')).toEqual([c.id]);
      const page = await http().get('/v1/bids?limit=1').set(tenant.auth).expect(200);
      const next = await http()
        .get(
          `/v1/bids?limit=2&cursor=${encodeURIComponent((page.body as { nextCursor: string }).nextCursor)}`,
        )
        .set(tenant.auth)
        .expect(200);
      expect(next.body).toEqual({
        data: [expect.objectContaining({ id: b.id }), expect.objectContaining({ id: a.id })],
        nextCursor: null,
      });
      const unknown = await http().get('/v1/bids?market=nvidia-b200-192gb').set(tenant.auth).expect(400);
      expect(unknown.body).toMatchObject({ details: { field: 'market' } });
      await http().get('/v1/bids?cursor=abc.def').set(tenant.auth).expect(400);
    });
  });

  describe('cancelling bids', () => {
    it('cancels once with one event and answers a repeat with the same bid', async () => {
      // Fills written straight to the row, without leases or their holds.
      const owner = await fabricatedBuyer();
      const bid = await placeBid(app, owner);
      await prisma.bid.update({ where: { id: bid.id }, data: { filledGpus: 3, status: 'PARTIALLY_FILLED' } });
      const first = await http().post(`/v1/bids/${bid.id}/cancel`).set(owner.auth).expect(200);
      expect(first.body).toMatchObject({
        status: 'CANCELLED',
        filledGpus: 3,
        cancelledAt: expect.any(String) as unknown,
      });
      const second = await http().post(`/v1/bids/${bid.id}/cancel`).set(owner.auth).expect(200);
      expect(second.body).toEqual(first.body);
      const events = await eventsOf(app, bid.id);
      expect(events.map((e) => e.type)).toEqual(['bid.placed', 'bid.cancelled']);
      expect(events[1]!.payload).toEqual({
        bidId: bid.id,
        organisationId: owner.organisationId,
        market: 'nvidia-h800-80gb',
        gpus: 8,
        filledGpus: 3,
        cancelledGpus: 5,
      });
    });

    it('settles concurrent cancels on one transition and one event', async () => {
      const bid = await placeBid(app, buyer);
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => http().post(`/v1/bids/${bid.id}/cancel`).set(buyer.auth)),
      );
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect((await eventsOf(app, bid.id)).filter((e) => e.type === 'bid.cancelled')).toHaveLength(1);
    });

    it.each(['FILLED', 'EXPIRED'] as const)('refuses a %s bid with 409 and leaves it so', async (status) => {
      const owner = await fabricatedBuyer();
      const bid = await placeBid(app, owner);
      await prisma.bid.update({
        where: { id: bid.id },
        data: { status, filledGpus: status === 'FILLED' ? 8 : 0 },
      });
      const res = await http().post(`/v1/bids/${bid.id}/cancel`).set(owner.auth).expect(409);
      expect(res.body).toMatchObject({ code: 'CONFLICT', details: { status } });
      expect((await prisma.bid.findUniqueOrThrow({ where: { id: bid.id } })).status).toBe(status);
    });

    it('answers unknown and malformed ids with the same 404', async () => {
      const unknown = await http().get(`/v1/bids/${randomUUID()}`).set(buyer.auth).expect(404);
      expect(unknown.body).toMatchObject({ code: 'NOT_FOUND', message: 'Bid not found.' });
      const malformed = await http().post('/v1/bids/%20/cancel').set(buyer.auth).expect(404);
      expect(withoutRequestId(malformed.body)).toEqual(withoutRequestId(unknown.body));
    });
  });
});
