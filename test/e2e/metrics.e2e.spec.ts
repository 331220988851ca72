import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import request from 'supertest';
import { AppConfig } from '@/infra/config/app-config';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { MATCHING_TRIGGERS } from '@/modules/matching/matching-trigger';
import { MetricsCountersService } from '@/infra/metrics/metrics-counters.service';
import { fundBuyer } from '../support/funding';
import { startHttpApp } from '../support/http-app';
import { ledgerViolations } from '../support/ledger-invariants';
import { parseExposition, valueOf, type Sample } from '../support/prometheus';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { leaseBetween, quiet } from './lease-fixtures';
import { createSite, removeMarketplaceData } from './marketplace-fixtures';

// A market no e2e suite trades in, so the lease counted here is this suite's.
const MARKET = 'nvidia-rtx-4090-24gb';
const CLOSED_POSTGRES = 'postgresql://postgres@127.0.0.1:5439/compute_exchange_test_down';
const TOKEN = 'metrics-token-for-tests-0123456789';

async function scrape(app: NestFastifyApplication, auth?: string): Promise<Sample[]> {
  const req = request(app.getHttpServer()).get('/metrics');
  const res = await (auth === undefined ? req : req.set('authorization', auth)).expect(200);
  return parseExposition(res.text);
}

/** What the ledger tables hold, by kind: the figures the trigger-kept counters must equal. */
async function ledgerTotals(
  prisma: PrismaService,
): Promise<Map<string, { transfers: number; amount: number }>> {
  const rows = await prisma.$queryRaw<Array<{ kind: string; transfers: bigint; amount: bigint }>>`
    SELECT t.kind::text AS kind, count(*) AS transfers,
           COALESCE(sum((SELECT sum(e.amount) FROM ledger_entries e WHERE e.transfer_id = t.id AND e.amount > 0)), 0)::bigint AS amount
    FROM ledger_transfers t WHERE t.currency = 'CNY' GROUP BY t.kind`;
  return new Map(rows.map((r) => [r.kind, { transfers: Number(r.transfers), amount: Number(r.amount) }]));
}

/**
 * /metrics over HTTP after a scenario run by the API and the worker in one process: a top-up
 * and a bid that match into a lease, a job that fails. Every figure is read back from the
 * exposition. Budget: ~10 s.
 */
