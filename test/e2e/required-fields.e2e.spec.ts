import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { createAdminWithCli } from '../support/admin-cli';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, signIn } from '../support/tenants';
import {
  bidBody,
  hoursFromNow,
  marketplaceConfig,
  offerBody,
  removeMarketplaceData,
  siteBody,
} from './marketplace-fixtures';

type Caller = 'public' | 'providerKey' | 'buyerKey' | 'providerSession' | 'buyerSession' | 'admin';
type Body = Record<string, unknown>;

interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
}

interface Operation {
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}

interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

/**
 * A body for every body-taking route, valid as far as validation goes, and who may call the
 * route. The test below fails when the document lists a body-taking route without one here.
 */
const BODIES: Record<string, { as: Caller; body: () => Body }> = {
  'POST /v1/organisations': {
    as: 'public',
    body: () => ({
      name: 'Required Fields Org',
      role: 'BUYER',
      owner: { email: `fields-${randomUUID()}@fields.test`, password: 'a perfectly fine password' },
    }),
  },
  'POST /v1/invitations': {
    as: 'buyerSession',
    body: () => ({ email: 'invitee@fields.test', role: 'MEMBER' }),
  },
  'POST /v1/invitations/accept': {
    as: 'public',
    body: () => ({ token: 'inv_'.padEnd(40, 'x'), password: 'a perfectly fine password' }),
  },
  'POST /v1/auth/login': {
    as: 'public',
    body: () => ({ email: 'nobody@fields.test', password: 'a perfectly fine password' }),
  },
  'POST /v1/auth/refresh': { as: 'public', body: () => ({ refreshToken: 'not-a-real-refresh-token' }) },
  'POST /v1/auth/logout': { as: 'public', body: () => ({ refreshToken: 'not-a-real-refresh-token' }) },
  'POST /v1/api-keys': {
    as: 'buyerSession',
    body: () => ({ name: 'fields probe', scopes: ['read'], expiresAt: hoursFromNow(24) }),
  },
  'POST /v1/api-keys/{id}/rotate': { as: 'buyerSession', body: () => ({ overlapSeconds: 60 }) },
  'POST /admin/organisations/{id}/suspend': { as: 'admin', body: () => ({ reason: 'fields probe' }) },
  'POST /admin/organisations/{id}/reinstate': { as: 'admin', body: () => ({ reason: 'fields probe' }) },
  'PATCH /admin/markets/{slug}': { as: 'admin', body: () => ({ feeBps: 300 }) },
  'PUT /admin/markets/{slug}/matching': {
    as: 'admin',
    body: () => ({ matchingMode: 'CONTINUOUS', callWindowMs: 1000 }),
  },
  'POST /v1/sites': { as: 'providerKey', body: () => ({ ...siteBody(), notes: 'fields probe' }) },
  'POST /v1/offers': { as: 'providerKey', body: () => offerBody(randomUUID()) },
  'PATCH /v1/offers/{id}': { as: 'providerKey', body: () => ({ pricePerGpuHour: '1.00', gpus: 1 }) },
  'POST /v1/bids/quote': {
    as: 'buyerKey',
    body: () => {
      const { expiresAt: _expiresAt, ...quote } = bidBody();
      return quote;
    },
  },
  'POST /v1/bids': { as: 'buyerKey', body: () => bidBody() },
  'PUT /v1/billing/profile': {
    as: 'buyerSession',
    body: () => ({
      legalName: 'Fields Buyer Ltd.',
      taxId: '91520900MA6FIELDS',
      address: '1 Data Avenue, Guiyang',
      countryCode: 'CN',
      email: 'billing@fields.test',
    }),
  },
  'PUT /v1/billing/spend-cap': { as: 'buyerSession', body: () => ({ currency: 'CNY', amount: '100.00' }) },
  'PUT /v1/billing/low-balance-threshold': {
    as: 'buyerSession',
    body: () => ({ currency: 'CNY', amount: '100.00' }),
  },
  'POST /v1/top-ups': { as: 'buyerKey', body: () => ({ amount: '10.00', currency: 'CNY' }) },
  'POST /admin/top-ups/{id}/confirm': { as: 'admin', body: () => ({ bankReference: 'BANK-REF-1' }) },
  'POST /admin/top-ups/{id}/reject': { as: 'admin', body: () => ({ reason: 'fields probe' }) },
  'POST /v1/payouts': { as: 'providerSession', body: () => ({ amount: '1.00', currency: 'CNY' }) },
  'POST /admin/payouts/{id}/confirm': { as: 'admin', body: () => ({ bankReference: 'BANK-REF-2' }) },
  'POST /admin/payouts/{id}/reject': { as: 'admin', body: () => ({ reason: 'fields probe' }) },
  'POST /admin/settlement/leases/{id}/settle': {
    as: 'admin',
    body: () => ({ reason: 'fields probe', period: 0, gpuSeconds: 3600 }),
  },
  'POST /admin/leases/{id}/terminate': { as: 'admin', body: () => ({ reason: 'fields probe' }) },
  'POST /admin/settlement/leases/{id}/void': { as: 'admin', body: () => ({ reason: 'fields probe' }) },
  'PUT /v1/bank-account': {
    as: 'providerSession',
    body: () => ({
      beneficiary: 'Fields Provider Ltd.',
      bankName: 'Bank of Guiyang',
      accountNumber: '6222021001011234',
    }),
  },
  'POST /v1/leases/{id}/access': {
    as: 'providerKey',
    body: () => ({
      endpoint: 'https://inference.fields.example/v1',
      credentials: [{ name: 'api_key', value: 'sk-fields' }],
      instructions: 'fields probe',
    }),
  },
  'POST /v1/leases/{id}/terminate': {
    as: 'providerKey',
    body: () => ({ mode: 'NOTICE' }),
  },
  'POST /v1/leases/{id}/extend': { as: 'buyerKey', body: () => ({ hours: 1 }) },
  'POST /v1/leases/{id}/failure-reports': {
    as: 'buyerKey',
    body: () => ({ observedAt: hoursFromNow(-1), detail: 'fields probe' }),
  },
  'POST /admin/lease-reports/{id}/decide': {
    as: 'admin',
    body: () => ({ status: 'CONFIRMED', note: 'fields probe' }),
  },
  'POST /v1/leases/{id}/slo-reports': {
    as: 'buyerKey',
    body: () => ({ periodStart: hoursFromNow(-1), availabilityPercent: 99.5 }),
  },
  'POST /v1/leases/{id}/slo-disputes': {
    as: 'providerKey',
    body: () => ({ periodStart: hoursFromNow(-1), reason: 'fields probe' }),
  },
  'POST /v1/leases/{id}/usage': {
    as: 'providerKey',
    body: () => ({ periodStart: hoursFromNow(-1), gpuSeconds: 3600, tokens: 1000 }),
  },
  'POST /v1/leases/{id}/tokens': {
    as: 'providerKey',
    body: () => ({ periodStart: hoursFromNow(-1), promptTokens: 1000, outputTokens: 100 }),
  },
  'POST /admin/disputes/{id}/resolve': {
    as: 'admin',
    body: () => ({ note: 'fields probe', usage: { promptTokens: 1000, outputTokens: 100 } }),
  },
  'POST /admin/usage-flags/{id}/review': { as: 'admin', body: () => ({ note: 'fields probe' }) },
  'POST /v1/webhooks': {
    as: 'buyerKey',
    body: () => ({
      url: 'https://93.184.215.14/hooks/fields',
      description: 'fields probe',
      eventTypes: ['bid.placed'],
    }),
  },
  'PATCH /v1/webhooks/{id}': {
    as: 'buyerKey',
    body: () => ({ url: 'https://93.184.215.14/hooks/fields', enabled: false }),
  },
  'PUT /v1/offers/{offerId}/serving-profiles': {
    as: 'providerKey',
    body: () => ({
      profiles: [
        {
          model: 'llama-3.3-70b-instruct',
          concurrency: 8,
          promptTokensPerSecondPerGpu: 2600,
          outputTokensPerSecondPerGpu: 400,
          ttftP50Ms: 120,
          ttftP95Ms: 220,
        },
      ],
    }),
  },
  'POST /admin/inference/models': {
    as: 'admin',
    body: () => ({
      slug: 'fields-probe-7b',
      family: 'Fields',
      name: 'Fields probe 7B',
      parameters: 7_000_000_000,
      quantisation: 'BF16',
      contextLength: 32768,
      kvCacheBytesPerToken: 57344,
    }),
  },
  'POST /admin/inference/serving-profiles/{id}/review': {
    as: 'admin',
    body: () => ({ decision: 'ACCEPT', reason: 'fields probe' }),
  },
};

