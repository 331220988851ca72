import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { Clock } from '@/infra/clock/clock';
import type { ControllableClock } from '@/infra/clock/controllable-clock';
import { SettlementService } from '@/modules/billing/settlement/settlement.service';
import { startHttpApp } from '../support/http-app';
import { connectSse, type SseConnection } from '../support/sse-client';
import { registerOrganisation, signIn, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { handOverAccess, leaseBetween, quiet } from './lease-fixtures';
import {
  createSite,
  createTestMarket,
  removeMarketplaceData,
  removeTestMarket,
} from './marketplace-fixtures';

/** Field names that are the provider's alone (docs/EVENTS.md, "Who sees whom"). */
const PROVIDER_ONLY_FIELD = /^(providerOrganisationId|offerId|siteId|fee.*|.*[pP]roceeds)$/;

/**
 * The one exception, and why: a market's fee is the exchange's published tariff (GET
 * /v1/markets), the same for everyone; a lease's fee and proceeds are what the rule protects.
 */
const PUBLIC_TARIFF: Record<string, readonly string[]> = { 'GET /v1/markets': ['feeBps'] };

interface Leak {
  where: string;
  path: string;
  what: string;
}

/** Every field name and string value in a JSON document that names the provider's side. */
function leaksIn(
  where: string,
  doc: unknown,
  secrets: ReadonlyMap<string, string>,
  allowed: readonly string[] = [],
): Leak[] {
  const leaks: Leak[] = [];
  const walk = (value: unknown, path: string): void => {
    if (typeof value === 'string') {
      for (const [id, name] of secrets)
        if (value.includes(id)) leaks.push({ where, path, what: `value is ${name}` });
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${path}[${i}]`));
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (PROVIDER_ONLY_FIELD.test(key) && !allowed.includes(key))
          leaks.push({ where, path: `${path}.${key}`, what: 'field' });
        walk(item, `${path}.${key}`);
      }
    }
  };
  walk(doc, '$');
  return leaks;
}

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  example?: unknown;
  schema?: { example?: unknown; enum?: unknown[]; default?: unknown };
}

/**
 * A buyer after a match, walking every GET route the OpenAPI document lists (as tenant
 * isolation walks the id routes), plus its live stream and webhook deliveries: nothing names
 * the provider's organisation, offer or site, nor a fee or proceeds. Budget: ~15 s.
 */
describe('who sees whom: a buyer never learns the provider’s ids, fee or proceeds', () => {
  let app: NestFastifyApplication;
  let market: { id: string; slug: string };
  let provider: TestTenant;
  let buyer: TestTenant;
  let receiver: Server;
  let stream: SseConnection;
  const hooks: string[] = [];
  const secrets = new Map<string, string>();
  const ids: Record<string, string> = {};
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
        MATCHING_SWEEP_INTERVAL_MS: '3600000',
        LEASE_SWEEP_INTERVAL_MS: '3600000',
        WEBHOOK_ALLOW_LOOPBACK: 'true',
        CLOCK: 'controllable',
      }),
      { api: true, worker: true },
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        hooks.push(body);
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    market = await createTestMarket(app);
    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    buyer = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor: 1_000_000n });
    const site = await createSite(app, provider, { provinceCode: '520000', cityCode: '520100' });
    const hook = await http()
      .post('/v1/webhooks')
      .set(buyer.auth)
      .set('idempotency-key', randomUUID())
      .send({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` })
      .expect(201);
    stream = await connectSse(`${await app.getUrl()}/v1/events/stream`, buyer.auth);

    const lease = await leaseBetween(
      app,
      { provider, buyer, siteId: site.id },
      { market: market.slug, gpus: 1, price: '10.00', durationHours: 2, billingMode: 'RESERVED' },
    );
    await handOverAccess(app, provider, lease.id).expect(200);
    // Half an hour of use, so the cut period is worth settling and invoicing.
    await app.get<Clock, ControllableClock>(Clock).advance(30 * 60_000);
    await http()
      .post(`/v1/leases/${lease.id}/terminate`)
      .set(provider.auth)
      .send({ mode: 'IMMEDIATE' })
      .expect(200);
    await quiet(app);
    // Its one (cut) period settled, so the buyer has an invoice for it.
    await app.get(SettlementService).settleLease(lease.id);
    const invoices = await http().get('/v1/invoices').set(buyer.auth).expect(200);
    const topUp = await http()
      .post('/v1/top-ups')
      .set(buyer.auth)
      .set('idempotency-key', randomUUID())
      .send({ amount: '100.00' })
      .expect(201);
    const keys = await http()
      .get('/v1/api-keys')
      .set((await signIn(app, buyer)).auth)
      .expect(200);
    secrets.set(provider.organisationId, 'the provider’s organisation id');
    secrets.set(lease.offerId, 'the offer id');
    secrets.set(site.id, 'the site id');
    Object.assign(ids, {
      lease: lease.id,
      bid: lease.bidId,
      offer: lease.offerId,
      webhook: (hook.body as { id: string }).id,
      invoice: (invoices.body as { data: Array<{ id: string }> }).data[0]?.id ?? 'none',
      topUp: (topUp.body as { id: string }).id,
      apiKey: (keys.body as { data: Array<{ id: string }> }).data[0]?.id ?? 'none',
      user: buyer.ownerId,
    });
  });

  afterAll(async () => {
    stream?.close();
    await quiet(app);
    await removeMarketplaceData(app, [provider.organisationId, buyer.organisationId]);
    await removeTestMarket(app, market.id);
    await new Promise((resolve) => receiver.close(resolve));
    await app.close();
  });

  it('the provider sees its own side; the buyer the provider by name and the site by place', async () => {
    const mine = await http().get(`/v1/leases/${ids.lease}`).set(provider.auth).expect(200);
    expect(mine.body).toMatchObject({
      view: 'provider',
      offerId: ids.offer,
      providerOrganisationId: provider.organisationId,
      feeBps: 250,
      buyer: { name: expect.any(String) as string },
    });
    expect(mine.body).not.toHaveProperty('buyerOrganisationId');
    expect(mine.body).not.toHaveProperty('bidId');
    const theirs = await http().get(`/v1/leases/${ids.lease}`).set(buyer.auth).expect(200);
    expect(theirs.body).toMatchObject({
      view: 'buyer',
      bidId: ids.bid,
      provider: { name: expect.any(String) as string },
      site: { province: { code: '520000' }, city: { code: '520100' } },
      terminationReason: 'PROVIDER_REQUEST',
    });
    // Before a trade, listings show the provider by the same display name and its public
    // reliability record (counts only: the lease ended early above is one), and no ids.
    const listings = await http().get(`/v1/offers/listings?market=${market.slug}`).expect(200);
    expect((listings.body as { data: unknown[] }).data).toEqual([
      expect.objectContaining({
        provider: {
          ...(theirs.body as { provider: object }).provider,
          reliability: expect.objectContaining({
            components: expect.objectContaining({
              delivery: {
                delivered: 0,
                endedWithNoticeByProvider: 0,
                endedEarlyByProvider: 1,
                deliveredShare: 0,
              },
            }) as unknown,
          }) as unknown,
        },
        province: expect.objectContaining({ code: '520000' }) as unknown,
      }),
    ]);
  });

  it('walks every GET route of the OpenAPI document as the buyer and finds nothing of the provider’s', async () => {
    const doc = (await http().get('/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, { parameters?: Parameter[] }>>;
    };
    // Path parameters are the buyer's own objects; the market is the one the trade was in.
    const fill: Record<string, string> = {
      '/v1/leases/{id}': ids.lease!,
      '/v1/leases/{id}/access': ids.lease!,
      '/v1/leases/{id}/tokens': ids.lease!,
      '/v1/leases/{id}/extensions': ids.lease!,
      '/v1/leases/{id}/failure-reports': ids.lease!,
      '/v1/leases/{id}/slo': ids.lease!,
      '/v1/bids/{id}': ids.bid!,
      '/v1/bids/{id}/auto-replace': ids.bid!,
      '/v1/bids/{id}/explanation': ids.bid!,
      '/v1/webhooks/{id}': ids.webhook!,
      '/v1/webhooks/{id}/deliveries': ids.webhook!,
      '/v1/invoices/{id}': ids.invoice!,
      '/v1/top-ups/{id}': ids.topUp!,
      '/v1/api-keys/{id}': ids.apiKey!,
      '/v1/users/{id}': ids.user!,
    };
    const unfilled: string[] = [];
    const leaks: Leak[] = [];
    const answered: Record<string, number> = {};
    const failures: string[] = [];
    for (const [template, operations] of Object.entries(doc.paths)) {
      const get = operations.get;
      // Admin routes are for admins; the stream is read below, as a stream.
      if (!get || !template.startsWith('/v1/') || template === '/v1/events/stream') continue;
      let path = template.replace('{market}', market.slug);
      if (path.includes('{')) {
        const id = fill[template];
        if (id === undefined) {
          // An id route of a kind a buyer cannot own (sites, offers, payouts it has none of):
          // GET it with a random id to check its 4xx body too.
          unfilled.push(template);
          path = path.replace(/\{[^}]+\}/g, randomUUID());
        } else path = path.replace('{id}', id);
      }
      const query: Record<string, unknown> = {};
      for (const p of get.parameters ?? []) {
        if (p.in !== 'query' || !p.required) continue;
        query[p.name] = p.example ?? p.schema?.example ?? p.schema?.enum?.[0] ?? p.schema?.default;
      }
      const route = `GET ${template}`;
      for (const [who, auth] of [
        ['the buyer', buyer.auth],
        ['anyone', {}],
      ] as const) {
        const res = await http().get(path).query(query).set(auth);
        if (res.status >= 500) failures.push(`${route} (${who}): ${res.status}`);
        if (who === 'the buyer') answered[route] = res.status;
        const body: unknown = res.type === 'application/json' ? res.body : res.text;
        leaks.push(...leaksIn(`${route} (${who}, ${res.status})`, body, secrets, PUBLIC_TARIFF[route]));
      }
    }
    // A quote is public data read by a POST: one that fills from the provider's offer, and one
    // that names why it is excluded.
    for (const price of ['10.00', '5.00']) {
      const quote = await http()
        .post('/v1/bids/quote')
        .set(buyer.auth)
        .send({
          market: market.slug,
          gpus: 1,
          maxPricePerGpuHour: price,
          durationHours: 1,
          partialAllowed: true,
          billingMode: 'RESERVED',
        })
        .expect(200);
      leaks.push(...leaksIn(`POST /v1/bids/quote at ${price}`, quote.body, secrets));
    }
    expect(failures).toEqual([]);
    expect(leaks).toEqual([]);
    // The walk reached the routes that matter with real answers.
    expect(answered).toMatchObject({
      'GET /v1/leases': 200,
      'GET /v1/leases/{id}': 200,
      'GET /v1/leases/{id}/access': 200,
      'GET /v1/bids/{id}': 200,
      'GET /v1/offers/listings': 200,
      'GET /v1/markets/{market}/book': 200,
      'GET /v1/markets/{market}/stats': 200,
      'GET /v1/billing/entries': 200,
      'GET /v1/webhooks/{id}/deliveries': 200,
      'GET /v1/invoices/{id}': 200,
    });
    expect(Object.keys(answered).length).toBeGreaterThan(20);
    // Routes with ids the buyer has none of; a new kind of id route must be looked at here.
    // (Serving profiles hang off offers: provider-only, like the offer itself.)
    expect(unfilled.sort()).toEqual([
      '/v1/offers/{id}',
      '/v1/offers/{offerId}/serving-profiles',
      '/v1/payouts/{id}',
      '/v1/sites/{id}',
    ]);
  });

  it('the buyer’s live stream and webhook deliveries carry nothing of the provider’s', async () => {
    const types = ['lease.created', 'lease.started', 'lease.terminated'];
    const events = await waitFor('the lease events on the buyer’s stream', () =>
      Promise.resolve(
        types.every((t) => stream.events.some((e) => e.event === t)) ? stream.events : undefined,
      ),
    );
    const bodies = await waitFor('the lease events at the buyer’s webhook', () =>
      Promise.resolve(types.every((t) => hooks.some((h) => h.includes(`"${t}"`))) ? hooks : undefined),
    );
    const leaks = [
      ...events.flatMap((e) => leaksIn(`stream ${e.event ?? ''}`, JSON.parse(e.data), secrets)),
      ...bodies.flatMap((b, i) => leaksIn(`webhook ${i}`, JSON.parse(b), secrets)),
    ];
    expect(leaks).toEqual([]);
  });
});
