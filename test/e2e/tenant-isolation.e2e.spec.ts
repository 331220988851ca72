import { TransactionHost } from '@nestjs-cls/transactional';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { InvoicesService } from '@/modules/billing/statements/invoices.service';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, signIn, type TestTenant } from '../support/tenants';
import {
  createSite,
  marketplaceConfig,
  placeBid,
  placeOffer,
  removeMarketplaceData,
  withoutRequestId,
} from './marketplace-fixtures';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

interface IsolationCase {
  /** The owner's role: the intruder has the same role, so only ownership can refuse it. */
  role: 'PROVIDER' | 'BUYER';
  /** Creates the object as its owner; returns its id. */
  create(app: NestFastifyApplication, owner: TestTenant): Promise<string>;
  /** A body for routes that take one: valid, so only ownership can refuse it. */
  body?: Record<string, unknown>;
  /** How the owner reads the object back, to prove it unchanged. */
  readBack: (id: string) => string;
  /** Owner-only routes are called by people signed in, not API keys. */
  session?: true;
  /** For routes with more ids than `{id}`: the path for this id (the others filled in). */
  path?: (template: string, id: string) => string;
}

type Tenant = TestTenant & { session: { authorization: string } };

const site = async (app: NestFastifyApplication, owner: TestTenant) => (await createSite(app, owner)).id;
const offer = async (app: NestFastifyApplication, owner: TestTenant) =>
  (await placeOffer(app, owner, await site(app, owner))).id;
const bid = async (app: NestFastifyApplication, owner: TestTenant) => (await placeBid(app, owner)).id;
// A bid with an automatic re-placement plan (docs/LEASES.md), so its plan's routes have one to show.
const bidWithPlan = async (app: NestFastifyApplication, owner: TestTenant) =>
  (await placeBid(app, owner, { autoReplace: { maxCount: 2, budget: '100000.00' } })).id;
const topUp = async (app: NestFastifyApplication, owner: TestTenant) => {
  const res = await request(app.getHttpServer())
    .post('/v1/top-ups')
    .set(owner.auth)
    .set('idempotency-key', randomUUID())
    .send({ amount: '100.00' })
    .expect(201);
  return (res.body as { id: string }).id;
};
/**
 * A SCHEDULED lease between the owner and a counterpart of the other role, written straight to
 * the table (this suite runs no worker to match): only who may see it matters here.
 */
const counterparts: string[] = [];
const leaseOf = async (app: NestFastifyApplication, owner: TestTenant, role: 'PROVIDER' | 'BUYER') => {
  const counterpart = await registerOrganisation(app, role === 'BUYER' ? 'PROVIDER' : 'BUYER', {
    verified: true,
  });
  counterparts.push(counterpart.organisationId);
  const [providerTenant, buyerTenant] = role === 'PROVIDER' ? [owner, counterpart] : [counterpart, owner];
  const siteId = await site(app, providerTenant);
  const offerId = (await placeOffer(app, providerTenant, siteId)).id;
  const bidId = (await placeBid(app, buyerTenant)).id;
  const prisma = app.get(PrismaService);
  const offer = await prisma.offer.findUniqueOrThrow({ where: { id: offerId } });
  const now = new Date();
  const lease = await prisma.lease.create({
    data: {
      marketId: offer.marketId,
      offerId,
      bidId,
      providerOrganisationId: providerTenant.organisationId,
      buyerOrganisationId: buyerTenant.organisationId,
      siteId,
      gpus: 1,
      pricePerGpuHour: offer.pricePerGpuHour,
      durationHours: 1,
      billingMode: 'RESERVED',
      billingBasis: 'GPU_HOURS',
      feeBps: 300,
      payPerUseMinPercent: 0,
      matchEpoch: 0n,
      provisioningDeadline: new Date(now.getTime() + 3_600_000),
      createdAt: now,
      updatedAt: now,
    },
  });
  return lease.id;
};
/**
 * The owner's invoice for such a lease: one settled period written straight to the table, then
 * issued as settlement issues it (in a transaction).
 */
