import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import pinoHttp from 'pino-http';
import request from 'supertest';
import { genRequestId } from '@/infra/http/request-id';
import { logRequestEnd, requestLogOptions } from '@/infra/http/request-logging';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { RedisService } from '@/infra/redis/redis.service';
import { startHttpApp } from '../support/http-app';
import { connectSse, type SseConnection } from '../support/sse-client';
import { registerOrganisation, signIn, type TestTenant } from '../support/tenants';
import { testConfig, uniqueRedisPrefix } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { quiet } from './lease-fixtures';
import { placeBid, removeMarketplaceData } from './marketplace-fixtures';

const FRONTEND = 'https://app.example.com';
const DEV_SERVER = 'http://localhost:5173';

interface Envelope {
  type: string;
  aggregateId: string;
}

/**
 * What a web frontend needs of the API, over plain HTTP (docs/BROWSER.md): CORS preflights with
 * and without CORS_ORIGINS, every method the API uses, the headers a page may read, and stream
 * tickets for EventSource. The browser itself is driven in test/browser.
 */
describe('browser access: CORS and stream tickets', () => {
  const redisPrefix = uniqueRedisPrefix();
  const shared = {
    REDIS_PREFIX: redisPrefix,
    RATE_LIMIT_PER_MINUTE: '100000',
    RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
    MATCHING_SWEEP_INTERVAL_MS: '3600000',
    LEASE_SWEEP_INTERVAL_MS: '3600000',
    SETTLEMENT_SWEEP_INTERVAL_MS: '3600000',
    STATS_REFRESH_INTERVAL_MS: '3600000',
    SSE_HEARTBEAT_MS: '300',
  };
  // No CORS_ORIGINS (the development default), and with the relay, so events reach streams.
  const devConfig = testConfig(shared);
  // A second API process on the same Redis, configured for one production frontend.
  const configuredConfig = testConfig({ ...shared, CORS_ORIGINS: FRONTEND });
  let dev: NestFastifyApplication;
  let configured: NestFastifyApplication;
  let devUrl: string;
  let configuredUrl: string;
  let buyer: TestTenant;
  let otherBuyer: TestTenant;
  let owner: { authorization: string };
  const open: SseConnection[] = [];

  const issueTicket = async (app: NestFastifyApplication, auth: { authorization: string }) => {
    const res = await request(app.getHttpServer()).post('/v1/events/stream-tickets').set(auth).expect(201);
    return (res.body as { ticket: string }).ticket;
  };
  const streamWithTicket = async (url: string, ticket: string, query = '') => {
    const connection = await connectSse(
      `${url}/v1/events/stream?ticket=${encodeURIComponent(ticket)}${query}`,
      {},
    );
    open.push(connection);
    return connection;
  };

  beforeAll(async () => {
    dev = await startHttpApp(devConfig, { api: true, worker: true });
    configured = await startHttpApp(configuredConfig);
    await dev.listen({ port: 0, host: '127.0.0.1' });
    await configured.listen({ port: 0, host: '127.0.0.1' });
    devUrl = await dev.getUrl();
    configuredUrl = await configured.getUrl();
    buyer = await registerOrganisation(dev, 'BUYER', { verified: true });
    otherBuyer = await registerOrganisation(dev, 'BUYER', { verified: true });
    owner = (await signIn(dev, buyer)).auth;
    // Two Nest apps booting on a busy machine.
  }, 120_000);

  afterEach(() => {
    for (const connection of open.splice(0)) connection.close();
  });

  afterAll(async () => {
    try {
      if (dev) await quiet(dev);
      if (dev)
        await removeMarketplaceData(
          dev,
          [buyer, otherBuyer].filter(Boolean).map((t) => t.organisationId),
        );
    } finally {
      await configured?.close();
      await dev?.close();
    }
  });

  const preflight = (app: NestFastifyApplication, path: string, origin: string, method: string) =>
    request(app.getHttpServer())
      .options(path)
      .set('origin', origin)
      .set('access-control-request-method', method)
      .set('access-control-request-headers', 'authorization,content-type,idempotency-key');

  describe('CORS', () => {
    it('answers a preflight from a loopback origin when CORS_ORIGINS is unset (not production)', async () => {
      for (const origin of [DEV_SERVER, 'http://127.0.0.1:8080', 'http://localhost']) {
        const res = await preflight(dev, '/v1/bids', origin, 'POST');
        expect(res.status).toBe(204);
        expect(res.headers['access-control-allow-origin']).toBe(origin);
        expect(res.headers['access-control-allow-methods']).toContain('POST');
        expect(res.headers['access-control-allow-headers']).toContain('idempotency-key');
      }
    });

    it('allows no other origin by default, and only the configured ones when CORS_ORIGINS is set', async () => {
      const foreign = await preflight(dev, '/v1/bids', 'https://evil.example', 'POST');
      expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
      const lookalike = await preflight(dev, '/v1/bids', 'http://localhost.evil.example', 'POST');
      expect(lookalike.headers['access-control-allow-origin']).toBeUndefined();

      const allowed = await preflight(configured, '/v1/bids', FRONTEND, 'POST');
      expect(allowed.status).toBe(204);
      expect(allowed.headers['access-control-allow-origin']).toBe(FRONTEND);
      const loopback = await preflight(configured, '/v1/bids', DEV_SERVER, 'POST');
      expect(loopback.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('allows PUT, so a page can change the bank account, spend cap, threshold and billing profile', async () => {
      for (const path of [
        '/v1/bank-account',
        '/v1/billing/spend-cap',
        '/v1/billing/low-balance-threshold',
        '/v1/billing/profile',
      ]) {
        const res = await preflight(configured, path, FRONTEND, 'PUT');
        expect(res.status).toBe(204);
        expect(res.headers['access-control-allow-origin']).toBe(FRONTEND);
        expect(res.headers['access-control-allow-methods']?.split(/,\s*/)).toContain('PUT');
      }
      const put = await request(configured.getHttpServer())
        .put('/v1/billing/spend-cap')
        .set(owner)
        .set('origin', FRONTEND)
        .send({ currency: 'CNY', amount: '5000.00' })
        .expect(200);
      expect(put.headers['access-control-allow-origin']).toBe(FRONTEND);
    });

    it('exposes the headers a page must read: next cursor, request id, Retry-After, replays', async () => {
      const res = await request(configured.getHttpServer())
        .get('/v1/billing/balance')
        .set(buyer.auth)
        .set('origin', FRONTEND)
        .expect(200);
      expect(res.headers['access-control-allow-origin']).toBe(FRONTEND);
      const exposed = (res.headers['access-control-expose-headers'] ?? '').split(/,\s*/);
      expect(exposed).toEqual(
        expect.arrayContaining(['x-next-cursor', 'x-request-id', 'retry-after', 'idempotent-replayed']),
      );
    });
  });

  describe('stream tickets', () => {
    it('open the stream without an Authorization header, on another API process, for their organisation only', async () => {
      const issued = await request(dev.getHttpServer())
        .post('/v1/events/stream-tickets')
        .set(owner)
        .expect(201);
      expect(issued.body).toEqual({ ticket: expect.stringMatching(/^cxst_/) as unknown, expiresIn: 60 });

      const stream = await streamWithTicket(configuredUrl, (issued.body as { ticket: string }).ticket);
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);

      await placeBid(dev, otherBuyer);
      const own = await placeBid(dev, buyer);
      const received = await stream.waitForEvents(1);
      const envelope = JSON.parse(received[0]!.data) as Envelope;
      expect(envelope).toMatchObject({ type: 'bid.placed', aggregateId: own.id });
    });

    it('are single use', async () => {
      const ticket = await issueTicket(dev, buyer.auth);
      expect((await streamWithTicket(devUrl, ticket)).status).toBe(200);
      const again = await streamWithTicket(configuredUrl, ticket);
      expect(again.status).toBe(401);
      expect(again.body).toMatchObject({ code: 'UNAUTHENTICATED' });
    });

    it('open nothing once the credential that asked for them is revoked', async () => {
      const other = await registerOrganisation(dev, 'BUYER', { creditMinor: 0n });
      const ticket = await issueTicket(dev, other.auth);
      await dev.get(PrismaService).apiKey.updateMany({
        where: { organisationId: other.organisationId },
        data: { revokedAt: new Date() },
      });
      expect((await streamWithTicket(devUrl, ticket)).status).toBe(401);
    });

    it('are refused when unknown, malformed, or presented to any other route', async () => {
      expect((await streamWithTicket(devUrl, `cxst_${'A'.repeat(43)}`)).status).toBe(401);
      expect((await streamWithTicket(devUrl, 'not-a-ticket')).status).toBe(401);
      const ticket = await issueTicket(dev, buyer.auth);
      await request(dev.getHttpServer()).get(`/v1/billing/balance?ticket=${ticket}`).expect(401);
      // The refusal elsewhere did not use it up.
      expect((await streamWithTicket(devUrl, ticket)).status).toBe(200);
    });

    it('are kept in Redis only as a hash, expiring within 60 s', async () => {
      const ticket = await issueTicket(dev, buyer.auth);
      const redis = dev.get(RedisService).client;
      const key = `${redisPrefix}:stream-ticket:${createHash('sha256').update(ticket).digest('hex')}`;
      const stored = await redis.get(key);
      expect(stored).not.toBeNull();
      expect(stored).not.toContain(ticket);
      expect(JSON.parse(stored!)).toEqual({
        kind: 'api_key',
        organisationId: buyer.organisationId,
        apiKeyId: expect.any(String) as unknown,
      });
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
      const keys = await redis.keys(`${redisPrefix}:stream-ticket:*`);
      expect(keys.some((name) => name.includes(ticket))).toBe(false);
    });
  });
});

describe('request log', () => {
  /** A bare Fastify server with the logger nestjs-pino builds from the same options and the hook http-app.ts adds. */
  const loggedServer = (level: 'info' | 'warn'): { server: FastifyInstance; lines: string[] } => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pinoHttp(requestLogOptions(testConfig({ LOG_LEVEL: level })), sink).logger;
    const server = Fastify({ genReqId: genRequestId });
    server.addHook('onResponse', (req, reply, done) => {
      logRequestEnd(logger, req, reply);
      done();
    });
    server.get('/v1/events/stream', () => 'ok');
    server.get('/health/live', () => 'ok');
    return { server, lines };
  };

  it('ends each request with one line carrying it in full, never a credential or a stream ticket', async () => {
    const { server, lines } = loggedServer('info');
    const ticket = `cxst_${'Q'.repeat(43)}`;
    const bearer = `cx_live_${'a'.repeat(62)}`;
    for (const query of [`ticket=${ticket}&lastEventId=7`, `lastEventId=7&%74icket=${ticket}`]) {
      await server.inject({
        url: `/v1/events/stream?${query}`,
        headers: { authorization: `Bearer ${bearer}` },
      });
    }
    // Probes are not logged.
    await server.inject({ url: '/health/live' });
    await server.close();
    await waitFor('two request log lines', () => Promise.resolve(lines.length >= 2 ? true : undefined));
    const text = lines.join('');
    expect(lines).toHaveLength(2);
    for (const line of lines.map((l) => JSON.parse(l) as Record<string, unknown>)) {
      expect(line).toMatchObject({
        level: 30,
        msg: 'request completed',
        req: { method: 'GET', headers: { authorization: '[Redacted]' } },
        res: { statusCode: 200 },
      });
      expect((line.req as { id?: unknown }).id).toEqual(expect.any(String));
      expect(line.responseTime).toEqual(expect.any(Number));
    }
    expect(text).not.toContain(bearer);
    expect(text).not.toContain(ticket);
    expect(text).toContain('/v1/events/stream?ticket=[REDACTED]&lastEventId=7');
    expect(text).toContain('/v1/events/stream?lastEventId=7&%74icket=[REDACTED]');
  });

  it('is written by the application itself, with the request id it answered', async () => {
    const app = await startHttpApp(testConfig({ LOG_LEVEL: 'info' }));
    // nestjs-pino keeps one root logger per process, built by its first app (this suite starts
    // others first): give it the level this app was configured with.
    const level = PinoLogger.root.level;
    PinoLogger.root.level = 'info';
    try {
      const info = jest.spyOn(PinoLogger.root, 'info').mockImplementation(() => undefined);
      const res = await request(app.getHttpServer()).get('/v1/markets').expect(200);
      const ended = info.mock.calls.filter((call) => call[1] === 'request completed');
      expect(ended).toHaveLength(1);
      expect((ended[0]![0] as { req: { id: string } }).req.id).toBe(res.headers['x-request-id']);
      info.mockRestore();
    } finally {
      PinoLogger.root.level = level;
      await app.close();
    }
  });

  it('writes nothing per request below info', async () => {
    const { server, lines } = loggedServer('warn');
    expect((await server.inject({ url: '/v1/events/stream' })).statusCode).toBe(200);
    await server.close();
    expect(lines).toEqual([]);
  });
});
