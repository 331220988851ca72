import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Job } from 'bullmq';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Clock } from '@/infra/clock/clock';
import type { ControllableClock } from '@/infra/clock/controllable-clock';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { dueJobId, JobProducer } from '@/infra/queues/job-producer.service';
import { matchMarket } from '@/modules/matching/domain/match-market';
import { CLEARING_REASON, runDeduplicationId } from '@/modules/matching/matching-scheduler';
import { windowRunJobPrefix } from '@/modules/matching/matching-trigger';
import { BEIJING, bid as bookBid, GUIZHOU, NOW, offer as bookOffer } from '../matching/book-fixtures';
import { createAdminWithCli } from '../support/admin-cli';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, signIn, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import {
  createSite,
  createTestMarket,
  placeBid,
  placeOffer,
  removeMarketplaceData,
  removeTestMarket,
} from './marketplace-fixtures';

type Auth = { authorization: string };

const WINDOW_MS = 60_000;

/**
 * CALL markets over HTTP, API and workers in one process on the controllable clock
 * (docs/MATCHING.md "Call markets"): an admin sets the mode (audited), orders rest until the
 * window's clearing, and a clearing allocates as the solver says. BullMQ delays run on this
 * machine's time, so a test reaches a clearing by moving the clock to its instant and promoting
 * the one delayed job that carries it, instead of waiting out the window (budget: ~20 s). That
 * holds only while no delayed job comes due by itself: the clock starts on one of the market's
 * clearing instants, so a clearing is a whole window (60 s, twice a test's timeout) of this
 * machine's time away.
 */