const invoice = async (app: NestFastifyApplication, owner: TestTenant) => {
  const leaseId = await leaseOf(app, owner, 'BUYER');
  const prisma = app.get(PrismaService);
  const lease = await prisma.lease.findUniqueOrThrow({ where: { id: leaseId }, include: { market: true } });
  const startsAt = new Date();
  await prisma.leasePeriod.create({
    data: {
      leaseId,
      index: 0,
      startsAt,
      endsAt: new Date(startsAt.getTime() + 3_600_000),
      gpuSeconds: 3600n,
      basis: 'RESERVED',
      cost: lease.pricePerGpuHour,
      fee: 0n,
      settledAt: startsAt,
    },
  });
  await app
    .get(TransactionHost)
    .withTransaction(() =>
      app
        .get(InvoicesService)
        .issueForLease({ ...lease, market: lease.market.slug, currency: lease.market.currency }, startsAt),
    );
  return (await prisma.invoice.findUniqueOrThrow({ where: { leaseId } })).id;
};
const payout = async (app: NestFastifyApplication, owner: TestTenant) => {
  const session = (owner as Tenant).session;
  await request(app.getHttpServer())
    .put('/v1/bank-account')
    .set(session)
    .send({ beneficiary: 'Owner Co.', bankName: 'ICBC', accountNumber: '1234567890' })
    .expect(200);
  const res = await request(app.getHttpServer())
    .post('/v1/payouts')
    .set(session)
    .set('idempotency-key', randomUUID())
    .send({ amount: '1.00' })
    .expect(201);
  return (res.body as { id: string }).id;
};
const person = (_app: NestFastifyApplication, owner: TestTenant) => Promise.resolve(owner.ownerId);
// A fresh key, never used, so its lastUsedAt cannot change while the case runs.
const apiKey = async (app: NestFastifyApplication, owner: TestTenant) => {
  const session = (owner as Tenant).session;
  const res = await request(app.getHttpServer())
    .post('/v1/api-keys')
    .set(session)
    .set('idempotency-key', randomUUID())
    .send({ name: 'isolation probe' })
    .expect(201);
  return (res.body as { id: string }).id;
};

// A public literal address: registration checks it without DNS, and no worker runs here to send.
const HOOK_URL = 'https://93.184.215.14/hooks/isolation';
const webhook = async (app: NestFastifyApplication, owner: TestTenant) => {
  const res = await request(app.getHttpServer())
    .post('/v1/webhooks')
    .set(owner.auth)
    .set('idempotency-key', randomUUID())
    .send({ url: HOOK_URL })
    .expect(201);
  return (res.body as { id: string }).id;
};
// Deliveries come from the worker; here one is written directly, finished, so replay could act.
const deliveryOf = new Map<string, string>();
const webhookWithDelivery = async (app: NestFastifyApplication, owner: TestTenant) => {
  const endpointId = await webhook(app, owner);
  const delivery = await app.get(PrismaService).webhookDelivery.create({
    data: {
      endpointId,
      organisationId: owner.organisationId,
      eventId: randomUUID(),
      eventSeq: 1n,
      eventType: 'bid.placed',
      body: '{}',
      status: 'SUCCEEDED',
      attempts: 1,
      createdAt: new Date(),
      updatedAt: new Date(),
    },
  });
  deliveryOf.set(endpointId, delivery.id);
  return endpointId;
};
const withDelivery = (template: string, id: string) =>
  template.replace('{id}', id).replace('{deliveryId}', deliveryOf.get(id) ?? randomUUID());

// An offer that declares one serving profile, so a foreign PUT would have something to replace.
const SERVING_PROFILE = {
  model: 'llama-3.3-70b-instruct',
  concurrency: 8,
  promptTokensPerSecondPerGpu: 2600,
  outputTokensPerSecondPerGpu: 400,
  ttftP50Ms: 120,
  ttftP95Ms: 220,
};
const offerServing = async (app: NestFastifyApplication, owner: TestTenant) => {
  const id = await offer(app, owner);
  await request(app.getHttpServer())
    .put(`/v1/offers/${id}/serving-profiles`)
    .set(owner.auth)
    .send({ profiles: [SERVING_PROFILE] })
    .expect(200);
  return id;
};
const withOfferId = (template: string, id: string) => template.replace('{offerId}', id);

/**
 * Every id-taking route of the marketplace, keyed as the OpenAPI document names it. The test
 * below fails when the document lists such a route without a case here (invariant 6).
 */