function resolve(doc: OpenApiDocument, schema: Schema): Schema {
  let current = schema;
  while (current.$ref !== undefined) {
    const name = current.$ref.split('/').pop() ?? '';
    const next = doc.components.schemas[name];
    if (!next) throw new Error(`unresolved ${current.$ref}`);
    current = next;
  }
  return current;
}

const isObject = (value: unknown): value is Body =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every required property's path, descending into the nested objects and array items of `body`. */
function requiredPaths(doc: OpenApiDocument, schema: Schema, body: Body, prefix: string[] = []): string[][] {
  const resolved = resolve(doc, schema);
  const paths = (resolved.required ?? []).map((name) => [...prefix, name]);
  for (const [name, property] of Object.entries(resolved.properties ?? {})) {
    const value = body[name];
    const inner = resolve(doc, property);
    if (isObject(value) && inner.properties)
      paths.push(...requiredPaths(doc, inner, value, [...prefix, name]));
    if (Array.isArray(value) && inner.items && resolve(doc, inner.items).properties) {
      value.forEach((item, index) => {
        if (isObject(item))
          paths.push(...requiredPaths(doc, inner.items as Schema, item, [...prefix, name, String(index)]));
      });
    }
  }
  return paths;
}

function without(body: Body, path: string[]): Body {
  const copy = structuredClone(body);
  let node: unknown = copy;
  for (const key of path.slice(0, -1)) node = (node as Record<string, unknown>)[key];
  delete (node as Record<string, unknown>)[path[path.length - 1] ?? ''];
  return copy;
}