describe('call markets through the API and workers', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let clock: ControllableClock;
  let admin: Auth;
  let provider: TestTenant;
  let buyer: TestTenant;
  let guizhou: { id: string };
  let beijing: { id: string };
  let market: { id: string; slug: string };
  /** The market's phase in its window once CALL (the database sets it: markets.call_phase_ms). */
  let phase = 0;
  /** The phase the market will take with this window, on which the clock starts (beforeAll). */
  let startPhase = 0;
  /** The instant of the market's next clearing after `now`: a multiple of the window plus the phase. */
  const nextInstant = (now: number) => (Math.floor((now - phase) / WINDOW_MS) + 1) * WINDOW_MS + phase;
  const adminEmail = `call-admin-${randomUUID()}@platform.test`;
  const adminPassword = 'call market admin passphrase';
  const ids: string[] = [];
  const http = () => request(app.getHttpServer());
  const queue = () => app.get(JobProducer).queue('matching');

  const bidStatus = async (id: string) =>
    ((await http().get(`/v1/bids/${id}`).set(buyer.auth).expect(200)).body as { status: string }).status;
  const bidReaches = (id: string, status: string) =>
    waitFor(`bid ${id} to be ${status}`, async () => ((await bidStatus(id)) === status ? true : undefined));
  const leasesOf = (bidIds: string[]) =>
    prisma.lease.findMany({ where: { bidId: { in: bidIds } }, orderBy: { pricePerGpuHour: 'asc' } });
  const epoch = async () =>
    (await prisma.marketMatching.findUniqueOrThrow({ where: { marketId: market.id } })).epoch;
  const changes = () =>
    prisma.outboxEvent.findMany({
      where: { aggregateId: market.id, type: 'market.matching_changed' },
      orderBy: { seq: 'asc' },
    });
  const auditOf = (action: string) =>
    prisma.auditLogEntry.findMany({ where: { targetId: market.id, action }, orderBy: { createdAt: 'asc' } });

  /** Every event relayed, no matching job waiting or running, and the market's clearing delayed. */
  const clearingWaits = () =>
    waitFor('the market to wait for its clearing', async () => {
      let busy = await prisma.outboxEvent.count({ where: { publishedAt: null } });
      for (const name of ['events', 'matching'] as const) {
        const counts = await app.get(JobProducer).queue(name).getJobCounts('wait', 'active', 'prioritized');
        busy += (counts.wait ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0);
      }
      if (busy > 0) return undefined;
      const id = await queue().getDeduplicationJobId(runDeduplicationId(market.id));
      const job = id === null ? undefined : ((await queue().getJob(id)) as Job | undefined);
      return job !== undefined && (await job.getState()) === 'delayed' ? job : undefined;
    });

  /** The window's end: the clock moves to the clearing's instant, and its job is due. */
  async function clear(job: Job, at: number): Promise<void> {
    await clock.set(new Date(at));
    await job.promote();
  }

  const quote = async (terms: Record<string, unknown> = {}) =>
    (
      await http()
        .post('/v1/bids/quote')
        .set(buyer.auth)
        .send({
          market: market.slug,
          gpus: 4,
          maxPricePerGpuHour: '20.00',
          durationHours: 24,
          partialAllowed: true,
          billingMode: 'PAY_PER_USE',
          ...terms,
        })
        .expect(200)
    ).body as { fillableGpus: number; matchingMode: string; nextClearingAt: string | null };

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
        // No backstop run: every clearing here is the one the market's events scheduled.
        MATCHING_SWEEP_INTERVAL_MS: '3600000',
        CLOCK: 'controllable',
      }),
      { api: true, worker: true },
    );
    prisma = app.get(PrismaService);
    clock = app.get<Clock, ControllableClock>(Clock);
    // Created CONTINUOUS: the admin endpoint makes it a CALL market.
    market = await createTestMarket(app, { matchingMode: 'CONTINUOUS' });
    // The clock starts on a clearing instant of the market, not where the process started: a start
    // just before a clearing instant put the first clearing that close in this machine's time too,
    // and BullMQ ran it early (in the clock's time) before the test promoted it, so the epoch moved
    // before "nothing ran" was checked, or the pair filled and the promotion failed.
    const [free] = await prisma.$queryRaw<[{ phase: number }]>`
      SELECT markets_free_call_phase(${WINDOW_MS}::integer, ARRAY[${market.id}::uuid]) AS phase`;
    startPhase = free.phase;
    phase = startPhase;
    await clock.set(new Date(nextInstant(clock.now().getTime())));
    const created = await createAdminWithCli(adminEmail, adminPassword);
    if (created.code !== 0) throw new Error(`admin CLI failed: ${created.stderr}`);
    admin = (await signIn(app, { email: adminEmail, password: adminPassword })).auth;
    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    buyer = await registerOrganisation(app, 'BUYER', { verified: true });
    ids.push(provider.organisationId, buyer.organisationId);
    guizhou = await createSite(app, provider, { provinceCode: GUIZHOU, cityCode: '520100' });
    beijing = await createSite(app, provider, { provinceCode: BEIJING, cityCode: '110100' });
  });

  afterAll(async () => {
    await removeMarketplaceData(app, ids);
    await prisma.auditLogEntry.deleteMany({ where: { targetId: market.id } });
    await removeTestMarket(app, market.id);
    await prisma.user.deleteMany({ where: { email: adminEmail } });
    await app.close();
  });

  it('sets the mode and window: admin only, validated, audited, shown to everyone', async () => {
    for (const body of [
      {},
      { matchingMode: 'call' },
      { matchingMode: 'AUCTION' },
      { matchingMode: 'CALL', callWindowMs: 99 },
      { matchingMode: 'CALL', callWindowMs: 60_001 },
      { matchingMode: 'CALL', callWindowMs: 1.5 },
      { matchingMode: 'CALL', callWindowMs: '1000' },
      { matchingMode: 'CALL', feeBps: 100 },
    ]) {
      const res = await http()
        .put(`/admin/markets/${market.slug}/matching`)
        .set(admin)
        .send(body)
        .expect(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    await http()
      .put('/admin/markets/no-such-market/matching')
      .set(admin)
      .send({ matchingMode: 'CALL' })
      .expect(404);
    for (const auth of [buyer.auth, provider.auth]) {
      await http()
        .put(`/admin/markets/${market.slug}/matching`)
        .set(auth)
        .send({ matchingMode: 'CALL' })
        .expect(403);
    }
    await http().put(`/admin/markets/${market.slug}/matching`).send({ matchingMode: 'CALL' }).expect(401);
    expect(await auditOf('market.set_matching')).toHaveLength(0);
    // The database holds the same bounds for rows written by hand.
    for (const callWindowMs of [99, 60_001]) {
      await expect(
        prisma.market.update({ where: { id: market.id }, data: { callWindowMs } }),
      ).rejects.toThrow(/call_window_ms/);
    }

    const { callPhaseMs: phaseBefore } = await prisma.market.findUniqueOrThrow({ where: { id: market.id } });
    const set = await http()
      .put(`/admin/markets/${market.slug}/matching`)
      .set(admin)
      .send({ matchingMode: 'CALL', callWindowMs: WINDOW_MS })
      .expect(200);
    expect(set.body).toMatchObject({ slug: market.slug, matchingMode: 'CALL', callWindowMs: WINDOW_MS });
    // Its phase in the new window is the database's, inside the window.
    phase = (set.body as { callPhaseMs: number }).callPhaseMs;
    expect(phase).toBe((await prisma.market.findUniqueOrThrow({ where: { id: market.id } })).callPhaseMs);
    expect(phase).toBeGreaterThanOrEqual(0);
    expect(phase).toBeLessThan(WINDOW_MS);
    // The clock started on one of its clearing instants (beforeAll).
    expect(phase).toBe(startPhase);
    const adminUser = await prisma.user.findUniqueOrThrow({ where: { email: adminEmail } });
    expect(await auditOf('market.set_matching')).toMatchObject([
      {
        actorUserId: adminUser.id,
        targetType: 'market',
        details: {
          market: market.slug,
          before: { matchingMode: 'CONTINUOUS', callWindowMs: 1000 },
          after: { matchingMode: 'CALL', callWindowMs: WINDOW_MS },
        },
      },
    ]);
    expect(await changes()).toMatchObject([
      {
        type: 'market.matching_changed',
        payload: {
          market: market.slug,
          matchingMode: 'CALL',
          callWindowMs: WINDOW_MS,
          callPhaseMs: phase,
          previousMatchingMode: 'CONTINUOUS',
          previousCallWindowMs: 1000,
          previousCallPhaseMs: phaseBefore,
        },
      },
    ]);
    // Restating the settings (the window omitted: kept) changes nothing and records nothing.
    await http()
      .put(`/admin/markets/${market.slug}/matching`)
      .set(admin)
      .send({ matchingMode: 'CALL' })
      .expect(200);
    expect(await auditOf('market.set_matching')).toHaveLength(1);
    expect(await changes()).toHaveLength(1);

    const listed = (await http().get('/v1/markets').expect(200)).body as {
      data: Array<Record<string, unknown>>;
    };
    expect(listed.data.find((m) => m.slug === market.slug)).toMatchObject({
      matchingMode: 'CALL',
      callWindowMs: WINDOW_MS,
      callPhaseMs: phase,
    });
    expect(listed.data.find((m) => m.slug === 'nvidia-h100-80gb')).toMatchObject({
      matchingMode: 'CONTINUOUS',
      callWindowMs: 1000,
    });
  });

  it('rests a crossed pair at placement and fills it at the window boundary, pay-as-ask', async () => {
    const before = await epoch();
    // The bid rests first: continuous matching would trade at its 20.00; a clearing at the ask.
    const bid = await placeBid(app, buyer, {
      market: market.slug,
      gpus: 4,
      maxPricePerGpuHour: '20.00',
      provinces: [],
      minGpusPerSite: 1,
    });
    const offer = await placeOffer(app, provider, guizhou.id, {
      market: market.slug,
      gpus: 4,
      pricePerGpuHour: '18.00',
      minLeaseHours: 1,
    });
    const job = await clearingWaits();
    expect(job.data).toEqual({ marketId: market.id, reason: CLEARING_REASON });
    expect(job.delay).toBeGreaterThan(0);
    expect(job.delay).toBeLessThanOrEqual(WINDOW_MS);
    // Nothing ran: no run read the book (every read moves the epoch), nothing filled.
    expect(await epoch()).toBe(before);
    expect(await bidStatus(bid.id)).toBe('OPEN');

    // The quote still says what the book could fill now, and when the clearing is.
    const quoted = await quote();
    const now = clock.now().getTime();
    const at = nextInstant(now);
    expect(quoted).toMatchObject({
      fillableGpus: 4,
      matchingMode: 'CALL',
      nextClearingAt: new Date(at).toISOString(),
    });

    await clear(job, at);
    await bidReaches(bid.id, 'FILLED');
    expect(await leasesOf([bid.id])).toMatchObject([{ offerId: offer.id, gpus: 4, pricePerGpuHour: 1800n }]);
  });

  it('fills a contended book as the solver does, more than price-time would (example C1)', async () => {
    // C1: O1 in Beijing is the cheaper; B2 can use nothing else.
    const o1 = await placeOffer(app, provider, beijing.id, {
      market: market.slug,
      gpus: 4,
      pricePerGpuHour: '17.00',
      minLeaseHours: 1,
    });
    const o2 = await placeOffer(app, provider, guizhou.id, {
      market: market.slug,
      gpus: 4,
      pricePerGpuHour: '18.00',
      minLeaseHours: 1,
    });
    const terms = { market: market.slug, gpus: 4, maxPricePerGpuHour: '20.00', minGpusPerSite: 1 };
    const b1 = await placeBid(app, buyer, { ...terms, provinces: [] });
    const b2 = await placeBid(app, buyer, { ...terms, provinces: [BEIJING] });
    // Price-time on the same book serves B1 from O1 and strands B2.
    const greedy = matchMarket(
      [
        bookBid({ id: 'B1', price: 2000n, remaining: 4, seq: 3n }),
        bookBid({ id: 'B2', price: 2000n, remaining: 4, seq: 4n, provinces: [BEIJING] }),
      ],
      [
        bookOffer({ id: 'O1', siteId: 'S1', province: BEIJING, price: 1700n, free: 4, seq: 1n }),
        bookOffer({ id: 'O2', siteId: 'S2', province: GUIZHOU, price: 1800n, free: 4, seq: 2n }),
      ],
      NOW,
    );
    expect([...greedy.bidsFilled]).toEqual([['B1', 4]]);

    const job = await clearingWaits();
    expect(await bidStatus(b1.id)).toBe('OPEN');
    await clear(job, nextInstant(clock.now().getTime()));
    await bidReaches(b1.id, 'FILLED');
    await bidReaches(b2.id, 'FILLED');
    const leases = await leasesOf([b1.id, b2.id]);
    expect(leases.map((l) => [l.bidId, l.offerId, l.gpus, l.pricePerGpuHour])).toEqual([
      [b2.id, o1.id, 4, 1700n],
      [b1.id, o2.id, 4, 1800n],
    ]);
    // One clearing, one commit: both leases carry the epoch of its read.
    expect(new Set(leases.map((l) => l.matchEpoch)).size).toBe(1);
  });

  it('turns an offer window opening into the next clearing, not a run of its own', async () => {
    // The clock is on a clearing instant and the offer opens mid-window, so neither its wakeup
    // nor the clearing asked for at the opening is due by itself (in this machine's time) sooner
    // than a test's timeout: each comes due only when the test promotes it.
    const opens = clock.now().getTime() + WINDOW_MS / 2;
    const offer = await placeOffer(app, provider, guizhou.id, {
      market: market.slug,
      gpus: 2,
      pricePerGpuHour: '15.00',
      availableFrom: new Date(opens).toISOString(),
      minLeaseHours: 1,
    });
    const bid = await placeBid(app, buyer, {
      market: market.slug,
      gpus: 2,
      maxPricePerGpuHour: '16.00',
      provinces: [],
      minGpusPerSite: 1,
    });
    // The window's clearing comes first, before the offer opens: nothing can fill.
    const first = await clearingWaits();
    // Every event is relayed by now, and the relay adds the wakeup in the offer event's publication.
    const opening = await queue().getJob(dueJobId(windowRunJobPrefix(market.id), opens));
    expect(opening?.data).toMatchObject({ marketId: market.id, reason: 'window-open' });
    expect(await opening!.getState()).toBe('delayed');
    await clock.set(new Date(opens - 1));
    await first.promote();
    await waitFor('the first clearing to finish', async () =>
      (await first.getState()) === 'completed' ? true : undefined,
    );
    expect(await bidStatus(bid.id)).toBe('OPEN');

    // The offer opens: its wakeup asks for a clearing, which waits for the window's end.
    await clock.set(new Date(opens));
    await opening!.promote();
    const second = await clearingWaits();
    expect(second.id).not.toBe(first.id);
    expect(await bidStatus(bid.id)).toBe('OPEN');
    await clear(second, nextInstant(opens));
    await bidReaches(bid.id, 'FILLED');
    expect(await leasesOf([bid.id])).toMatchObject([{ offerId: offer.id, gpus: 2, pricePerGpuHour: 1500n }]);
  });

  it('takes a switch back to CONTINUOUS at the next run: a crossed pair fills at once', async () => {
    // The last clearing filled, so the next one waits for the window's end.
    const waiting = await clearingWaits();
    await http()
      .put(`/admin/markets/${market.slug}/matching`)
      .set(admin)
      .send({ matchingMode: 'CONTINUOUS' })
      .expect(200);
    expect((await quote()).nextClearingAt).toBeNull();
    await placeOffer(app, provider, guizhou.id, {
      market: market.slug,
      gpus: 1,
      pricePerGpuHour: '19.00',
      minLeaseHours: 1,
    });
    const bid = await placeBid(app, buyer, {
      market: market.slug,
      gpus: 1,
      maxPricePerGpuHour: '19.50',
      provinces: [],
      minGpusPerSite: 1,
    });
    // No clock move, no promotion: the switch brought the waiting clearing forward, and the
    // placement's own run fills the pair.
    await bidReaches(bid.id, 'FILLED');
    await waitFor('the waiting clearing to have run', async () =>
      (await waiting.getState()) === 'completed' ? true : undefined,
    );
    expect(await auditOf('market.set_matching')).toHaveLength(2);
    expect((await changes()).map((e) => (e.payload as { matchingMode: string }).matchingMode)).toEqual([
      'CALL',
      'CONTINUOUS',
    ]);
  });
});