const CASES: Record<string, IsolationCase> = {
  'GET /v1/sites/{id}': { role: 'PROVIDER', create: site, readBack: (id) => `/v1/sites/${id}` },
  'GET /v1/offers/{id}': { role: 'PROVIDER', create: offer, readBack: (id) => `/v1/offers/${id}` },
  'PATCH /v1/offers/{id}': {
    role: 'PROVIDER',
    create: offer,
    body: { pricePerGpuHour: '1.00', gpus: 1 },
    readBack: (id) => `/v1/offers/${id}`,
  },
  'POST /v1/offers/{id}/cancel': { role: 'PROVIDER', create: offer, readBack: (id) => `/v1/offers/${id}` },
  'GET /v1/offers/{offerId}/serving-profiles': {
    role: 'PROVIDER',
    create: offerServing,
    path: withOfferId,
    readBack: (id) => `/v1/offers/${id}/serving-profiles`,
  },
  'PUT /v1/offers/{offerId}/serving-profiles': {
    role: 'PROVIDER',
    create: offerServing,
    path: withOfferId,
    body: { profiles: [] },
    readBack: (id) => `/v1/offers/${id}/serving-profiles`,
  },
  'GET /v1/bids/{id}': { role: 'BUYER', create: bid, readBack: (id) => `/v1/bids/${id}` },
  'POST /v1/bids/{id}/cancel': { role: 'BUYER', create: bid, readBack: (id) => `/v1/bids/${id}` },
  'GET /v1/bids/{id}/explanation': {
    role: 'BUYER',
    create: bid,
    readBack: (id) => `/v1/bids/${id}/explanation`,
  },
  'GET /v1/bids/{id}/auto-replace': {
    role: 'BUYER',
    create: bidWithPlan,
    readBack: (id) => `/v1/bids/${id}/auto-replace`,
  },
  'POST /v1/bids/{id}/auto-replace/stop': {
    role: 'BUYER',
    create: bidWithPlan,
    readBack: (id) => `/v1/bids/${id}/auto-replace`,
  },
  'POST /v1/leases/{id}/extend': {
    role: 'BUYER',
    create: (app, owner) => leaseOf(app, owner, 'BUYER'),
    body: { hours: 1 },
    readBack: (id) => `/v1/leases/${id}`,
  },
  'GET /v1/leases/{id}/extensions': {
    role: 'PROVIDER',
    create: (app, owner) => leaseOf(app, owner, 'PROVIDER'),
    readBack: (id) => `/v1/leases/${id}/extensions`,
  },
  'POST /v1/leases/{id}/failure-reports': {
    role: 'BUYER',
    create: (app, owner) => leaseOf(app, owner, 'BUYER'),
    body: { detail: 'intruder' },
    readBack: (id) => `/v1/leases/${id}/failure-reports`,
  },
  'POST /v1/leases/{id}/slo-reports': {
    role: 'BUYER',
    create: (app, owner) => leaseOf(app, owner, 'BUYER'),
    body: { periodStart: new Date().toISOString(), availabilityPercent: 50 },
    readBack: (id) => `/v1/leases/${id}/slo`,
  },
  'POST /v1/leases/{id}/slo-disputes': {
    role: 'PROVIDER',
    create: (app, owner) => leaseOf(app, owner, 'PROVIDER'),
    body: { periodStart: new Date().toISOString(), reason: 'intruder' },
    readBack: (id) => `/v1/leases/${id}/slo`,
  },
  'GET /v1/leases/{id}/slo': {
    role: 'BUYER',
    create: (app, owner) => leaseOf(app, owner, 'BUYER'),
    readBack: (id) => `/v1/leases/${id}/slo`,
  },
  'GET /v1/leases/{id}/failure-reports': {
    role: 'PROVIDER',
    create: (app, owner) => leaseOf(app, owner, 'PROVIDER'),
    readBack: (id) => `/v1/leases/${id}/failure-reports`,
  },
  'GET /v1/leases/{id}': {
    role: 'PROVIDER',
    create: (app, owner) => leaseOf(app, owner, 'PROVIDER'),
    readBack: (id) => `/v1/leases/${id}`,
  },
  'POST /v1/leases/{id}/access': {
    role: 'PROVIDER',
    create: (app, owner) => leaseOf(app, owner, 'PROVIDER'),
    body: { endpoint: 'https://inference.example/v1', credentials: [{ name: 'api_key', value: 'k' }] },
    readBack: (id) => `/v1/leases/${id}`,
  },
  'GET /v1/leases/{id}/access': {
    role: 'BUYER',
    create: (app, owner) => leaseOf(app, owner, 'BUYER'),
    readBack: (id) => `/v1/leases/${id}`,
  },
  'POST /v1/leases/{id}/usage': {
    role: 'PROVIDER',
    create: (app, owner) => leaseOf(app, owner, 'PROVIDER'),
    body: { periodStart: '2026-12-01T00:00:00.000Z', gpuSeconds: 1 },
    readBack: (id) => `/v1/leases/${id}`,
  },
  'POST /v1/leases/{id}/tokens': {
    role: 'PROVIDER',
    create: (app, owner) => leaseOf(app, owner, 'PROVIDER'),
    body: { periodStart: '2026-12-01T00:00:00.000Z', promptTokens: 1, outputTokens: 1 },
    readBack: (id) => `/v1/leases/${id}/tokens`,
  },
  'GET /v1/leases/{id}/tokens': {
    role: 'BUYER',
    create: (app, owner) => leaseOf(app, owner, 'BUYER'),
    readBack: (id) => `/v1/leases/${id}/tokens`,
  },
  'POST /v1/leases/{id}/terminate': {
    role: 'BUYER',
    create: (app, owner) => leaseOf(app, owner, 'BUYER'),
    readBack: (id) => `/v1/leases/${id}`,
  },
  'GET /v1/invoices/{id}': { role: 'BUYER', create: invoice, readBack: (id) => `/v1/invoices/${id}` },
  'GET /v1/payouts/{id}': { role: 'BUYER', create: payout, readBack: (id) => `/v1/payouts/${id}` },
  'GET /v1/top-ups/{id}': { role: 'BUYER', create: topUp, readBack: (id) => `/v1/top-ups/${id}` },
  'GET /v1/users/{id}': { role: 'BUYER', create: person, readBack: (id) => `/v1/users/${id}` },
  'POST /v1/users/{id}/disable': {
    role: 'PROVIDER',
    create: person,
    readBack: (id) => `/v1/users/${id}`,
    session: true,
  },
  'GET /v1/api-keys/{id}': {
    role: 'BUYER',
    create: apiKey,
    readBack: (id) => `/v1/api-keys/${id}`,
    session: true,
  },
  'POST /v1/api-keys/{id}/revoke': {
    role: 'PROVIDER',
    create: apiKey,
    readBack: (id) => `/v1/api-keys/${id}`,
    session: true,
  },
  'POST /v1/api-keys/{id}/rotate': {
    role: 'BUYER',
    create: apiKey,
    body: { overlapSeconds: 60 },
    readBack: (id) => `/v1/api-keys/${id}`,
    session: true,
  },
  'GET /v1/webhooks/{id}': { role: 'BUYER', create: webhook, readBack: (id) => `/v1/webhooks/${id}` },
  'PATCH /v1/webhooks/{id}': {
    role: 'PROVIDER',
    create: webhook,
    body: { description: 'intruder', enabled: false },
    readBack: (id) => `/v1/webhooks/${id}`,
  },
  'DELETE /v1/webhooks/{id}': { role: 'BUYER', create: webhook, readBack: (id) => `/v1/webhooks/${id}` },
  'GET /v1/webhooks/{id}/deliveries': {
    role: 'PROVIDER',
    create: webhookWithDelivery,
    readBack: (id) => `/v1/webhooks/${id}/deliveries`,
  },
  'POST /v1/webhooks/{id}/deliveries/{deliveryId}/replay': {
    role: 'BUYER',
    create: webhookWithDelivery,
    readBack: (id) => `/v1/webhooks/${id}/deliveries`,
    path: withDelivery,
  },
};