describe('/metrics after a scenario', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let provider: TestTenant;
  let buyer: TestTenant;
  const ids: string[] = [];

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({ RATE_LIMIT_PER_MINUTE: '100000', MATCHING_SWEEP_INTERVAL_MS: '3600000' }),
      { api: true, worker: true },
    );
    prisma = app.get(PrismaService);
  });

  afterAll(async () => {
    await quiet(app);
    expect(await ledgerViolations(prisma, ids)).toEqual([]);
    await removeMarketplaceData(app, ids);
    await app.close();
  });

  it('counts the lease, its GPU-hours, the transfers and the jobs', async () => {
    const before = await scrape(app);
    const outboxBefore = await prisma.outboxEvent.count();
    const value = (samples: Sample[], name: string, labels: Record<string, string>) =>
      valueOf(samples, name, labels) ?? 0;

    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    // Registration funds the buyer with one TOPUP transfer of 10,000.00 CNY.
    buyer = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor: 1_000_000n });
    ids.push(provider.organisationId, buyer.organisationId);
    const site = await createSite(app, provider, { provinceCode: '520000', cityCode: '520100' });
    // 2 GPUs x 3 h at 10.00: a hold of 60.00 and 6 GPU-hours filled.
    await leaseBetween(
      app,
      { provider, buyer, siteId: site.id },
      { market: MARKET, gpus: 2, price: '10.00', durationHours: 3, billingMode: 'RESERVED' },
    );
    // A job the worker refuses (payload fails validation): BullMQ gives up at once.
    const producer = app.get(JobProducer);
    const bad = await producer.queue('maintenance').add('maintenance.prune', { trigger: 7 });
    await waitFor('the bad job to fail', async () =>
      (await bad.getState()) === 'failed' ? true : undefined,
    );
    await quiet(app);
    const outboxDelta = (await prisma.outboxEvent.count()) - outboxBefore;

    // Outcomes are counted just after each job's end: wait until all are in. Until retention
    // removes any, a queue's counted completions equal its completed set.
    const settled = (samples: Sample[]) =>
      value(samples, 'jobs_failed_total', { queue: 'maintenance', job: 'maintenance.prune' }) === 1 &&
      ['events', 'matching', 'leases'].every(
        (queue) =>
          samples
            .filter((s) => s.name === 'jobs_completed_total' && s.labels.queue === queue)
            .reduce((sum, s) => sum + s.value, 0) ===
          value(samples, 'queue_jobs', { queue, state: 'completed' }),
      );
    const after = await waitFor('every job outcome to be counted', async () => {
      const samples = await scrape(app);
      return settled(samples) ? samples : undefined;
    });
    const delta = (name: string, labels: Record<string, string>) =>
      value(after, name, labels) - value(before, name, labels);

    expect(delta('matching_leases_created_total', { market: MARKET })).toBe(1);
    expect(delta('matching_filled_gpu_hours_total', { market: MARKET })).toBe(6);
    // The run that made the lease committed once; nothing stalled.
    expect(delta('matching_commits_total', { market: MARKET })).toBe(1);
    expect(delta('matching_stale_commits_total', { market: MARKET })).toBe(0);
    expect(delta('ledger_transfers_total', { kind: 'TOPUP', currency: 'CNY' })).toBe(1);
    expect(delta('ledger_transfer_amount_minor_total', { kind: 'TOPUP', currency: 'CNY' })).toBe(1_000_000);
    expect(delta('ledger_transfers_total', { kind: 'BID_HOLD', currency: 'CNY' })).toBe(1);
    expect(delta('ledger_transfer_amount_minor_total', { kind: 'BID_HOLD', currency: 'CNY' })).toBe(6_000);
    // The counters equal the ledger tables, kind by kind.
    const totals = await ledgerTotals(prisma);
    expect(totals.size).toBeGreaterThan(1);
    for (const [kind, total] of totals) {
      expect({ kind, ...total }).toEqual({
        kind,
        transfers: value(after, 'ledger_transfers_total', { kind, currency: 'CNY' }),
        amount: value(after, 'ledger_transfer_amount_minor_total', { kind, currency: 'CNY' }),
      });
    }

    // This app's Redis prefix is its own, so the job counters started at zero.
    expect(outboxDelta).toBeGreaterThan(0);
    // Orders reach matching straight from the relay: no deliver job carries an order event. (The
    // reconciler may deliver a `lease.started` that an earlier suite's app left unconsumed in this
    // database, so the count of deliver jobs is not zero by itself.)
    const delivered = await producer.queue('events').getJobs(['completed', 'failed', 'waiting', 'active']);
    const orderEvents = delivered.filter((job) =>
      (MATCHING_TRIGGERS as readonly string[]).includes((job.data as { type: string }).type),
    );
    expect(orderEvents.map((job) => (job.data as { type: string }).type)).toEqual([]);
    expect(value(after, 'jobs_completed_total', { queue: 'events', job: 'events.deliver' })).toBe(
      delivered.filter(
        (job) => job.name === 'events.deliver' && job.finishedOn !== undefined && !job.failedReason,
      ).length,
    );
    expect(value(after, 'jobs_completed_total', { queue: 'matching', job: 'matching.run' })).toBeGreaterThan(
      0,
    );
    expect(value(after, 'jobs_retried_total', { queue: 'maintenance', job: 'maintenance.prune' })).toBe(0);
    expect(value(after, 'queue_jobs', { queue: 'maintenance', state: 'failed' })).toBe(1);
    for (const queue of ['events', 'matching', 'leases']) {
      expect(value(after, 'queue_jobs', { queue, state: 'waiting' })).toBe(0);
      expect(value(after, 'queue_oldest_waiting_age_seconds', { queue })).toBe(0);
    }
    expect(value(after, 'outbox_unpublished_events', {})).toBe(0);
  });

  it('labels latency by route template and status, for 401 and 404 too', async () => {
    const http = () => request(app.getHttpServer());
    await http().get('/v1/billing/balance').expect(401);
    await http().get('/v1/leases/0193a0f6-6c52-7a4e-9a51-2f0a6f3c1d2e').set(buyer.auth).expect(404);
    await http().get('/no/such/route').expect(404);
    const samples = await scrape(app);
    const count = (route: string, status: string) =>
      valueOf(samples, 'http_request_duration_seconds_count', { method: 'GET', route, status });
    expect(count('/v1/billing/balance', '401')).toBe(1);
    expect(count('/v1/leases/:id', '404')).toBe(1);
    expect(count('unmatched', '404')).toBe(1);
    expect(
      samples.some((s) => s.labels.route?.includes('0193a0f6') || s.labels.route === '/no/such/route'),
    ).toBe(false);
  });

  it('folds the counter slot of a closed connection without changing a total', async () => {
    const topUps = async () =>
      valueOf(await scrape(app), 'ledger_transfers_total', { kind: 'TOPUP', currency: 'CNY' });
    const amounts = async () =>
      valueOf(await scrape(app), 'ledger_transfer_amount_minor_total', { kind: 'TOPUP', currency: 'CNY' });
    const [transfersBefore, amountBefore] = [await topUps(), await amounts()];
    const client = new Client({ connectionString: app.get(AppConfig).env.DATABASE_URL });
    await client.connect();
    const [{ pid }] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows as [
      { pid: number },
    ];
    await fundBuyer((sql, ...params) => client.query(sql, params), buyer.organisationId, 500n);
    await client.end();
    const [transfersFunded, amountFunded] = [await topUps(), await amounts()];
    const slotRows = () => prisma.ledgerTransferCounter.count({ where: { slot: pid } });
    expect(await slotRows()).toBe(1);
    await waitFor('the backend to exit', async () => {
      const rows = await prisma.$queryRaw<unknown[]>`SELECT 1 FROM pg_stat_activity WHERE pid = ${pid}`;
      return rows.length === 0 ? true : undefined;
    });

    expect(await app.get(MetricsCountersService).foldGoneSlots()).toBeGreaterThanOrEqual(1);
    expect(await slotRows()).toBe(0);
    // Folding changes no total, to the last digit of the sample.
    expect(await topUps()).toBe(transfersFunded);
    expect(await amounts()).toBe(amountFunded);
    expect(transfersFunded).toBe((transfersBefore ?? 0) + 1);
    // Samples are float64: past 2^53 (other suites in this database post such amounts) the
    // total is exact only to the spacing of doubles at its size.
    const before = amountBefore ?? 0;
    const spacing = before > 2 ** 53 ? 2 ** (Math.floor(Math.log2(before)) - 52) : 0;
    expect(Math.abs((amountFunded ?? 0) - before - 500)).toBeLessThanOrEqual(spacing);
  });
});

