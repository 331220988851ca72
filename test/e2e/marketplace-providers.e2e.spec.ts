import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { MAX_LIVE_ORDERS_PER_ORGANISATION } from '@/modules/markets/domain/trading-rules';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, signIn, type TestTenant } from '../support/tenants';
import {
  createSite,
  eventsOf,
  hoursFromNow,
  marketplaceConfig,
  offerBody,
  placeOffer,
  removeMarketplaceData,
  siteBody,
  withoutRequestId,
} from './marketplace-fixtures';

interface ErrorResponse {
  statusCode: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

describe('providers: sites and offers', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let provider: TestTenant;
  let buyer: TestTenant;
  let siteId: string;
  const tenants: TestTenant[] = [];
  const http = () => request(app.getHttpServer());

  const post = (path: string, tenant: TestTenant, body: unknown) =>
    http()
      .post(path)
      .set(tenant.auth)
      .set('idempotency-key', randomUUID())
      .send(body as object);

  beforeAll(async () => {
    app = await startHttpApp(marketplaceConfig());
    prisma = app.get(PrismaService);
    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    buyer = await registerOrganisation(app, 'BUYER', { verified: true });
    tenants.push(provider, buyer);
    siteId = (await createSite(app, provider)).id;
  });

  afterAll(async () => {
    await removeMarketplaceData(
      app,
      tenants.map((t) => t.organisationId),
    );
    await app.close();
  });

  describe('sites', () => {
    it('registers a site, lists it and gets it', async () => {
      const body = siteBody({ name: '  Gui’an hall 7  ', notes: 'Row 3\nliquid cooled' });
      const created = await post('/v1/sites', provider, body).expect(201);
      const site = created.body as Record<string, unknown> & { id: string };
      expect(site).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
        name: 'Gui’an hall 7',
        provinceCode: '520000',
        cityCode: '520100',
        uptimeTier: 'TIER_III',
        notes: 'Row 3\nliquid cooled',
        createdAt: expect.any(String) as unknown,
        updatedAt: expect.any(String) as unknown,
      });
      await http().get(`/v1/sites/${site.id}`).set(provider.auth).expect(200, site);
      const list = await http().get('/v1/sites').set(provider.auth).expect(200);
      expect((list.body as { data: unknown[] }).data).toContainEqual(site);
    });

    it('replays a retried creation and needs an Idempotency-Key', async () => {
      const body = siteBody();
      const key = randomUUID();
      const first = await http()
        .post('/v1/sites')
        .set(provider.auth)
        .set('idempotency-key', key)
        .send(body)
        .expect(201);
      const again = await http()
        .post('/v1/sites')
        .set(provider.auth)
        .set('idempotency-key', key)
        .send(body)
        .expect(201);
      expect(again.body).toEqual(first.body);
      expect(
        await prisma.site.count({ where: { organisationId: provider.organisationId, name: body.name } }),
      ).toBe(1);
      const missing = await http().post('/v1/sites').set(provider.auth).send(siteBody()).expect(400);
      expect(missing.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    it('refuses a second site with the same name in the organisation', async () => {
      const body = siteBody();
      await post('/v1/sites', provider, body).expect(201);
      const dup = await post('/v1/sites', provider, { ...body, uptimeTier: 'TIER_IV' }).expect(409);
      expect(dup.body).toMatchObject({ code: 'CONFLICT', details: { field: 'name' } });
      // The same name in another organisation is fine.
      const other = await registerOrganisation(app, 'PROVIDER');
      tenants.push(other);
      await post('/v1/sites', other, body).expect(201);
    });

    it.each([
      ['an unknown province', { provinceCode: '999900' }, 'provinceCode'],
      ['an unknown city', { cityCode: '529900' }, 'cityCode'],
      ['a city of another province', { provinceCode: '150000', cityCode: '520100' }, 'cityCode'],
    ])('refuses %s naming the field', async (_case, overrides, field) => {
      const res = await post('/v1/sites', provider, siteBody(overrides)).expect(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { field } });
    });

    it.each([
      ['an empty name', { name: '   ' }],
      ['a name over 120 characters', { name: 'x'.repeat(121) }],
      ['a control character in the name', { name: 'hall\u0007' }],
      ['a line break in the name', { name: 'hall\n2' }],
      ['notes over 2000 characters', { notes: 'n'.repeat(2001) }],
      ['an unknown uptime tier', { uptimeTier: 'TIER_V' }],
      ['a malformed province code', { provinceCode: '52' }],
      ['a number for a code', { provinceCode: 520000 }],
      ['an unknown field', { owner: 'someone' }],
      ['a server-owned field', { id: randomUUID() }],
    ])('refuses %s with 400 and creates nothing', async (_case, overrides) => {
      const before = await prisma.site.count({ where: { organisationId: provider.organisationId } });
      const res = await post('/v1/sites', provider, { ...siteBody(), ...overrides }).expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
      expect(await prisma.site.count({ where: { organisationId: provider.organisationId } })).toBe(before);
    });

    it('is for providers only', async () => {
      await post('/v1/sites', buyer, siteBody()).expect(403);
      await http().get('/v1/sites').set(buyer.auth).expect(403);
      await http().get('/v1/sites').expect(401);
    });

    it('lets a read-only key read but not write, and a signed-in owner do both', async () => {
      const owner = await signIn(app, provider);
      const created = await http()
        .post('/v1/api-keys')
        .set(owner.auth)
        .set('idempotency-key', randomUUID())
        .send({ name: 'dashboard', scopes: ['read'] })
        .expect(201);
      const readOnly = { authorization: `Bearer ${(created.body as { key: string }).key}` };
      await http().get('/v1/sites').set(readOnly).expect(200);
      await http().get('/v1/offers').set(readOnly).expect(200);
      await http().get(`/v1/sites/${siteId}`).set(readOnly).expect(200);
      await http()
        .post('/v1/sites')
        .set(readOnly)
        .set('idempotency-key', randomUUID())
        .send(siteBody())
        .expect(403);
      await http()
        .post('/v1/offers')
        .set(readOnly)
        .set('idempotency-key', randomUUID())
        .send(offerBody(siteId))
        .expect(403);
      await http()
        .post('/v1/sites')
        .set(owner.auth)
        .set('idempotency-key', randomUUID())
        .send(siteBody())
        .expect(201);
    });

    it('pages newest first with a cursor and refuses forged cursors and oversized pages', async () => {
      const tenant = await registerOrganisation(app, 'PROVIDER');
      tenants.push(tenant);
      const a = await createSite(app, tenant);
      const b = await createSite(app, tenant);
      const c = await createSite(app, tenant);
      const first = await http().get('/v1/sites?limit=2').set(tenant.auth).expect(200);
      const page1 = first.body as { data: Array<{ id: string }>; nextCursor: string | null };
      expect(page1.data.map((s) => s.id)).toEqual([c.id, b.id]);
      expect(page1.nextCursor).toEqual(expect.any(String));
      const second = await http()
        .get(`/v1/sites?limit=2&cursor=${encodeURIComponent(page1.nextCursor!)}`)
        .set(tenant.auth)
        .expect(200);
      expect(second.body).toEqual({ data: [expect.objectContaining({ id: a.id })], nextCursor: null });
      const forged = await http()
        .get(`/v1/sites?cursor=${page1.nextCursor!.slice(0, -2)}xx`)
        .set(tenant.auth)
        .expect(400);
      expect(forged.body).toMatchObject({ code: 'BAD_REQUEST' });
      await http().get('/v1/sites?limit=101').set(tenant.auth).expect(400);
      await http().get('/v1/sites?limit=0').set(tenant.auth).expect(400);
    });
  });

  describe('placing offers', () => {
    it('places an OPEN offer with a sequence number and an offer.placed event', async () => {
      const body = offerBody(siteId, { availableFrom: '2026-01-01T08:00:00+08:00' });
      const res = await post('/v1/offers', provider, body).expect(201);
      const offer = res.body as Record<string, unknown> & { id: string };
      expect(offer).toEqual({
        id: expect.any(String) as unknown,
        market: 'nvidia-h100-80gb',
        currency: 'CNY',
        siteId,
        gpus: 16,
        leasedGpus: 0,
        freeGpus: 16,
        pricePerGpuHour: '18.20',
        availableFrom: '2026-01-01T00:00:00.000Z',
        availableUntil: new Date(body.availableUntil as string).toISOString(),
        minLeaseHours: 2,
        payPerUseMinPercent: 30,
        // The default notice for an early end by the provider (docs/LEASES.md).
        terminationNoticeHours: 24,
        // No idle windows: the whole availability window is for sale.
        idleWindows: null,
        nextWindowOpensAt: null,
        windowClosesAt: null,
        // No SLO promised (docs/SLO.md).
        slo: null,
        status: 'OPEN',
        createdAt: expect.any(String) as unknown,
        updatedAt: expect.any(String) as unknown,
        cancelledAt: null,
      });
      const row = await prisma.offer.findUniqueOrThrow({ where: { id: offer.id } });
      expect(row.pricePerGpuHour).toBe(1820n);
      expect(row.seq > 0n).toBe(true);
      const events = await eventsOf(app, offer.id);
      expect(events).toEqual([
        {
          type: 'offer.placed',
          aggregateType: 'offer',
          payload: {
            offerId: offer.id,
            organisationId: provider.organisationId,
            market: 'nvidia-h100-80gb',
            siteId,
            gpus: 16,
            pricePerGpuHour: '18.20',
            availableFrom: '2026-01-01T00:00:00.000Z',
            availableUntil: offer.availableUntil,
            idleWindows: null,
            seq: row.seq.toString(),
          },
        },
      ]);
      await http().get(`/v1/offers/${offer.id}`).set(provider.auth).expect(200, offer);
    });

    it('applies the documented defaults and gives later offers higher sequence numbers', async () => {
      const body = offerBody(siteId);
      delete body.minLeaseHours;
      delete body.payPerUseMinPercent;
      const first = await placeOffer(app, provider, siteId);
      const res = await post('/v1/offers', provider, body).expect(201);
      expect(res.body).toMatchObject({ minLeaseHours: 1, payPerUseMinPercent: 0 });
      const [a, b] = await Promise.all([
        prisma.offer.findUniqueOrThrow({ where: { id: first.id } }),
        prisma.offer.findUniqueOrThrow({ where: { id: (res.body as { id: string }).id } }),
      ]);
      expect(b.seq > a.seq).toBe(true);
    });

    it.each([
      ['a JSON number for the price', { pricePerGpuHour: 18.2 }, undefined],
      ['too many decimals', { pricePerGpuHour: '18.205' }, 'pricePerGpuHour'],
      ['a zero price', { pricePerGpuHour: '0.00' }, 'pricePerGpuHour'],
      ['a negative price', { pricePerGpuHour: '-1.00' }, 'pricePerGpuHour'],
      ['an exponent', { pricePerGpuHour: '1e3' }, 'pricePerGpuHour'],
      ['a price over the cap', { pricePerGpuHour: '1000000.01' }, 'pricePerGpuHour'],
      ['zero GPUs', { gpus: 0 }, undefined],
      ['negative GPUs', { gpus: -4 }, undefined],
      ['fractional GPUs', { gpus: 1.5 }, undefined],
      ['GPUs as a string', { gpus: '16' }, undefined],
      ['GPUs over the cap', { gpus: 10_001 }, undefined],
      [
        'an end before the start',
        { availableFrom: hoursFromNow(10), availableUntil: hoursFromNow(5) },
        'availableUntil',
      ],
      [
        'an end in the past',
        { availableFrom: hoursFromNow(-10), availableUntil: hoursFromNow(-5) },
        'availableUntil',
      ],
      ['an end beyond the horizon', { availableUntil: hoursFromNow(24 * 367) }, 'availableUntil'],
      [
        'a window shorter than the minimum lease',
        { availableUntil: hoursFromNow(1), minLeaseHours: 2 },
        'availableUntil',
      ],
      ['a time without offset', { availableFrom: '2027-01-01T08:00:00' }, undefined],
      ['a date without time', { availableFrom: '2027-01-01' }, undefined],
      ['an impossible date', { availableFrom: '2027-02-30T08:00:00Z' }, undefined],
      ['minLeaseHours over 720', { minLeaseHours: 721 }, undefined],
      ['payPerUseMinPercent over 100', { payPerUseMinPercent: 101 }, undefined],
      ['an unknown market', { market: 'nvidia-b200-192gb' }, 'market'],
      ['a malformed market', { market: 'NVIDIA H100' }, undefined],
      ['a malformed site id', { siteId: 'site-1' }, undefined],
      ['a site that does not exist', { siteId: randomUUID() }, 'siteId'],
      ['an unknown field', { colour: 'green' }, undefined],
      ['a server-owned field', { status: 'FILLED' }, undefined],
      ['a nested object where a string goes', { market: { slug: 'nvidia-h100-80gb' } }, undefined],
    ])('refuses %s with 400 and places nothing', async (_case, overrides, field) => {
      const before = await prisma.offer.count({ where: { organisationId: provider.organisationId } });
      const res = await post('/v1/offers', provider, offerBody(siteId, overrides)).expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
      if (field !== undefined) expect((res.body as ErrorResponse).details).toMatchObject({ field });
      expect(await prisma.offer.count({ where: { organisationId: provider.organisationId } })).toBe(before);
    });

    it('answers another organisation’s site exactly like a missing one', async () => {
      const other = await registerOrganisation(app, 'PROVIDER');
      tenants.push(other);
      const foreignSite = await createSite(app, other);
      const foreign = await post('/v1/offers', provider, offerBody(foreignSite.id)).expect(400);
      const missing = await post('/v1/offers', provider, offerBody(randomUUID())).expect(400);
      expect(withoutRequestId(foreign.body)).toEqual(withoutRequestId(missing.body));
      expect(await prisma.offer.count({ where: { siteId: foreignSite.id } })).toBe(0);
    });

    it('refuses new offers in a paused market with 409', async () => {
      await prisma.market.update({ where: { slug: 'nvidia-l40s-48gb' }, data: { status: 'PAUSED' } });
      try {
        const res = await post(
          '/v1/offers',
          provider,
          offerBody(siteId, { market: 'nvidia-l40s-48gb' }),
        ).expect(409);
        expect(res.body).toMatchObject({ code: 'CONFLICT', details: { reason: 'MARKET_PAUSED' } });
      } finally {
        await prisma.market.update({ where: { slug: 'nvidia-l40s-48gb' }, data: { status: 'ACTIVE' } });
      }
    });

    it('is for providers only', async () => {
      await post('/v1/offers', buyer, offerBody(siteId)).expect(403);
    });

    it(`caps an organisation at ${MAX_LIVE_ORDERS_PER_ORGANISATION} open orders`, async () => {
      const tenant = await registerOrganisation(app, 'PROVIDER');
      tenants.push(tenant);
      const site = await createSite(app, tenant);
      const market = await prisma.market.findUniqueOrThrow({ where: { slug: 'nvidia-h100-80gb' } });
      const now = new Date();
      // Fill up to the cap directly: placing a thousand offers over HTTP would only be slow.
      await prisma.offer.createMany({
        data: Array.from({ length: MAX_LIVE_ORDERS_PER_ORGANISATION }, (_, i) => ({
          organisationId: tenant.organisationId,
          marketId: market.id,
          siteId: site.id,
          gpus: 1,
          pricePerGpuHour: 100_000n,
          availableFrom: now,
          availableUntil: new Date(now.getTime() + 3_600_000 * 24),
          minLeaseHours: 1,
          payPerUseMinPercent: 0,
          status: i === 0 ? ('FILLED' as const) : ('OPEN' as const),
          seq: BigInt(-1 - i),
          createdAt: now,
          updatedAt: now,
        })),
      });
      const res = await post('/v1/offers', tenant, offerBody(site.id)).expect(409);
      expect(res.body).toMatchObject({
        code: 'CONFLICT',
        details: { reason: 'OPEN_ORDER_LIMIT', limit: MAX_LIVE_ORDERS_PER_ORGANISATION },
      });
      // A terminal offer frees a place.
      const one = await prisma.offer.findFirstOrThrow({ where: { organisationId: tenant.organisationId } });
      await http().post(`/v1/offers/${one.id}/cancel`).set(tenant.auth).expect(200);
      await post('/v1/offers', tenant, offerBody(site.id)).expect(201);
    });
  });

  describe('listing offers', () => {
    it('filters by market, site and status and pages newest first', async () => {
      const tenant = await registerOrganisation(app, 'PROVIDER');
      tenants.push(tenant);
      const siteA = await createSite(app, tenant);
      const siteB = await createSite(app, tenant);
      const h100 = await placeOffer(app, tenant, siteA.id);
      const h800 = await placeOffer(app, tenant, siteB.id, { market: 'nvidia-h800-80gb' });
      const cancelled = await placeOffer(app, tenant, siteA.id);
      await http().post(`/v1/offers/${cancelled.id}/cancel`).set(tenant.auth).expect(200);
      const ids = async (query: string) => {
        const res = await http().get(`/v1/offers${query}`).set(tenant.auth).expect(200);
        return (res.body as { data: Array<{ id: string }> }).data.map((o) => o.id);
      };
      expect(await ids('')).toEqual([cancelled.id, h800.id, h100.id]);
      expect(await ids('?market=nvidia-h800-80gb')).toEqual([h800.id]);
      expect(await ids(`?siteId=${siteA.id}`)).toEqual([cancelled.id, h100.id]);
      expect(await ids('?status=OPEN')).toEqual([h800.id, h100.id]);
      expect(await ids('?status=CANCELLED&market=nvidia-h100-80gb')).toEqual([cancelled.id]);
      expect(await ids(`?siteId=${randomUUID()}`)).toEqual([]);
      const page = await http().get('/v1/offers?limit=2').set(tenant.auth).expect(200);
      const { nextCursor } = page.body as { nextCursor: string };
      const rest = await http()
        .get(`/v1/offers?limit=2&cursor=${encodeURIComponent(nextCursor)}`)
        .set(tenant.auth)
        .expect(200);
      expect((rest.body as { data: Array<{ id: string }>; nextCursor: null }).data.map((o) => o.id)).toEqual([
        h100.id,
      ]);
    });

    it('refuses an unknown market filter with 400 and bad filters', async () => {
      const res = await http().get('/v1/offers?market=nvidia-b200-192gb').set(provider.auth).expect(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'market' } });
      await http().get('/v1/offers?status=LIVE').set(provider.auth).expect(400);
      await http().get('/v1/offers?siteId=abc').set(provider.auth).expect(400);
      await http().get('/v1/offers?colour=green').set(provider.auth).expect(400);
    });
  });

  describe('amending offers', () => {
    it('reprices with a new sequence number and records offer.amended', async () => {
      const offer = await placeOffer(app, provider, siteId);
      const before = await prisma.offer.findUniqueOrThrow({ where: { id: offer.id } });
      const res = await http()
        .patch(`/v1/offers/${offer.id}`)
        .set(provider.auth)
        .send({ pricePerGpuHour: '17.5' })
        .expect(200);
      expect(res.body).toMatchObject({ id: offer.id, pricePerGpuHour: '17.50', gpus: 16, status: 'OPEN' });
      const after = await prisma.offer.findUniqueOrThrow({ where: { id: offer.id } });
      expect(after.seq > before.seq).toBe(true);
      const events = await eventsOf(app, offer.id);
      expect(events.map((e) => e.type)).toEqual(['offer.placed', 'offer.amended']);
      expect(events[1]!.payload).toEqual({
        offerId: offer.id,
        organisationId: provider.organisationId,
        market: 'nvidia-h100-80gb',
        gpus: 16,
        pricePerGpuHour: '17.50',
        seq: after.seq.toString(),
        previous: { gpus: 16, pricePerGpuHour: '18.20', seq: before.seq.toString() },
      });
    });

    it('lowers GPUs keeping the sequence number, not below leased GPUs, never up', async () => {
      const offer = await placeOffer(app, provider, siteId);
      // A lease holds 6 GPUs (the matching engine's job; set directly here).
      await prisma.offer.update({
        where: { id: offer.id },
        data: { leasedGpus: 6, status: 'PARTIALLY_FILLED' },
      });
      const before = await prisma.offer.findUniqueOrThrow({ where: { id: offer.id } });
      const lowered = await http()
        .patch(`/v1/offers/${offer.id}`)
        .set(provider.auth)
        .send({ gpus: 10 })
        .expect(200);
      expect(lowered.body).toMatchObject({
        gpus: 10,
        leasedGpus: 6,
        freeGpus: 4,
        status: 'PARTIALLY_FILLED',
      });
      expect((await prisma.offer.findUniqueOrThrow({ where: { id: offer.id } })).seq).toBe(before.seq);
      const below = await http()
        .patch(`/v1/offers/${offer.id}`)
        .set(provider.auth)
        .send({ gpus: 5 })
        .expect(409);
      expect(below.body).toMatchObject({ code: 'CONFLICT', details: { field: 'gpus', leasedGpus: 6 } });
      const up = await http()
        .patch(`/v1/offers/${offer.id}`)
        .set(provider.auth)
        .send({ gpus: 11 })
        .expect(400);
      expect(up.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'gpus' } });
      const full = await http()
        .patch(`/v1/offers/${offer.id}`)
        .set(provider.auth)
        .send({ gpus: 6 })
        .expect(200);
      expect(full.body).toMatchObject({ gpus: 6, freeGpus: 0, status: 'FILLED' });
      expect((await eventsOf(app, offer.id)).map((e) => e.type)).toEqual([
        'offer.placed',
        'offer.amended',
        'offer.amended',
      ]);
    });

    it('changes nothing and records nothing when the request restates the offer', async () => {
      const offer = await placeOffer(app, provider, siteId);
      const res = await http()
        .patch(`/v1/offers/${offer.id}`)
        .set(provider.auth)
        .send({ pricePerGpuHour: '18.20', gpus: 16 })
        .expect(200);
      expect(res.body).toEqual(offer);
      expect((await eventsOf(app, offer.id)).map((e) => e.type)).toEqual(['offer.placed']);
    });

    it.each([
      ['an empty body', {}],
      ['only nulls', { gpus: null, pricePerGpuHour: null }],
      ['a JSON number price', { pricePerGpuHour: 17.5 }],
      ['too many decimals', { pricePerGpuHour: '17.555' }],
      ['zero GPUs', { gpus: 0 }],
      ['a field that cannot be amended', { availableUntil: hoursFromNow(100) }],
      ['the market', { market: 'nvidia-h800-80gb' }],
    ])('refuses %s with 400 and changes nothing', async (_case, body) => {
      const offer = await placeOffer(app, provider, siteId);
      const res = await http().patch(`/v1/offers/${offer.id}`).set(provider.auth).send(body).expect(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
      await http().get(`/v1/offers/${offer.id}`).set(provider.auth).expect(200, offer);
    });

    it('refuses cancelled and expired offers with 409', async () => {
      const offer = await placeOffer(app, provider, siteId);
      await http().post(`/v1/offers/${offer.id}/cancel`).set(provider.auth).expect(200);
      const cancelled = await http()
        .patch(`/v1/offers/${offer.id}`)
        .set(provider.auth)
        .send({ gpus: 1 })
        .expect(409);
      expect(cancelled.body).toMatchObject({ code: 'CONFLICT', details: { status: 'CANCELLED' } });
      const other = await placeOffer(app, provider, siteId);
      await prisma.offer.update({ where: { id: other.id }, data: { status: 'EXPIRED' } });
      await http()
        .patch(`/v1/offers/${other.id}`)
        .set(provider.auth)
        .send({ pricePerGpuHour: '1.00' })
        .expect(409);
    });
  });

  describe('cancelling offers', () => {
    it('cancels once, records one event, and answers a repeat with the same offer', async () => {
      const offer = await placeOffer(app, provider, siteId);
      await prisma.offer.update({
        where: { id: offer.id },
        data: { leasedGpus: 4, status: 'PARTIALLY_FILLED' },
      });
      const first = await http().post(`/v1/offers/${offer.id}/cancel`).set(provider.auth).expect(200);
      expect(first.body).toMatchObject({
        id: offer.id,
        status: 'CANCELLED',
        gpus: 16,
        leasedGpus: 4,
        cancelledAt: expect.any(String) as unknown,
      });
      const second = await http().post(`/v1/offers/${offer.id}/cancel`).set(provider.auth).expect(200);
      expect(second.body).toEqual(first.body);
      const events = await eventsOf(app, offer.id);
      expect(events.map((e) => e.type)).toEqual(['offer.placed', 'offer.cancelled']);
      expect(events[1]!.payload).toEqual({
        offerId: offer.id,
        organisationId: provider.organisationId,
        market: 'nvidia-h100-80gb',
        gpus: 16,
        leasedGpus: 4,
        withdrawnGpus: 12,
      });
    });

    it('settles concurrent cancels on one transition and one event', async () => {
      const offer = await placeOffer(app, provider, siteId);
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => http().post(`/v1/offers/${offer.id}/cancel`).set(provider.auth)),
      );
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      const events = await eventsOf(app, offer.id);
      expect(events.filter((e) => e.type === 'offer.cancelled')).toHaveLength(1);
    });

    it('refuses an expired offer with 409 and leaves it expired', async () => {
      const offer = await placeOffer(app, provider, siteId);
      await prisma.offer.update({ where: { id: offer.id }, data: { status: 'EXPIRED' } });
      const res = await http().post(`/v1/offers/${offer.id}/cancel`).set(provider.auth).expect(409);
      expect(res.body).toMatchObject({ code: 'CONFLICT', details: { status: 'EXPIRED' } });
      expect((await prisma.offer.findUniqueOrThrow({ where: { id: offer.id } })).status).toBe('EXPIRED');
      expect((await eventsOf(app, offer.id)).map((e) => e.type)).toEqual(['offer.placed']);
    });

    it('answers unknown and malformed ids with the same 404', async () => {
      const unknown = await http().post(`/v1/offers/${randomUUID()}/cancel`).set(provider.auth).expect(404);
      expect(unknown.body).toMatchObject({ code: 'NOT_FOUND', message: 'Offer not found.' });
      const malformed = await http().post('/v1/offers/not-a-uuid/cancel').set(provider.auth).expect(404);
      expect(withoutRequestId(malformed.body)).toEqual(withoutRequestId(unknown.body));
      const get = await http().get('/v1/offers/not-a-uuid').set(provider.auth).expect(404);
      expect(withoutRequestId(get.body)).toEqual(withoutRequestId(unknown.body));
    });
  });
});