/** Every tenant route (admin routes act across tenants by design and have their own guard). */
const TENANT_PATHS = /^\/v1\//;

describe('tenant isolation (invariant 6)', () => {
  let app: NestFastifyApplication;
  const tenants: Record<'PROVIDER' | 'BUYER', { owner: Tenant; intruder: Tenant }> = {} as never;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await startHttpApp(marketplaceConfig());
    for (const role of ['PROVIDER', 'BUYER'] as const) {
      const withSession = async (tenant: TestTenant): Promise<Tenant> => ({
        ...tenant,
        session: (await signIn(app, tenant)).auth,
      });
      tenants[role] = {
        owner: await withSession(await registerOrganisation(app, role, { verified: true })),
        intruder: await withSession(await registerOrganisation(app, role, { verified: true })),
      };
    }
  });

  afterAll(async () => {
    await app.get(PrismaService).webhookEndpoint.deleteMany({
      where: {
        organisationId: {
          in: Object.values(tenants).flatMap(({ owner, intruder }) => [
            owner.organisationId,
            intruder.organisationId,
          ]),
        },
      },
    });
    await removeMarketplaceData(
      app,
      Object.values(tenants)
        .flatMap(({ owner, intruder }) => [owner.organisationId, intruder.organisationId])
        .concat(counterparts),
    );
    await app.close();
  });

  it('has a case for every authenticated id-taking route in the OpenAPI document', async () => {
    const doc = await http().get('/docs-json').expect(200);
    type Operation = { security?: Array<Record<string, unknown>> };
    const paths = (doc.body as { paths: Record<string, Record<string, Operation>> }).paths;
    // Public routes (`security: [{}]`, e.g. the book of a market) hold no tenant's object.
    const isPublic = (operation: Operation) =>
      operation.security?.length === 1 && Object.keys(operation.security[0]!).length === 0;
    const idRoutes = Object.entries(paths)
      .filter(([path]) => TENANT_PATHS.test(path) && path.includes('{'))
      .flatMap(([path, operations]) =>
        Object.entries(operations)
          .filter(([, operation]) => !isPublic(operation))
          .map(([method]) => `${method.toUpperCase()} ${path}`),
      );
    expect(idRoutes.length).toBeGreaterThan(0);
    expect(idRoutes.filter((route) => !(route in CASES))).toEqual([]);
  });

  it.each(Object.keys(CASES))(
    '%s: another tenant gets the 404 of a missing id and changes nothing',
    async (route) => {
      const spec = CASES[route]!;
      const [verb, template] = route.split(' ') as [string, string];
      const method = verb.toLowerCase() as Method;
      const { owner, intruder } = tenants[spec.role];
      const id = await spec.create(app, owner);
      const ownerAuth = spec.session ? owner.session : owner.auth;
      const before = await http().get(spec.readBack(id)).set(ownerAuth).expect(200);

      const call = (path: string) => {
        const req = http()
          [method](path)
          .set(spec.session ? intruder.session : intruder.auth)
          .set('idempotency-key', randomUUID());
        return spec.body ? req.send(spec.body) : req;
      };
      const fill = spec.path ?? ((t: string, value: string) => t.replace('{id}', value));
      const foreign = await call(fill(template, id)).expect(404);
      const missing = await call(fill(template, randomUUID())).expect(404);
      expect(withoutRequestId(foreign.body)).toEqual(withoutRequestId(missing.body));
      expect(foreign.body).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });

      await http().get(spec.readBack(id)).set(ownerAuth).expect(200, before.body);
    },
  );

  it('never lists another tenant’s objects', async () => {
    const { owner, intruder } = tenants.PROVIDER;
    const siteId = await site(app, owner);
    const offerId = (await placeOffer(app, owner, siteId)).id;
    const sites = await http().get('/v1/sites').set(intruder.auth).expect(200);
    const offers = await http().get(`/v1/offers?siteId=${siteId}`).set(intruder.auth).expect(200);
    expect(JSON.stringify(sites.body)).not.toContain(siteId);
    expect(offers.body).toEqual({ data: [], nextCursor: null });
    expect(
      JSON.stringify((await http().get('/v1/offers').set(intruder.auth).expect(200)).body),
    ).not.toContain(offerId);
    const buyers = tenants.BUYER;
    const bidId = await bid(app, buyers.owner);
    expect(
      JSON.stringify((await http().get('/v1/bids').set(buyers.intruder.auth).expect(200)).body),
    ).not.toContain(bidId);
  });
});
