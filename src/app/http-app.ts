import { ValidationPipe, type DynamicModule, type NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Logger, PinoLogger } from 'nestjs-pino';
import { eventSchemas, eventWebhooks } from '@/infra/events/event-openapi';
import type { AppConfig } from '@/infra/config/app-config';
import { AllExceptionsFilter } from '@/infra/http/all-exceptions.filter';
import { corsPolicy } from '@/infra/http/cors';
import { ErrorBody, toErrorBody } from '@/infra/http/error-body';
import { parseJsonBody } from '@/infra/http/json-body';
import { genRequestId, REQUEST_ID_HEADER } from '@/infra/http/request-id';
import { logRequestEnd } from '@/infra/http/request-logging';
import { cacheValidationMetadata } from '@/infra/http/validation-metadata-cache';
import { mountQueueDashboard } from '@/modules/admin/queue-dashboard/mount-queue-dashboard';
import { MetricsService } from '@/modules/metrics/metrics.service';
import { AppModule, type ProcessRoles } from './app.module';

export const BODY_LIMIT_BYTES = 1_048_576;

/** Builds the Nest application from the root module; test entry points override providers here. */
export type HttpAppFactory = (
  root: DynamicModule,
  adapter: FastifyAdapter,
  options: NestApplicationOptions,
) => Promise<NestFastifyApplication>;

const nestHttpApp: HttpAppFactory = (root, adapter, options) =>
  NestFactory.create<NestFastifyApplication>(root, adapter, options);

/** TRUST_PROXY as Fastify takes it: off, the first n hops, or the trusted addresses. */
function trustProxySetting(value: string): boolean | string | ((address: string, hop: number) => boolean) {
  if (value === 'false') return false;
  if (!/^\d+$/.test(value)) return value;
  const hops = Number(value);
  return (_address, hop) => hop < hops;
}

/**
 * Builds the HTTP application exactly as `main.api.ts` and `main.ts` run it; e2e tests use this
 * same function, so what they exercise is what ships.
 */
export async function createHttpApp(
  config: AppConfig,
  roles: ProcessRoles,
  createApp: HttpAppFactory = nestHttpApp,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    genReqId: genRequestId,
    bodyLimit: BODY_LIMIT_BYTES,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    routerOptions: { maxParamLength: 200 },
    // The router refuses an over-long or undecodable path parameter before any hook or filter runs.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const body = toErrorBody(error, String(request.id));
      void reply
        .header(REQUEST_ID_HEADER, request.id)
        .header('content-type', 'application/json; charset=utf-8')
        .status(body.statusCode)
        .send(body);
    },
    trustProxy: trustProxySetting(config.env.TRUST_PROXY),
  });
  // JSON only (anything else is 415). Our own parser: the same limit, plus depth, NUL,
  // surrogate and prototype checks.
  adapter.getInstance().removeContentTypeParser(['application/json', 'text/plain']);
  adapter
    .getInstance()
    .addContentTypeParser(
      'application/json',
      { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES },
      (_request, body, done) => {
        try {
          done(null, parseJsonBody(body as string));
        } catch (error) {
          done(error as Error, undefined);
        }
      },
    );
  const app = await createApp(AppModule.register(config, roles), adapter, {
    bufferLogs: true,
    // Our JSON parser is registered on the adapter above; Nest's would replace it.
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  cacheValidationMetadata();
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      forbidUnknownValues: true,
    }),
  );
  app.useGlobalFilters(new AllExceptionsFilter());
  app.enableCors(corsPolicy(config.env));

  const fastify = app.getHttpAdapter().getInstance();
  const metrics = app.get(MetricsService);
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.observeHttp(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    // The logger nestjs-pino built from requestLogOptions (set once the app has initialised).
    if (PinoLogger.root !== undefined) logRequestEnd(PinoLogger.root, request, reply);
    done();
  });

  // After the hooks above (request id, metrics), before the routes are ready; not in the OpenAPI document.
  if (roles.api) await mountQueueDashboard(app);

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Compute Exchange API')
      .setDescription(
        'Brokers idle GPU capacity of small data centres to companies that need inference. ' +
          'Every error answers with the ErrorBody schema.',
      )
      .setVersion('0.1.0')
      .addBearerAuth(
        {
          type: 'http',
          scheme: 'bearer',
          description: 'An organisation API key (`cx_live_…`) as Bearer token',
        },
        'api-key',
      )
      .addBearerAuth(
        {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'Access token from POST /v1/auth/login',
        },
        'access-token',
      )
      .addBearerAuth(
        { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN for /metrics' },
        'metrics-token',
      )
      .addApiKey(
        {
          type: 'apiKey',
          in: 'query',
          name: 'ticket',
          description: 'A single-use ticket from POST /v1/events/stream-tickets, for the live stream only',
        },
        'stream-ticket',
      )
      .addServer('/', 'This server')
      .setLicense('Proprietary', 'https://compute-exchange.example/terms')
      .build(),
    { extraModels: [ErrorBody] },
  );
  // The live stream's events and the webhooks, from the event catalogue (docs/EVENTS.md). The
  // document is OpenAPI 3.0, so webhooks go in the `x-webhooks` extension (3.1's `webhooks`).
  const withEvents = {
    ...document,
    components: { ...document.components, schemas: { ...document.components?.schemas, ...eventSchemas() } },
    'x-webhooks': eventWebhooks(),
  };
  SwaggerModule.setup('docs', app, withEvents, {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
  });
  return app;
}
