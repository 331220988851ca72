import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { WebhookDispatcher } from '@/modules/webhooks/webhook-dispatcher.service';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { statementsOfCall } from '../support/pg-statements';
import { placeBid, removeMarketplaceData } from './marketplace-fixtures';

/** A loopback receiver that answers 200 and records each request's path and webhook-id. */
async function startReceiver(): Promise<{ server: Server; url: string; received: string[] }> {
  const received: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push(`${req.url ?? ''} ${String(req.headers['webhook-id'])}`);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

/**
 * Two worker processes' dispatchers (two apps here, each with its own pool) against one cursor
 * (docs/EVENTS.md "Webhooks"): neither waits for the other's lock, every event reaches every
 * subscribed endpoint once, and a pass costs the statements pinned below.
 */
describe('webhook dispatch with two dispatchers', () => {
  const config = testConfig({
    RATE_LIMIT_PER_MINUTE: '100000',
    RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
    MATCHING_SWEEP_INTERVAL_MS: '3600000',
    WEBHOOK_ALLOW_LOOPBACK: 'true',
    WEBHOOK_DISPATCH_INTERVAL_MS: '3600000',
  });
  let a: NestFastifyApplication;
  let b: NestFastifyApplication;
  let prisma: PrismaService;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let buyer: TestTenant;
  const endpoints: Record<'bids' | 'all', string> = { bids: '', all: '' };
  // Statements of the pass run inside `counting.run`: every statement goes through Client#query.
  const counting = new AsyncLocalStorage<string[]>();
  const original = Object.getOwnPropertyDescriptor(Client.prototype, 'query')!;

  const register = async (path: string, eventTypes: string[]): Promise<string> => {
    const res = await request(a.getHttpServer())
      .post('/v1/webhooks')
      .set(buyer.auth)
      .set('idempotency-key', randomUUID())
      .send({ url: `${receiver.url}${path}`, eventTypes })
      .expect(201);
    return (res.body as { id: string }).id;
  };
  const published = (bidId: string) =>
    waitFor(`bid ${bidId} published`, async () => {
      const row = await prisma.outboxEvent.findFirst({
        where: { aggregateId: bidId, type: 'bid.placed', streamPosition: { not: null } },
      });
      return row ?? undefined;
    });
  const statementsOf = async (pass: () => Promise<unknown>): Promise<string[]> => {
    const seen: string[] = [];
    await counting.run(seen, pass);
    return seen;
  };

  beforeAll(async () => {
    const query = original.value as (...args: unknown[]) => unknown;
    Object.defineProperty(Client.prototype, 'query', {
      ...original,
      value: function (this: Client, ...args: unknown[]): unknown {
        counting.getStore()?.push(...statementsOfCall(args[0]));
        return query.apply(this, args);
      },
    });
    receiver = await startReceiver();
    a = await startHttpApp(config, { api: true, worker: true });
    b = await startHttpApp(config, { api: true, worker: true });
    prisma = a.get(PrismaService);
    buyer = await registerOrganisation(a, 'BUYER', { verified: true });
  });

  afterAll(async () => {
    Object.defineProperty(Client.prototype, 'query', original);
    await prisma.webhookEndpoint.deleteMany({ where: { organisationId: buyer.organisationId } });
    await removeMarketplaceData(a, [buyer.organisationId]);
    await b.close();
    await a.close();
    await new Promise((resolve) => receiver.server.close(resolve));
  });

  it('skips a cursor another dispatcher holds, without waiting, and passes again once it is free', async () => {
    endpoints.bids = await register('/hooks/bids', ['bid.placed']);
    endpoints.all = await register('/hooks/all', []);
    const holder = new Client({ connectionString: config.env.DATABASE_URL });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT position FROM webhook_dispatch_cursor WHERE id = 1 FOR UPDATE');
      const bid = await placeBid(a, buyer);
      const event = await published(bid.id);
      // A dispatcher that waited for the row lock would not return before the ROLLBACK below.
      expect(
        await Promise.all([
          a.get(WebhookDispatcher).dispatchPending(),
          b.get(WebhookDispatcher).dispatchPending(),
        ]),
      ).toEqual([0, 0]);
      expect(await prisma.webhookDelivery.count({ where: { eventId: event.id } })).toBe(0);
      await holder.query('ROLLBACK');
      // No further wake-up: the skipped passes come back by themselves.
      const rows = await waitFor('deliveries after the holder let go', async () => {
        const found = await prisma.webhookDelivery.findMany({ where: { eventId: event.id } });
        return found.length === 2 ? found : undefined;
      });
      expect(rows.map((r) => r.endpointId).sort()).toEqual([endpoints.all, endpoints.bids].sort());
    } finally {
      await holder.end();
    }
  });

  it('delivers each of many events once per subscribed endpoint while both dispatchers race', async () => {
    if (endpoints.bids === '') endpoints.bids = await register('/hooks/bids', ['bid.placed']);
    if (endpoints.all === '') endpoints.all = await register('/hooks/all', []);
    const dispatchers = [a.get(WebhookDispatcher), b.get(WebhookDispatcher)];
    const bids: string[] = [];
    // Placements through both APIs while both dispatchers pass over and over.
    for (let round = 0; round < 5; round += 1) {
      const placed = await Promise.all([a, b, a, b].map((app) => placeBid(app, buyer)));
      bids.push(...placed.map((bid) => bid.id));
      await Promise.all(dispatchers.map((d) => d.dispatchPending()));
    }
    const events = await Promise.all(bids.map((id) => published(id)));
    const ids = events.map((e) => e.id).sort();
    const perEndpoint = async (endpointId: string): Promise<string[] | undefined> => {
      const rows = await prisma.webhookDelivery.findMany({
        where: { endpointId, eventId: { in: ids }, status: 'SUCCEEDED' },
        select: { eventId: true },
      });
      return rows.length >= ids.length ? rows.map((r) => r.eventId).sort() : undefined;
    };
    expect(await waitFor('bid deliveries', () => perEndpoint(endpoints.bids))).toEqual(ids);
    expect(await waitFor('catch-all deliveries', () => perEndpoint(endpoints.all))).toEqual(ids);
    // Each endpoint's receiver saw each event exactly once.
    await waitFor('every request', () =>
      Promise.resolve(
        ['/hooks/bids', '/hooks/all'].every(
          (path) => ids.filter((id) => receiver.received.includes(`${path} ${id}`)).length === ids.length,
        )
          ? true
          : undefined,
      ),
    );
    for (const path of ['/hooks/bids', '/hooks/all']) {
      const mine = receiver.received.filter((r) => ids.some((id) => r === `${path} ${id}`));
      expect(new Set(mine).size).toBe(mine.length);
      expect(mine).toHaveLength(ids.length);
    }
  });

  it('costs four statements in a transaction per pass with endpoints, one and no transaction without', async () => {
    // Only the passes run below: both dispatchers stop answering wake-ups (the schedule is hourly).
    for (const app of [a, b]) await app.get(WebhookDispatcher).beforeApplicationShutdown();
    const dispatcher = a.get(WebhookDispatcher);
    // A dispatcher that never held the cursor (the other one won every pass above) has not seen
    // the endpoints, and its next pass starts with the no-endpoint check: one pass first.
    await dispatcher.dispatchPending();
    const bid = await placeBid(a, buyer);
    const event = await published(bid.id);
    let created = 0;
    const writing = await statementsOf(async () => {
      created = await dispatcher.dispatchPending();
    });
    expect(created).toBe(2);
    expect(await prisma.webhookDelivery.count({ where: { eventId: event.id } })).toBe(2);
    // BEGIN, take the cursor, read the events, find the endpoints, write and move, COMMIT.
    const idle = await statementsOf(() => dispatcher.dispatchPending());
    // BEGIN, take the cursor, read nothing, COMMIT.

    await prisma.webhookEndpoint.deleteMany({ where: { organisationId: buyer.organisationId } });
    // "No enabled endpoint" is database-wide, and suites that ran earlier in this jest worker's
    // database may have left theirs enabled: disable them for this pass, and restore them after.
    const others = await prisma.webhookEndpoint.findMany({ where: { enabled: true }, select: { id: true } });
    const otherIds = others.map((endpoint) => endpoint.id);
    await prisma.webhookEndpoint.updateMany({ where: { id: { in: otherIds } }, data: { enabled: false } });
    let last: Awaited<ReturnType<typeof published>>;
    let skipping: string[];
    try {
      expect(await prisma.webhookEndpoint.count({ where: { enabled: true } })).toBe(0);
      await dispatcher.dispatchPending();
      last = await published((await placeBid(a, buyer)).id);
      skipping = await statementsOf(() => dispatcher.dispatchPending());
    } finally {
      await prisma.webhookEndpoint.updateMany({ where: { id: { in: otherIds } }, data: { enabled: true } });
    }
    // The newest position read and the cursor moved in one statement: no transaction.
    process.stdout.write(
      `webhook dispatch statements per pass: writing ${writing.length}, idle ${idle.length}, ` +
        `no endpoints ${skipping.length}\n${[...writing, ...idle, ...skipping].join('\n')}\n`,
    );
    expect(writing).toHaveLength(6);
    expect(idle).toHaveLength(4);
    expect(skipping).toHaveLength(1);
    const cursor = await prisma.webhookDispatchCursor.findUniqueOrThrow({ where: { id: 1 } });
    expect(cursor.position).toBeGreaterThanOrEqual(last.streamPosition!);
  });
});
