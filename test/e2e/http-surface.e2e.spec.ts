import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { EVENT_TYPES } from '@/infra/events/event-catalogue';
import { bidPlacedPayload } from '../support/event-payloads';
import { startHttpApp } from '../support/http-app';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('HTTP surface (same bootstrap as main.api.ts)', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await startHttpApp(testConfig());
  });

  afterAll(async () => {
    await app.close();
  });

  it('answers liveness and readiness with PostgreSQL and Redis up and the outbox backlog in details', async () => {
    await request(app.getHttpServer()).get('/health/live').expect(200, { status: 'ok' });
    // Connections are still opening right after start; readiness must turn 200 shortly after.
    const ready = await waitFor('readiness', async () => {
      const res = await request(app.getHttpServer()).get('/health/ready');
      return res.status === 200 ? res : undefined;
    });
    expect(ready.body).toMatchObject({
      status: 'ok',
      details: {
        postgres: { status: 'up' },
        redis: { status: 'up' },
        outbox: { status: 'up', unpublished: expect.any(Number) as number },
      },
    });
  });

  it('serves Swagger UI and an OpenAPI document describing routes and the error body', async () => {
    const ui = await request(app.getHttpServer()).get('/docs').expect(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
    const doc = await request(app.getHttpServer()).get('/docs-json').expect(200);
    const spec = doc.body as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/health/live', '/health/ready', '/metrics']),
    );
    expect(Object.keys(spec.components.schemas.ErrorBody?.properties ?? {})).toEqual(
      expect.arrayContaining(['statusCode', 'code', 'message', 'details', 'requestId']),
    );
  });

  it('lists the payload schema of every event type, as the catalogue types it', async () => {
    const doc = await request(app.getHttpServer()).get('/docs-json').expect(200);
    const schemas = (doc.body as { components: { schemas: Record<string, { required?: string[] }> } })
      .components.schemas;
    const names = EVENT_TYPES.map(
      (type) => `${type.replace(/(^|[._])(\w)/g, (_m, _s, c: string) => c.toUpperCase())}EventPayload`,
    );
    expect(names.filter((name) => schemas[name] === undefined)).toEqual([]);
    expect(schemas.BidPlacedEventPayload?.required).toEqual(
      Object.keys(bidPlacedPayload()).filter((field) => field !== 'reason'),
    );
    expect(schemas.LeaseTerminatedEventPayload?.required).toContain('reason');
  });

  it('types the live stream and the webhooks with every event type of the catalogue', async () => {
    interface Schema {
      $ref?: string;
      oneOf?: Schema[];
      discriminator?: { propertyName: string; mapping: Record<string, string> };
      properties?: Record<string, Schema & { enum?: string[] }>;
    }
    type Body = { content: Record<string, { schema: Schema }> };
    const doc = (await request(app.getHttpServer()).get('/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, { responses: Record<string, Body> }>>;
      components: { schemas: Record<string, Schema> };
      'x-webhooks'?: Record<string, { post?: { requestBody: Body } }>;
    };
    const resolve = (ref: string | undefined): Schema | undefined =>
      ref?.startsWith('#/components/schemas/') ? doc.components.schemas[ref.split('/').pop()!] : undefined;

    const stream = doc.paths['/v1/events/stream']?.get?.responses['200']?.content['text/event-stream'];
    const union = resolve(stream?.schema.$ref);
    expect(union?.discriminator?.propertyName).toBe('type');
    const mapping = union?.discriminator?.mapping ?? {};
    expect(Object.keys(mapping)).toEqual([...EVENT_TYPES]);
    expect(union?.oneOf?.map((member) => member.$ref)).toEqual(Object.values(mapping));
    for (const type of EVENT_TYPES) {
      const envelope = resolve(mapping[type]);
      expect(envelope?.properties?.type?.enum).toEqual([type]);
      expect(resolve(envelope?.properties?.payload?.$ref)).toBeDefined();
    }

    const webhooks = doc['x-webhooks'] ?? {};
    expect(Object.keys(webhooks)).toEqual([...EVENT_TYPES]);
    for (const type of EVENT_TYPES)
      expect(webhooks[type]?.post?.requestBody.content['application/json']?.schema.$ref).toBe(mapping[type]);
  });

  describe('the OpenAPI document, as generated clients read it', () => {
    interface Schema {
      $ref?: string;
      default?: unknown;
      properties?: Record<string, Schema>;
      required?: string[];
      items?: Schema;
    }
    interface Operation {
      parameters?: Array<{ name: string; in: string }>;
      requestBody?: { content?: Record<string, { schema?: Schema }> };
      responses: Record<
        string,
        {
          content?: Record<string, { schema?: Schema & { type?: string } }>;
          headers?: Record<string, unknown>;
        }
      >;
    }
    interface Document {
      paths: Record<string, Record<string, Operation>>;
      components: { schemas: Record<string, Schema> };
    }
    const spec = async (): Promise<Document> =>
      (await request(app.getHttpServer()).get('/docs-json').expect(200)).body as Document;
    const operations = (doc: Document): Array<[string, Operation]> =>
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.entries(ops).map(
          ([method, op]) => [`${method.toUpperCase()} ${path}`, op] as [string, Operation],
        ),
      );
    const schemaNamed = (doc: Document, ref: string): Schema =>
      doc.components.schemas[ref.split('/').pop() ?? ''] ?? {};

    // openapi-typescript (defaultNonNullable) types a component property with a `default` as always
    // present, so a request field with one came out required in generated clients.
    it('leaves request fields with server-side defaults optional and without a schema default', async () => {
      const doc = await spec();
      const problems: string[] = [];
      const visit = (name: string, schema: Schema, seen: Set<string>): void => {
        const resolved = schema.$ref ? schemaNamed(doc, schema.$ref) : schema;
        if (schema.$ref) {
          if (seen.has(schema.$ref)) return;
          seen.add(schema.$ref);
        }
        for (const [field, property] of Object.entries(resolved.properties ?? {})) {
          if (property.default !== undefined)
            problems.push(`${name}.${field} has default ${JSON.stringify(property.default)}`);
          visit(`${name}.${field}`, property, seen);
          if (property.items) visit(`${name}.${field}[]`, property.items, seen);
        }
      };
      const bodies = new Map<string, Schema>();
      for (const [route, op] of operations(doc)) {
        const schema = op.requestBody?.content?.['application/json']?.schema;
        if (schema?.$ref) bodies.set(route, schemaNamed(doc, schema.$ref));
        if (schema) visit(route, schema, new Set());
      }
      expect(problems).toEqual([]);
      const optional: Array<[string, string[]]> = [
        ['POST /v1/offers', ['minLeaseHours', 'payPerUseMinPercent']],
        ['POST /v1/bids', ['provinces', 'minGpusPerSite']],
        ['POST /v1/bids/quote', ['provinces', 'minGpusPerSite']],
        ['POST /v1/top-ups', ['currency']],
        ['POST /v1/payouts', ['currency']],
        ['PUT /v1/billing/spend-cap', ['currency']],
      ];
      for (const [route, fields] of optional) {
        const body = bodies.get(route);
        expect(Object.keys(body?.properties ?? {})).toEqual(expect.arrayContaining(fields));
        for (const field of fields) expect(body?.required ?? []).not.toContain(field);
      }
    });

    it('documents the 402 of placing a bid', async () => {
      const bid = (await spec()).paths['/v1/bids']?.post;
      expect(bid?.responses['402']?.content?.['application/json']?.schema?.$ref).toBe(
        '#/components/schemas/ErrorBody',
      );
    });

    it('types every statement route’s JSON and CSV answers apart, with the CSV headers', async () => {
      const doc = await spec();
      const statements = operations(doc).filter(([, op]) =>
        (op.parameters ?? []).some((p) => p.in === 'query' && p.name === 'format'),
      );
      expect(statements.map(([route]) => route).sort()).toEqual([
        'GET /admin/billing/fees',
        'GET /v1/billing/balance',
        'GET /v1/billing/earnings',
        'GET /v1/billing/entries',
        'GET /v1/invoices',
        'GET /v1/invoices/{id}',
      ]);
      for (const [route, op] of statements) {
        const ok = op.responses['200'];
        expect([route, Object.keys(ok?.content ?? {}).sort()]).toEqual([
          route,
          ['application/json', 'text/csv'],
        ]);
        expect(ok?.content?.['application/json']?.schema?.$ref).toMatch(/^#\/components\/schemas\//);
        expect(ok?.content?.['text/csv']?.schema?.type).toBe('string');
        expect(Object.keys(ok?.headers ?? {})).toContain('Content-Disposition');
      }
      for (const paginated of ['GET /v1/billing/entries', 'GET /v1/invoices']) {
        const op = statements.find(([route]) => route === paginated)?.[1];
        expect(Object.keys(op?.responses['200']?.headers ?? {})).toContain('X-Next-Cursor');
      }
    });
  });

  it('answers an unknown route with the common error body and the caller’s request id', async () => {
    const res = await request(app.getHttpServer())
      .get('/v1/does-not-exist')
      .set('x-request-id', 'trace-42')
      .expect(404);
    expect(res.headers['x-request-id']).toBe('trace-42');
    expect(res.body).toEqual({
      statusCode: 404,
      code: 'NOT_FOUND',
      message: 'Cannot GET /v1/does-not-exist',
      requestId: 'trace-42',
    });
  });

  // The router refuses these before any hook or filter runs; they still get the common body.
  it('answers a path parameter over 200 characters and an undecodable one with the common error body', async () => {
    const longId = 'x'.repeat(201);
    const long = await request(app.getHttpServer())
      .get(`/v1/sites/${longId}`)
      .set('x-request-id', 'trace-414')
      .expect(414);
    expect(long.headers['x-request-id']).toBe('trace-414');
    expect(long.headers['content-type']).toMatch(/^application\/json/);
    expect(long.body).toEqual({
      statusCode: 414,
      code: 'URI_TOO_LONG',
      message: 'A path segment is longer than 200 characters.',
      requestId: 'trace-414',
    });
    expect(long.text).not.toContain(longId);

    const bad = await request(app.getHttpServer()).get('/v1/sites/%E0%A4%A').expect(400);
    expect(bad.headers['x-request-id']).toMatch(UUID);
    expect(bad.body).toEqual({
      statusCode: 400,
      code: 'BAD_REQUEST',
      message: 'The URL is not valid: a path segment is not valid percent-encoded UTF-8.',
      requestId: bad.headers['x-request-id'],
    });
    expect(bad.text).not.toContain('%E0%A4%A');
    // 200 characters is within the limit: the route answers as for any unknown id.
    await request(app.getHttpServer())
      .get(`/v1/sites/${'x'.repeat(200)}`)
      .expect(401);
  });

  it('generates a request id when the caller sends none or a malformed one', async () => {
    const plain = await request(app.getHttpServer()).get('/nope').expect(404);
    expect(plain.headers['x-request-id']).toMatch(UUID);
    expect((plain.body as { requestId: string }).requestId).toBe(plain.headers['x-request-id']);
    const forged = await request(app.getHttpServer()).get('/nope').set('x-request-id', 'a b\tc').expect(404);
    expect(forged.headers['x-request-id']).toMatch(UUID);
  });

  it('exposes Prometheus metrics with HTTP latency by route template', async () => {
    await request(app.getHttpServer()).get('/health/live').expect(200);
    const res = await request(app.getHttpServer()).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/health\/live",status="200"\} \d+/,
    );
    expect(res.text).toContain('outbox_unpublished_events');
    expect(res.text).toContain('process_cpu_seconds_total');
  });
});

describe('/metrics with METRICS_TOKEN set', () => {
  let app: NestFastifyApplication;
  const token = 'metrics-token-for-tests-0123456789';

  beforeAll(async () => {
    app = await startHttpApp(testConfig({ METRICS_TOKEN: token }));
  });

  afterAll(async () => {
    await app.close();
  });

  it('requires the bearer token', async () => {
    const missing = await request(app.getHttpServer()).get('/metrics').expect(401);
    expect(missing.body).toMatchObject({ statusCode: 401, code: 'UNAUTHENTICATED' });
    await request(app.getHttpServer()).get('/metrics').set('authorization', 'Bearer wrong-token').expect(401);
    await request(app.getHttpServer()).get('/metrics').set('authorization', `Bearer ${token}`).expect(200);
  });
});