/**
 * Every body-taking route of the OpenAPI document, with each required property (nested ones
 * included) left out in turn: always 400 VALIDATION_FAILED naming that property, never a 500 or
 * anything the service would do with a half body.
 */
describe('required request fields, from the OpenAPI document', () => {
  let app: NestFastifyApplication;
  let doc: OpenApiDocument;
  const headers = new Map<Caller, Record<string, string>>();
  const orgIds: string[] = [];
  const adminEmail = `admin-${randomUUID()}@fields.test`;

  beforeAll(async () => {
    app = await startHttpApp(marketplaceConfig());
    doc = (await request(app.getHttpServer()).get('/docs-json').expect(200)).body as OpenApiDocument;
    const provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    const buyer = await registerOrganisation(app, 'BUYER', { verified: true });
    orgIds.push(provider.organisationId, buyer.organisationId);
    expect((await createAdminWithCli(adminEmail, 'fields admin passphrase')).code).toBe(0);
    headers.set('public', {});
    headers.set('providerKey', provider.auth);
    headers.set('buyerKey', buyer.auth);
    headers.set('providerSession', (await signIn(app, provider)).auth);
    headers.set('buyerSession', (await signIn(app, buyer)).auth);
    headers.set(
      'admin',
      (await signIn(app, { email: adminEmail, password: 'fields admin passphrase' })).auth,
    );
  });

  afterAll(async () => {
    const prisma = app.get(PrismaService);
    await prisma.user.deleteMany({ where: { email: adminEmail } });
    await removeMarketplaceData(app, orgIds);
    await app.close();
  });

  const bodyRoutes = (): Array<[string, Schema]> =>
    Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.entries(operations).flatMap(([method, operation]) => {
        const schema = operation.requestBody?.content?.['application/json']?.schema;
        return schema ? [[`${method.toUpperCase()} ${path}`, schema] as [string, Schema]] : [];
      }),
    );

  it('has a valid body for every body-taking route and no other', () => {
    expect(
      bodyRoutes()
        .map(([route]) => route)
        .sort(),
    ).toEqual(Object.keys(BODIES).sort());
  });

  it('answers 400 naming each required field left out, nested ones included', async () => {
    const failures: string[] = [];
    const checked: string[] = [];
    for (const [route, schema] of bodyRoutes()) {
      const entry = BODIES[route];
      if (!entry) continue;
      const [method, template] = route.split(' ') as [string, string];
      const path = template.replace('{slug}', 'nvidia-h100-80gb').replace(/\{[^}]+\}/g, () => randomUUID());
      const body = entry.body();
      for (const missing of requiredPaths(doc, schema, body)) {
        const field = missing.join('.');
        checked.push(`${route} ${field}`);
        const res = await request(app.getHttpServer())
          [method.toLowerCase() as 'post' | 'put' | 'patch'](path)
          .set(headers.get(entry.as) ?? {})
          .set('idempotency-key', randomUUID())
          .send(without(body, missing));
        const answer = res.body as { code?: string; details?: { errors?: string[] } };
        const errors = answer.details?.errors ?? [];
        // Every error is about the missing field: the rest of the body is valid.
        if (
          res.status !== 400 ||
          answer.code !== 'VALIDATION_FAILED' ||
          errors.length === 0 ||
          !errors.every((error) => error.includes(field))
        ) {
          failures.push(`${route} without ${field}: ${res.status} ${JSON.stringify(res.body)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    // Nested objects and array items are reached: registration's owner (once a 500) and its password.
    expect(checked).toEqual(
      expect.arrayContaining([
        'POST /v1/organisations owner',
        'POST /v1/organisations owner.password',
        'POST /v1/leases/{id}/access credentials.0.value',
        'PUT /v1/offers/{offerId}/serving-profiles profiles.0.ttftP95Ms',
      ]),
    );
    expect(checked.length).toBeGreaterThan(50);
  }, 120_000);
});
