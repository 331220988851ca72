import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import request from 'supertest';
import { AppModule } from '@/app/app.module';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { startHttpApp } from '../support/http-app';
import { connectSse, type SseConnection } from '../support/sse-client';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { createSite, placeBid, placeOffer, removeMarketplaceData } from './marketplace-fixtures';

interface Envelope {
  id: string;
  seq: string;
  type: string;
  aggregateId: string;
  payload: Record<string, unknown>;
}

const HEARTBEAT_MS = 300;

/**
 * GET /v1/events/stream across two API processes (in-process Nest apps sharing PostgreSQL and
 * Redis, with a worker app running the relay): live events, then a reconnect to the other API
 * with Last-Event-ID receives exactly what was missed, in order, once, and only its own.
 */
describe('live event stream (SSE) across API processes', () => {
  const config = testConfig({
    RATE_LIMIT_PER_MINUTE: '100000',
    RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
    MATCHING_SWEEP_INTERVAL_MS: '3600000',
    SSE_HEARTBEAT_MS: String(HEARTBEAT_MS),
    SSE_MAX_STREAMS_PER_ORG: '2',
  });
  const apis: NestFastifyApplication[] = [];
  const urls: string[] = [];
  let worker: INestApplicationContext;
  let prisma: PrismaService;
  let buyer: TestTenant;
  let otherBuyer: TestTenant;
  let provider: TestTenant;
  const open: SseConnection[] = [];

  const stream = async (
    api: number,
    tenant: TestTenant,
    headers: Record<string, string> = {},
    query = '',
  ) => {
    const connection = await connectSse(`${urls[api]}/v1/events/stream${query}`, {
      ...tenant.auth,
      ...headers,
    });
    open.push(connection);
    return connection;
  };
  const envelopes = (connection: SseConnection): Envelope[] =>
    connection.events.filter((e) => e.event !== 'stream.reset').map((e) => JSON.parse(e.data) as Envelope);

  /** What the outbox holds for the organisation after `seq`, in commit (position) order, once published. */
  const visibleAfter = async (organisationId: string, seq: string): Promise<string[]> => {
    const rows = await prisma.$queryRaw<Array<{ seq: bigint }>>`
      SELECT seq FROM outbox_events
      WHERE stream_position > (SELECT stream_position FROM outbox_events WHERE seq = ${BigInt(seq)})
        AND audience && ARRAY[${organisationId}::uuid, '00000000-0000-0000-0000-000000000000'::uuid]
      ORDER BY stream_position`;
    return rows.map((row) => row.seq.toString());
  };
  const unpublished = async () => prisma.outboxEvent.count({ where: { publishedAt: null } });

  beforeAll(async () => {
    for (let i = 0; i < 2; i += 1) {
      const api = await startHttpApp(config);
      await api.listen({ port: 0, host: '127.0.0.1' });
      apis.push(api);
      urls.push(await api.getUrl());
    }
    worker = await NestFactory.createApplicationContext(
      AppModule.register(config, { api: false, worker: true }),
      {
        logger: false,
      },
    );
    await worker.init();
    prisma = apis[0]!.get(PrismaService);
    buyer = await registerOrganisation(apis[0]!, 'BUYER', { verified: true });
    otherBuyer = await registerOrganisation(apis[0]!, 'BUYER', { verified: true });
    provider = await registerOrganisation(apis[0]!, 'PROVIDER', { verified: true });
  });

  afterEach(() => {
    for (const connection of open.splice(0)) connection.close();
  });

  afterAll(async () => {
    const ids = [buyer, otherBuyer, provider].map((t) => t.organisationId);
    await removeMarketplaceData(apis[0]!, ids);
    await prisma.outboxEvent.deleteMany({ where: { aggregateType: 'test' } });
    await worker.close();
    for (const api of apis) await api.close();
  });

  it('streams live, then resumes on the other API process with exactly what was missed', async () => {
    const first = await stream(0, buyer);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(first.headers.get('x-request-id')).toBeTruthy();

    const bid1 = await placeBid(apis[0]!, buyer, { market: 'nvidia-h800-80gb' });
    await placeBid(apis[1]!, otherBuyer, { market: 'nvidia-h800-80gb' });
    const [live] = await first.waitForEvents(1);
    const liveEnvelope = JSON.parse(live!.data) as Envelope;
    expect(live).toMatchObject({ event: 'bid.placed', id: liveEnvelope.seq });
    expect(liveEnvelope).toMatchObject({ type: 'bid.placed', aggregateId: bid1.id });
    first.close();
    const resumeFrom = first.lastEventId()!;
    expect(resumeFrom).toBe(liveEnvelope.seq);

    // Missed while disconnected: a second bid, a cancel, another tenant's bid, and a match.
    const bid2 = await placeBid(apis[1]!, buyer, {
      market: 'nvidia-h800-80gb',
      // Above the other buyer's resting bids, so this one takes the offer.
      maxPricePerGpuHour: '25.00',
      gpus: 4,
      minGpusPerSite: 4,
      partialAllowed: false,
      billingMode: 'RESERVED',
      durationHours: 2,
    });
    await request(apis[0]!.getHttpServer()).post(`/v1/bids/${bid1.id}/cancel`).set(buyer.auth).expect(200);
    await placeBid(apis[0]!, otherBuyer, { market: 'nvidia-h800-80gb' });
    const site = await createSite(apis[0]!, provider);
    const offer = await placeOffer(apis[0]!, provider, site.id, { market: 'nvidia-h800-80gb', gpus: 4 });
    const lease = await waitFor('the match', () =>
      prisma.lease.findFirst({ where: { bidId: bid2.id } }).then((row) => row ?? undefined),
    );
    await waitFor('the relay', async () => ((await unpublished()) === 0 ? true : undefined));
    const missed = await visibleAfter(buyer.organisationId, resumeFrom);
    expect(missed.length).toBeGreaterThanOrEqual(4);

    const second = await stream(1, buyer, { 'last-event-id': resumeFrom });
    expect(second.status).toBe(200);
    await second.waitForEvents(missed.length);
    // A few heartbeats more: nothing else (no duplicate, nothing of another tenant) may follow.
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS * 3));
    const received = envelopes(second);
    expect(second.events.map((e) => e.id)).toEqual(missed);
    expect(received.map((e) => e.seq)).toEqual(missed);
    expect(new Set(missed).size).toBe(missed.length);
    expect(received.map((e) => e.type)).toEqual(
      expect.arrayContaining(['bid.placed', 'bid.cancelled', 'lease.created', 'order.filled']),
    );
    expect(JSON.stringify(received)).not.toContain(otherBuyer.organisationId);
    // The buyer's view of the lease: not the provider's offer, site or identity.
    const leaseCreated = received.find((e) => e.type === 'lease.created')!;
    expect(leaseCreated.payload).toMatchObject({ leaseId: lease.id, bidId: bid2.id, gpus: 4 });
    expect(JSON.stringify(leaseCreated)).not.toContain(offer.id);
    expect(JSON.stringify(leaseCreated)).not.toContain(provider.organisationId);
    expect(JSON.stringify(leaseCreated)).not.toContain(site.id);
    expect(second.comments).toContain('heartbeat');
  });

  it('delivers an event whose lower seq committed after a higher one the client already had', async () => {
    const insert = (db: Client, note: string) =>
      db.query<{ seq: string }>(
        `INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, occurred_at, audience)
         VALUES (gen_random_uuid(), 'bid.placed', 'test', $1, $2, now(), ARRAY[$3::uuid])
         RETURNING seq::text`,
        [note, JSON.stringify({ organisationId: buyer.organisationId, note }), buyer.organisationId],
      );
    const slow = new Client({ connectionString: config.env.DATABASE_URL });
    const fast = new Client({ connectionString: config.env.DATABASE_URL });
    await slow.connect();
    await fast.connect();
    try {
      const connection = await stream(0, buyer);
      await slow.query('BEGIN');
      const lower = (await insert(slow, 'late')).rows[0]!.seq;
      const higher = (await insert(fast, 'early')).rows[0]!.seq;
      expect(BigInt(lower)).toBeLessThan(BigInt(higher));
      const [early] = await connection.waitForEvents(1);
      expect(early!.id).toBe(higher);
      connection.close();

      await slow.query('COMMIT');
      await waitFor('the relay', async () => ((await unpublished()) === 0 ? true : undefined));
      const resumed = await stream(1, buyer, { 'last-event-id': higher });
      const [late] = await resumed.waitForEvents(1);
      expect(late!.id).toBe(lower);
      await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS * 2));
      expect(resumed.events.map((e) => e.id)).toEqual([lower]);
    } finally {
      await slow.end();
      await fast.end();
    }
  });

  it('takes the cursor from ?lastEventId=, refuses a malformed one, and resets an unknown one', async () => {
    await placeBid(apis[0]!, otherBuyer, { market: 'nvidia-h800-80gb' });
    await waitFor('the relay', async () => ((await unpublished()) === 0 ? true : undefined));
    const [latest] = await prisma.$queryRaw<Array<{ seq: bigint }>>`
      SELECT seq FROM outbox_events WHERE audience @> ARRAY[${otherBuyer.organisationId}::uuid]
      ORDER BY stream_position DESC LIMIT 1`;
    const previous = await prisma.$queryRaw<Array<{ seq: bigint }>>`
      SELECT seq FROM outbox_events WHERE audience @> ARRAY[${otherBuyer.organisationId}::uuid]
      ORDER BY stream_position DESC LIMIT 1 OFFSET 1`;
    const fromQuery = await stream(1, otherBuyer, {}, `?lastEventId=${previous[0]!.seq}`);
    const [event] = await fromQuery.waitForEvents(1);
    expect(event!.id).toBe(latest!.seq.toString());
    fromQuery.close();

    const malformed = await stream(0, otherBuyer, { 'last-event-id': 'abc' });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'VALIDATION_FAILED' });

    // Another tenant's event id is as unknown as a pruned one.
    const [foreign] = await prisma.$queryRaw<Array<{ seq: bigint }>>`
      SELECT seq FROM outbox_events WHERE audience @> ARRAY[${buyer.organisationId}::uuid]
      ORDER BY stream_position DESC LIMIT 1`;
    const reset = await stream(0, otherBuyer, { 'last-event-id': foreign!.seq.toString() });
    const [resetEvent] = await reset.waitForEvents(1);
    expect(resetEvent).toMatchObject({ event: 'stream.reset', id: latest!.seq.toString() });
    expect(JSON.parse(resetEvent!.data)).toMatchObject({ reason: 'UNKNOWN_CURSOR' });
  });

  it('caps open streams per organisation across processes and frees a slot on disconnect', async () => {
    const a = await stream(0, provider);
    const b = await stream(1, provider);
    expect([a.status, b.status]).toEqual([200, 200]);
    const refused = await stream(0, provider);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBeTruthy();
    // Another organisation has slots of its own.
    expect((await stream(1, otherBuyer)).status).toBe(200);
    a.close();
    await waitFor('the slot to be released', async () => {
      const again = await stream(1, provider);
      if (again.status === 200) return true;
      return undefined;
    });
  });

  it('ends open streams when the API closes, so shutdown does not wait on them', async () => {
    const api = await startHttpApp(config);
    await api.listen({ port: 0, host: '127.0.0.1' });
    const connection = await connectSse(`${await api.getUrl()}/v1/events/stream`, buyer.auth);
    expect(connection.status).toBe(200);
    const started = Date.now();
    await api.close();
    await connection.ended;
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
