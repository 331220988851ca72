import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import { Clock } from '@/infra/clock/clock';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { WebhookDispatcher } from '@/modules/webhooks/webhook-dispatcher.service';
import { WebhookMaintenance } from '@/modules/webhooks/webhook-maintenance.service';
import { RefusedDestinationError, SafeWebhookClient } from '@/modules/webhooks/safe-webhook-client';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { placeBid, removeMarketplaceData } from './marketplace-fixtures';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A receiver on loopback that answers `statuses` in turn (then 200) and records every request. */
async function startReceiver(): Promise<{
  server: Server;
  url: string;
  received: Received[];
  statuses: number[];
}> {
  const received: Received[] = [];
  const statuses: number[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(statuses.shift() ?? 200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, received, statuses };
}

const verify = (secret: string, message: Received): unknown =>
  new Webhook(secret).verify(message.body, {
    'webhook-id': String(message.headers['webhook-id']),
    'webhook-timestamp': String(message.headers['webhook-timestamp']),
    'webhook-signature': String(message.headers['webhook-signature']),
  });

describe('webhooks (Standard Webhooks, retries, replay, SSRF)', () => {
  const config = testConfig({
    RATE_LIMIT_PER_MINUTE: '100000',
    RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
    MATCHING_SWEEP_INTERVAL_MS: '3600000',
    WEBHOOK_ALLOW_LOOPBACK: 'true',
    WEBHOOK_RETRY_BASE_MS: '50',
    WEBHOOK_TIMEOUT_MS: '2000',
  });
  let app: NestFastifyApplication;
  let strict: NestFastifyApplication;
  let prisma: PrismaService;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let buyer: TestTenant;
  const http = () => request(app.getHttpServer());

  const register = (tenant: TestTenant, body: Record<string, unknown>, target = app) =>
    request(target.getHttpServer())
      .post('/v1/webhooks')
      .set(tenant.auth)
      .set('idempotency-key', randomUUID())
      .send(body);
  const deliveries = async (tenant: TestTenant, endpointId: string) =>
    (await http().get(`/v1/webhooks/${endpointId}/deliveries`).set(tenant.auth).expect(200)).body as {
      data: Array<{
        id: string;
        status: string;
        attempts: number;
        eventId: string;
        attemptLog: Array<Record<string, unknown>>;
      }>;
    };

  beforeAll(async () => {
    receiver = await startReceiver();
    app = await startHttpApp(config, { api: true, worker: true });
    strict = await startHttpApp(testConfig({ RATE_LIMIT_PER_MINUTE: '100000' }));
    prisma = app.get(PrismaService);
    buyer = await registerOrganisation(app, 'BUYER', { verified: true });
  });

  afterAll(async () => {
    await prisma.webhookEndpoint.deleteMany({ where: { organisationId: buyer.organisationId } });
    await removeMarketplaceData(app, [buyer.organisationId]);
    await strict.close();
    await app.close();
    await new Promise((resolve) => receiver.server.close(resolve));
  });

  it('delivers signed events, retries failures with backoff, logs every attempt and replays', async () => {
    const created = await register(buyer, {
      url: `${receiver.url}/hooks/a`,
      eventTypes: ['bid.placed'],
    }).expect(201);
    const endpoint = created.body as { id: string; secret: string; eventTypes: string[] };
    expect(endpoint.secret).toMatch(/^whsec_/);
    expect(endpoint.eventTypes).toEqual(['bid.placed']);
    const shown = await http().get(`/v1/webhooks/${endpoint.id}`).set(buyer.auth).expect(200);
    expect(shown.body).not.toHaveProperty('secret');

    // The receiver fails twice; the third attempt succeeds.
    receiver.statuses.push(500, 503);
    const bid = await placeBid(app, buyer);
    await waitFor('three attempts', () => Promise.resolve(receiver.received.length >= 3 ? true : undefined));
    const attempts = receiver.received.slice(0, 3);
    for (const message of attempts) {
      expect(message.path).toBe('/hooks/a');
      const event = verify(endpoint.secret, message) as { type: string; aggregateId: string; id: string };
      expect(event).toMatchObject({ type: 'bid.placed', aggregateId: bid.id });
      expect(message.headers['webhook-id']).toBe(event.id);
    }
    expect(new Set(attempts.map((m) => m.headers['webhook-id'])).size).toBe(1);
    // Tampering breaks the signature.
    expect(() =>
      verify(endpoint.secret, { ...attempts[0]!, body: attempts[0]!.body.replace('bid', 'bad') }),
    ).toThrow();

    const log = await waitFor('the delivery to succeed', async () => {
      const page = await deliveries(buyer, endpoint.id);
      return page.data[0]?.status === 'SUCCEEDED' ? page.data : undefined;
    });
    expect(log).toHaveLength(1);
    expect(log[0]!.attempts).toBe(3);
    expect(log[0]!.attemptLog.map((a) => a.responseStatus)).toEqual([200, 503, 500]);
    expect(log[0]!.attemptLog.map((a) => a.succeeded)).toEqual([true, false, false]);
    expect(typeof log[0]!.attemptLog[0]!.durationMs).toBe('number');

    // Filtered out: a cancel is not a bid.placed.
    await http().post(`/v1/bids/${bid.id}/cancel`).set(buyer.auth).expect(200);

    const replayed = await http()
      .post(`/v1/webhooks/${endpoint.id}/deliveries/${log[0]!.id}/replay`)
      .set(buyer.auth)
      .expect(202);
    expect(replayed.body).toMatchObject({ id: log[0]!.id, status: 'PENDING' });
    await waitFor('the replay', () => Promise.resolve(receiver.received.length >= 4 ? true : undefined));
    expect(receiver.received[3]!.headers['webhook-id']).toBe(attempts[0]!.headers['webhook-id']);
    const after = await waitFor('the replay to succeed', async () => {
      const page = await deliveries(buyer, endpoint.id);
      return page.data[0]?.status === 'SUCCEEDED' && page.data[0].attempts === 4 ? page.data : undefined;
    });
    expect(after).toHaveLength(1);
    expect(after[0]!.attemptLog[0]).toMatchObject({ run: 1, attempt: 4, succeeded: true });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.received).toHaveLength(4);
  });

  it('dispatches each event once however many dispatchers race, re-enqueues lost jobs and prunes old deliveries', async () => {
    const created = await register(buyer, {
      url: `${receiver.url}/hooks/b`,
      eventTypes: ['bid.placed'],
    }).expect(201);
    const endpointId = (created.body as { id: string }).id;
    const before = receiver.received.length;
    const bids = [await placeBid(app, buyer), await placeBid(app, buyer), await placeBid(app, buyer)];
    // The relay's wake-up already dispatches; three more passes race it for the cursor row.
    const dispatcher = app.get(WebhookDispatcher);
    await Promise.all([
      dispatcher.dispatchPending(),
      dispatcher.dispatchPending(),
      dispatcher.dispatchPending(),
    ]);
    const rows = await waitFor('three deliveries', async () => {
      const found = await prisma.webhookDelivery.findMany({ where: { endpointId, status: 'SUCCEEDED' } });
      return found.length >= 3 ? found : undefined;
    });
    expect(rows).toHaveLength(3);
    const bodies = rows.map((row) => JSON.parse(row.body) as { aggregateId: string });
    expect(bodies.map((b) => b.aggregateId).sort()).toEqual(bids.map((b) => b.id).sort());
    await waitFor('three requests', () =>
      Promise.resolve(receiver.received.length >= before + 3 ? true : undefined),
    );

    // A delivery committed PENDING whose job never reached Redis (a crash in between): the sweep
    // enqueues it once it is overdue.
    const now = app.get(Clock).now();
    const stranded = rows[0]!;
    await prisma.webhookDelivery.update({
      where: { id: stranded.id },
      data: { status: 'PENDING', run: { increment: 1 }, nextAttemptAt: new Date(now.getTime() - 120_000) },
    });
    const report = await app.get(WebhookMaintenance).sweepStranded();
    expect(report.requeued).toBeGreaterThanOrEqual(1);
    await waitFor('the stranded delivery to succeed', async () => {
      const row = await prisma.webhookDelivery.findUniqueOrThrow({ where: { id: stranded.id } });
      return row.status === 'SUCCEEDED' ? row : undefined;
    });

    // Finished deliveries past the retention (30 days) go with their attempts; younger ones stay.
    const old = rows[1]!;
    await prisma.webhookDelivery.update({
      where: { id: old.id },
      data: { updatedAt: new Date(now.getTime() - 31 * 24 * 3_600_000) },
    });
    expect(await app.get(WebhookMaintenance).pruneDeliveries()).toBeGreaterThanOrEqual(1);
    expect(await prisma.webhookDelivery.findUnique({ where: { id: old.id } })).toBeNull();
    expect(await prisma.webhookDeliveryAttempt.count({ where: { deliveryId: old.id } })).toBe(0);
    expect(await prisma.webhookDelivery.count({ where: { endpointId } })).toBe(2);
  });

  it('refuses loopback, private, link-local, CGNAT, unspecified and multicast destinations without the test allowance', async () => {
    const refused = [
      'http://127.0.0.1/hook',
      'http://localhost:8080/hook',
      'http://[::1]/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://10.0.0.1/hook',
      'http://172.16.5.4/hook',
      'http://192.168.1.1/hook',
      'http://100.64.0.1/hook',
      'http://0.0.0.0/hook',
      'http://224.0.0.1/hook',
      'http://[fd00::1]/hook',
      'http://[fe80::1]/hook',
      'http://[::ffff:169.254.169.254]/hook',
      'ftp://example.com/hook',
      'http://user:pass@example.com/hook',
    ];
    for (const url of refused) {
      const res = await register(buyer, { url }, strict);
      expect([url, res.status]).toEqual([url, 400]);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    // Even with the allowance, only loopback opens up.
    await register(buyer, { url: 'http://10.0.0.1/hook' }).expect(400);
    await register(buyer, { url: 'http://169.254.169.254/hook' }).expect(400);
  });

  it('checks the address again when connecting, whatever was registered', async () => {
    const before = receiver.received.length;
    const client = new SafeWebhookClient(testConfig());
    const port = new URL(receiver.url).port;
    for (const url of [
      `http://localhost:${port}/x`,
      `http://127.0.0.1:${port}/x`,
      `http://[::ffff:127.0.0.1]:${port}/x`,
    ]) {
      await expect(client.post(url, {}, '{}')).rejects.toBeInstanceOf(RefusedDestinationError);
    }
    expect(receiver.received.length).toBe(before);
    const allowed = new SafeWebhookClient(config);
    await expect(allowed.post(`http://localhost:${port}/x`, {}, '{}')).resolves.toEqual({ status: 200 });
    expect(receiver.received.length).toBe(before + 1);
  });
});