describe('backlog in /metrics and readiness without a worker', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  const eventId = '0193a0f6-6c52-7a4e-9a51-00000000e7e1';

  beforeAll(async () => {
    app = await startHttpApp(testConfig({ METRICS_TOKEN: TOKEN }));
    prisma = app.get(PrismaService);
  });

  afterAll(async () => {
    await prisma.outboxEvent.deleteMany({ where: { id: eventId } });
    await app.close();
  });

  it('shows queue depth, oldest waiting age and the outbox backlog, and stays ready', async () => {
    const maintenance = app.get(JobProducer).queue('maintenance');
    const tenMinutesAgo = Date.now() - 600_000;
    await maintenance.add('maintenance.prune', {}, { timestamp: tenMinutesAgo });
    await maintenance.add('maintenance.prune', {});
    await maintenance.add('maintenance.prune', {}, { delay: 3_600_000 });
    // Nobody relays events in this process: one committed five minutes ago stays unpublished.
    await prisma.outboxEvent.create({
      data: {
        id: eventId,
        type: 'offer.placed',
        aggregateType: 'offer',
        aggregateId: eventId,
        payload: {},
        occurredAt: new Date(Date.now() - 300_000),
      },
    });

    const samples = await scrape(app, `Bearer ${TOKEN}`);
    expect(valueOf(samples, 'queue_jobs', { queue: 'maintenance', state: 'waiting' })).toBe(2);
    expect(valueOf(samples, 'queue_jobs', { queue: 'maintenance', state: 'delayed' })).toBe(1);
    expect(valueOf(samples, 'queue_jobs', { queue: 'matching', state: 'waiting' })).toBe(0);
    const age = valueOf(samples, 'queue_oldest_waiting_age_seconds', { queue: 'maintenance' }) ?? -1;
    expect(age).toBeGreaterThanOrEqual(600);
    expect(age).toBeLessThan(900);
    expect(valueOf(samples, 'outbox_unpublished_events')).toBe(1);
    expect(valueOf(samples, 'outbox_oldest_unpublished_age_seconds')).toBeGreaterThanOrEqual(300);

    const ready = await request(app.getHttpServer()).get('/health/ready').expect(200);
    const details = (ready.body as { details: Record<string, Record<string, unknown>> }).details;
    expect(details.postgres).toEqual({ status: 'up' });
    expect(details.outbox).toMatchObject({ status: 'up', unpublished: 1 });
    expect(details.queues).toMatchObject({
      status: 'up',
      maintenance: { waiting: 2, active: 0, delayed: 1, failed: 0 },
      matching: { waiting: 0, oldestWaitingAgeSeconds: 0 },
    });
    expect(
      (details.queues?.maintenance as { oldestWaitingAgeSeconds: number }).oldestWaitingAgeSeconds,
    ).toBeGreaterThanOrEqual(600);
  });

  it('refuses anything but the exact bearer token', async () => {
    const http = () => request(app.getHttpServer());
    for (const auth of [
      undefined,
      TOKEN,
      `Token ${TOKEN}`,
      `Bearer ${TOKEN}x`,
      `bearer ${TOKEN}`,
      'Bearer ',
    ]) {
      const req = http().get('/metrics');
      const res = await (auth === undefined ? req : req.set('authorization', auth)).expect(401);
      expect(res.body).toMatchObject({ statusCode: 401, code: 'UNAUTHENTICATED' });
    }
    expect(
      valueOf(await scrape(app, `Bearer ${TOKEN}`), 'queue_jobs', { queue: 'events', state: 'waiting' }),
    ).toBe(0);
  });
});

describe('/metrics with PostgreSQL down', () => {
  it('still answers with the process, HTTP and queue metrics', async () => {
    const app = await startHttpApp(testConfig({ DATABASE_URL: CLOSED_POSTGRES }));
    try {
      await request(app.getHttpServer()).get('/health/ready').expect(503);
      const samples = await scrape(app);
      expect(valueOf(samples, 'process_cpu_seconds_total')).toBeGreaterThan(0);
      expect(valueOf(samples, 'queue_jobs', { queue: 'matching', state: 'waiting' })).toBe(0);
      expect(
        valueOf(samples, 'http_request_duration_seconds_count', { route: '/health/ready', status: '503' }),
      ).toBe(1);
      // Read from PostgreSQL: absent, never a made-up zero.
      expect(samples.filter((s) => s.name.startsWith('matching_') || s.name.startsWith('ledger_'))).toEqual(
        [],
      );
    } finally {
      await app.close();
    }
  });
});
