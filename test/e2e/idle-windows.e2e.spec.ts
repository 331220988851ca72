import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Clock } from '@/infra/clock/clock';
import type { ControllableClock } from '@/infra/clock/controllable-clock';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { SettlementService } from '@/modules/billing/settlement/settlement.service';
import { LeaseLifecycleService } from '@/modules/leases/lease-lifecycle.service';
import { StatsRefreshService } from '@/modules/stats/stats-refresh.service';
import { startHttpApp } from '../support/http-app';
import { ledgerViolations } from '../support/ledger-invariants';
import { connectSse, type SseConnection } from '../support/sse-client';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { handOverAccess, quiet } from './lease-fixtures';
import {
  createSite,
  createTestMarket,
  eventsOf,
  removeMarketplaceData,
  removeTestMarket,
} from './marketplace-fixtures';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const DAY = 24 * HOUR;

type Body = Record<string, unknown>;

/**
 * Idle windows (docs/LEASES.md "Idle windows", docs/MATCHING.md rule 8) over HTTP on the
 * controllable clock: an offer sells only inside its weekly windows; a lease made before its
 * window stays SCHEDULED until it opens; a bid that does not fit the window trades only if it is
 * interruptible, and the provider reclaims such a lease at the notice with no penalty, the buyer
 * told by event and on its live stream; statistics count only the published hours.
 */
describe('idle windows: scheduled leases, interruptible bids, reclaim', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let market: { id: string; slug: string };
  let buyer: TestTenant;
  let provider: TestTenant;
  let siteId: string;
  /** A Monday 00:00Z after the clock's instant; the offer's window is Monday 02:00-06:00 UTC. */
  let monday: number;
  const ids: string[] = [];
  const markets: string[] = [];
  const open: SseConnection[] = [];
  const http = () => request(app.getHttpServer());
  const clock = () => app.get<Clock, ControllableClock>(Clock);
  const sweep = () => app.get(LeaseLifecycleService).sweep();

  const windows = {
    timeZone: 'UTC',
    reclaimNoticeMinutes: 30,
    windows: [{ days: ['MON'], start: '02:00', end: '06:00' }],
  };
  const offer = (overrides: Body = {}) =>
    http()
      .post('/v1/offers')
      .set(provider.auth)
      .set('idempotency-key', randomUUID())
      .send({
        market: market.slug,
        siteId,
        gpus: 4,
        pricePerGpuHour: '10.00',
        availableFrom: new Date(monday - HOUR).toISOString(),
        availableUntil: new Date(monday + 20 * DAY).toISOString(),
        minLeaseHours: 1,
        idleWindows: windows,
        ...overrides,
      });
  const bid = async (durationHours: number, interruptible: boolean): Promise<string> => {
    const placed = await http()
      .post('/v1/bids')
      .set(buyer.auth)
      .set('idempotency-key', randomUUID())
      .send({
        market: market.slug,
        gpus: 2,
        maxPricePerGpuHour: '10.00',
        durationHours,
        provinces: [],
        minGpusPerSite: 1,
        partialAllowed: false,
        billingMode: 'RESERVED',
        expiresAt: new Date(monday + 2 * DAY).toISOString(),
        ...(interruptible ? { interruptible: true } : {}),
      })
      .expect(201);
    expect((placed.body as Body).interruptible).toBe(interruptible);
    return (placed.body as { id: string }).id;
  };
  const leaseOfBid = (bidId: string) =>
    waitFor('the lease', () => prisma.lease.findFirst({ where: { bidId } }).then((row) => row ?? undefined));

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
        MATCHING_SWEEP_INTERVAL_MS: '3600000',
        LEASE_SWEEP_INTERVAL_MS: '3600000',
        SETTLEMENT_SWEEP_INTERVAL_MS: '3600000',
        CLOCK: 'controllable',
      }),
      { api: true, worker: true },
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    prisma = app.get(PrismaService);
    const now = clock().now().getTime();
    const today = Math.floor(now / DAY) * DAY;
    // 1970-01-01 was a Thursday: day n is a Monday when (n + 3) % 7 = 0.
    const days = Math.floor(today / DAY);
    monday = (days + 7 - ((days + 3) % 7)) * DAY;
    if (monday <= now + HOUR) monday += 7 * DAY;
    await clock().set(new Date(monday));
    market = await createTestMarket(app);
    buyer = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor: 1_000_000n });
    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    ids.push(buyer.organisationId, provider.organisationId);
    siteId = (await createSite(app, provider, { provinceCode: '520000', cityCode: '520100' })).id;
  });

  afterEach(async () => {
    for (const connection of open.splice(0)) connection.close();
    await quiet(app);
    expect(await ledgerViolations(prisma, ids)).toEqual([]);
  });

  afterAll(async () => {
    await quiet(app);
    await prisma.statsSiteHour.deleteMany({ where: { siteId } });
    await removeMarketplaceData(app, ids);
    await removeTestMarket(app, market.id);
    for (const id of markets) await removeTestMarket(app, id);
    await app.close();
  });

  it('refuses windows that overlap, are empty or unknown, and notices that are not positive: 400, nothing written', async () => {
    const bad: Array<[Body, number, string]> = [
      [
        {
          ...windows,
          windows: [
            { days: ['MON'], start: '02:00', end: '06:00' },
            { days: ['MON'], start: '05:00', end: '07:00' },
          ],
        },
        400,
        'VALIDATION_FAILED',
      ],
      [{ ...windows, windows: [{ days: ['MON'], start: '02:00', end: '02:00' }] }, 400, 'VALIDATION_FAILED'],
      [{ ...windows, reclaimNoticeMinutes: 0 }, 400, 'VALIDATION_FAILED'],
      [{ ...windows, reclaimNoticeMinutes: -30 }, 400, 'VALIDATION_FAILED'],
      [{ ...windows, timeZone: 'Atlantis/Capital' }, 400, 'INVALID_TIME_ZONE'],
      [
        { ...windows, windows: [{ days: ['MOONDAY'], start: '02:00', end: '06:00' }] },
        400,
        'VALIDATION_FAILED',
      ],
    ];
    for (const [idleWindows, status, code] of bad) {
      const refused = await offer({ idleWindows }).expect(status);
      expect((refused.body as Body).code).toBe(code);
    }
    expect(await prisma.offer.count({ where: { organisationId: provider.organisationId } })).toBe(0);
  });

  it('schedules a lease for a later window, keeps a bid that fits no window resting, places an interruptible one, and reclaims it at the notice', async () => {
    const placed = await offer().expect(201);
    expect((placed.body as Body).idleWindows).toEqual(windows);

    // A 3 h lease fits Monday 02:00-06:00: made now, SCHEDULED until the window opens.
    const fits = await leaseOfBid(await bid(3, false));
    // A 5 h bid fits no 4 h window: it rests; an interruptible one starts in the window all the same.
    const tooLong = await bid(5, false);
    const interrupting = await leaseOfBid(await bid(5, true));
    await quiet(app);
    expect((await http().get(`/v1/bids/${tooLong}`).set(buyer.auth).expect(200)).body).toMatchObject({
      status: 'OPEN',
      filledGpus: 0,
    });
    const opens = new Date(monday + 2 * HOUR).toISOString();
    for (const lease of [fits, interrupting]) {
      const seen = (await http().get(`/v1/leases/${lease.id}`).set(buyer.auth).expect(200)).body as Body;
      expect(seen).toMatchObject({
        status: 'SCHEDULED',
        startsAt: opens,
        provisioningDeadline: new Date(monday + 2 * HOUR + 15 * MINUTE).toISOString(),
        reclaimable: lease.id === interrupting.id,
        reclaimNoticeMinutes: 30,
      });
      const created = (await eventsOf(app, lease.id)).find((e) => e.type === 'lease.created');
      expect(created?.payload).toMatchObject({ startsAt: opens, reclaimable: lease.id === interrupting.id });
    }

    // Before the window, access is refused and the lease stays SCHEDULED; the deadline has not run.
    await clock().advance(HOUR);
    const early = await handOverAccess(app, provider, fits.id).expect(409);
    expect((early.body as { details: Body }).details).toMatchObject({ status: 'SCHEDULED', startsAt: opens });
    expect(await sweep()).toMatchObject({ ended: 0 });
    expect((await prisma.lease.findUniqueOrThrow({ where: { id: fits.id } })).status).toBe('SCHEDULED');

    await clock().advance(HOUR);
    await handOverAccess(app, provider, fits.id).expect(200);
    await handOverAccess(app, provider, interrupting.id).expect(200);

    // Only a reclaimable lease can be reclaimed.
    const refused = await http()
      .post(`/v1/leases/${fits.id}/terminate`)
      .set(provider.auth)
      .send({ mode: 'RECLAIM' })
      .expect(409);
    expect((refused.body as Body).code).toBe('CONFLICT');

    const stream = await connectSse(`${await app.getUrl()}/v1/events/stream`, buyer.auth);
    open.push(stream);
    await clock().advance(30 * MINUTE);
    const reclaimedAt = new Date(monday + 2 * HOUR + 30 * MINUTE);
    const endsAt = new Date(reclaimedAt.getTime() + 30 * MINUTE).toISOString();
    const reclaimed = await http()
      .post(`/v1/leases/${interrupting.id}/terminate`)
      .set(provider.auth)
      .send({ mode: 'RECLAIM' })
      .expect(200);
    expect(reclaimed.body).toMatchObject({
      status: 'ACTIVE',
      reclaimedAt: reclaimedAt.toISOString(),
      endsAt,
      endedBy: 'PROVIDER',
      penalty: null,
    });
    // The buyer is told on its live stream (and so by webhook: the same audience).
    const told = await waitFor('lease.reclaimed on the buyer’s stream', () =>
      stream.events
        .filter((e) => e.event !== 'stream.reset')
        .map((e) => JSON.parse(e.data) as { type: string; payload: Body })
        .find((e) => e.type === 'lease.reclaimed'),
    );
    expect(told.payload).toMatchObject({ leaseId: interrupting.id, endsAt, reclaimNoticeMinutes: 30 });
    expect(told.payload).not.toHaveProperty('providerOrganisationId');

    // At the end of the notice it closes as RECLAIMED, with no penalty.
    await clock().advance(30 * MINUTE);
    expect(await sweep()).toMatchObject({ ended: 1 });
    expect(
      (await http().get(`/v1/leases/${interrupting.id}`).set(buyer.auth).expect(200)).body,
    ).toMatchObject({
      status: 'TERMINATED',
      terminationReason: 'RECLAIMED',
      endedAt: endsAt,
      penalty: null,
    });
    await quiet(app);
    const terminated = (await eventsOf(app, interrupting.id)).find((e) => e.type === 'lease.terminated');
    expect(terminated?.payload).toMatchObject({ reason: 'RECLAIMED' });
    expect(terminated?.payload).not.toHaveProperty('penalty');
    expect(await prisma.ledgerTransfer.count({ where: { leaseId: interrupting.id, kind: 'PENALTY' } })).toBe(
      0,
    );
    expect((await prisma.lease.findUniqueOrThrow({ where: { id: fits.id } })).status).toBe('ACTIVE');

    // An extension stays inside the window the lease ends in (docs/LEASES.md "Extending a
    // lease"): the 3 h lease ends at 05:00, the window at 06:00; nothing is written when refused.
    const extend = (hours: number) =>
      http()
        .post(`/v1/leases/${fits.id}/extend`)
        .set(buyer.auth)
        .set('idempotency-key', randomUUID())
        .send({ hours });
    const windowEnds = new Date(monday + 6 * HOUR).toISOString();
    expect((await extend(2).expect(409)).body).toMatchObject({
      code: 'CONFLICT',
      details: {
        reason: 'OUTSIDE_IDLE_WINDOW',
        windowEndsAt: windowEnds,
        endsAt: new Date(monday + 7 * HOUR).toISOString(),
      },
    });
    expect(await prisma.leaseExtension.count({ where: { leaseId: fits.id } })).toBe(0);
    expect((await extend(1).expect(200)).body).toMatchObject({ endsAt: windowEnds, extendedHours: 1 });
    expect((await extend(1).expect(409)).body).toMatchObject({
      details: { reason: 'OUTSIDE_IDLE_WINDOW', windowEndsAt: null },
    });

    // Statistics count only the published hours: nothing offered before 02:00, and leases count
    // inside the window only (the wait for it is not leased time).
    await clock().set(new Date(monday + 4 * HOUR + MINUTE));
    await app.get(StatsRefreshService).refresh();
    const rows = await prisma.statsSiteHour.findMany({ where: { siteId }, orderBy: { bucketStart: 'asc' } });
    const hour = (offset: number) => rows.find((r) => r.bucketStart.getTime() === monday + offset * HOUR);
    expect(
      rows.filter((r) => r.bucketStart.getTime() < monday + 2 * HOUR && r.offeredGpuSeconds > 0n),
    ).toEqual([]);
    // 02:00-03:00: the scheduled lease (2 GPUs) and the reclaimed one (2 GPUs, to its end at 03:00).
    expect(hour(2)).toMatchObject({ offeredGpuSeconds: 4n * 3600n, leasedGpuSeconds: 4n * 3600n });
    expect(hour(3)).toMatchObject({ offeredGpuSeconds: 4n * 3600n, leasedGpuSeconds: 2n * 3600n });
  });

  it('shows the windows on listings and offer.placed, and counts free GPUs now only inside a window', async () => {
    // Clock: Monday 04:01, inside the first offer's Monday window. Priced above every bid: no match.
    const tuesdays = { ...windows, windows: [{ days: ['TUE'], start: '02:00', end: '06:00' }] };
    const placed = (
      await offer({
        gpus: 2,
        pricePerGpuHour: '50.00',
        availableFrom: clock().now().toISOString(),
        idleWindows: tuesdays,
      }).expect(201)
    ).body as { id: string };
    const event = (await eventsOf(app, placed.id)).find((e) => e.type === 'offer.placed');
    expect(event?.payload).toMatchObject({ offerId: placed.id, idleWindows: tuesdays });
    const listings = await http().get(`/v1/offers/listings?market=${market.slug}`).expect(200);
    const shown = (listings.body as { data: Body[] }).data.map((l) => [l.pricePerGpuHour, l.idleWindows]);
    expect(shown).toContainEqual(['50.00', tuesdays]);

    const freeNow = async (): Promise<unknown> => {
      const res = await http().get('/v1/providers/stats?window=day').set(provider.auth).expect(200);
      const sites = (res.body as { sites: Body[] }).sites;
      return sites.find((site) => site.siteId === siteId && site.market === market.slug)?.freeGpusNow;
    };
    // The Monday offer's free GPUs count; the Tuesday offer's 2 do not, its window is shut.
    const first = await prisma.offer.findFirstOrThrow({
      where: { organisationId: provider.organisationId, pricePerGpuHour: 1000n },
    });
    expect(first.status).toBe('PARTIALLY_FILLED');
    expect(await freeNow()).toBe(first.gpus - first.leasedGpus);
    // Tuesday 03:00: the Monday window is shut and the Tuesday one open.
    await clock().set(new Date(monday + DAY + 3 * HOUR));
    expect(await freeNow()).toBe(2);
  });

  it('shows on listings and offers when the next window opens and when the open one closes, on the clock', async () => {
    // Clock: Tuesday 03:00, inside the Tuesday offer's window (02:00-06:00), the Monday one shut.
    const tuesday = monday + DAY;
    expect(clock().now().getTime()).toBe(tuesday + 3 * HOUR);
    const iso = (instant: number) => new Date(instant).toISOString();
    const tuesdays = { ...windows, windows: [{ days: ['TUE'], start: '02:00', end: '06:00' }] };
    const place = async (overrides: Body): Promise<string> =>
      (
        (await offer({ gpus: 1, availableFrom: clock().now().toISOString(), ...overrides }).expect(201))
          .body as {
          id: string;
        }
      ).id;
    // Always available: no idle windows, neither field.
    await place({ pricePerGpuHour: '60.00', idleWindows: undefined });
    // Ends inside the open window: it closes at availableUntil, and nothing opens after.
    await place({ pricePerGpuHour: '61.00', idleWindows: tuesdays, availableUntil: iso(tuesday + 5 * HOUR) });
    // Ends at next Monday's opening: no window opens before availableUntil.
    const shut = await place({ pricePerGpuHour: '62.00', availableUntil: iso(monday + 7 * DAY + 2 * HOUR) });

    const listed = async (): Promise<Map<unknown, unknown>> => {
      const res = await http().get(`/v1/offers/listings?market=${market.slug}`).expect(200);
      return new Map(
        (res.body as { data: Body[] }).data.map((l) => [
          l.pricePerGpuHour,
          { nextWindowOpensAt: l.nextWindowOpensAt, windowClosesAt: l.windowClosesAt },
        ]),
      );
    };
    expect(await listed()).toEqual(
      new Map([
        ['10.00', { nextWindowOpensAt: iso(monday + 7 * DAY + 2 * HOUR), windowClosesAt: null }],
        [
          '50.00',
          { nextWindowOpensAt: iso(tuesday + 7 * DAY + 2 * HOUR), windowClosesAt: iso(tuesday + 6 * HOUR) },
        ],
        ['60.00', { nextWindowOpensAt: null, windowClosesAt: null }],
        ['61.00', { nextWindowOpensAt: null, windowClosesAt: iso(tuesday + 5 * HOUR) }],
        ['62.00', { nextWindowOpensAt: null, windowClosesAt: null }],
      ]),
    );
    // The provider's own offer answers say the same.
    const own = await http().get(`/v1/offers/${shut}`).set(provider.auth).expect(200);
    expect(own.body).toMatchObject({ nextWindowOpensAt: null, windowClosesAt: null });

    // Tuesday 06:00: the window's end is outside it; the 61.00 offer has ended and is gone.
    await clock().set(new Date(tuesday + 6 * HOUR));
    const later = await listed();
    expect(later.get('50.00')).toEqual({
      nextWindowOpensAt: iso(tuesday + 7 * DAY + 2 * HOUR),
      windowClosesAt: null,
    });
    expect(later.has('61.00')).toBe(false);
    const first = await prisma.offer.findFirstOrThrow({
      where: { organisationId: provider.organisationId, pricePerGpuHour: 1000n },
    });
    const mine = await http().get(`/v1/offers/${first.id}`).set(provider.auth).expect(200);
    expect(mine.body).toMatchObject({
      nextWindowOpensAt: iso(monday + 7 * DAY + 2 * HOUR),
      windowClosesAt: null,
    });
    // A cancelled offer sells no more windows.
    const cancelled = await http()
      .post(`/v1/offers/${first.id}/cancel`)
      .set(provider.auth)
      .set('idempotency-key', randomUUID())
      .expect(200);
    expect(cancelled.body).toMatchObject({
      status: 'CANCELLED',
      nextWindowOpensAt: null,
      windowClosesAt: null,
    });
  });
  it('settles a lease reclaimed mid-period without the cut period’s minimum, on the invoice and the earnings, and counts it delivered', async () => {
    // Clock: Tuesday 06:00. A pay-per-use offer with a 50% minimum on Tuesday 06:00-09:00; the
    // resting 5 h bid fits no such window, the 4 h interruptible one starts at once.
    const tuesday = monday + DAY;
    expect(clock().now().getTime()).toBe(tuesday + 6 * HOUR);
    await offer({
      gpus: 2,
      payPerUseMinPercent: 50,
      availableFrom: clock().now().toISOString(),
      idleWindows: { ...windows, windows: [{ days: ['TUE'], start: '06:00', end: '09:00' }] },
    }).expect(201);
    const placed = await http()
      .post('/v1/bids')
      .set(buyer.auth)
      .set('idempotency-key', randomUUID())
      .send({
        market: market.slug,
        gpus: 2,
        maxPricePerGpuHour: '10.00',
        durationHours: 4,
        provinces: [],
        minGpusPerSite: 1,
        partialAllowed: false,
        billingMode: 'PAY_PER_USE',
        expiresAt: new Date(tuesday + DAY).toISOString(),
        interruptible: true,
      })
      .expect(201);
    const lease = await leaseOfBid((placed.body as { id: string }).id);
    expect(lease).toMatchObject({ reclaimable: true, billingMode: 'PAY_PER_USE', payPerUseMinPercent: 50 });
    await handOverAccess(app, provider, lease.id).expect(200);

    // Reclaimed at 07:10, it ends at 07:40: period 1 (07:00-07:40) is cut short by the provider.
    await clock().advance(70 * MINUTE);
    await http()
      .post(`/v1/leases/${lease.id}/terminate`)
      .set(provider.auth)
      .send({ mode: 'RECLAIM' })
      .expect(200);
    await clock().advance(30 * MINUTE);
    await sweep();
    expect(await prisma.lease.findUniqueOrThrow({ where: { id: lease.id } })).toMatchObject({
      status: 'TERMINATED',
      terminationReason: 'RECLAIMED',
      endedAt: new Date(tuesday + 7 * HOUR + 40 * MINUTE),
    });

    // After the grace for reports, with none reported: period 0 pays its minimum, 50% of
    // 2 GPUs x 1 h at 10.00 = 10.00; the cut period pays nothing (its minimum is waived) and the
    // 2 h 20 min after the end are never charged. The rest of the 80.00 hold goes back.
    await clock().advance(15 * MINUTE);
    expect(await app.get(SettlementService).settleLease(lease.id)).toBe(2);
    await quiet(app);
    const periods = await prisma.leasePeriod.findMany({
      where: { leaseId: lease.id },
      orderBy: { index: 'asc' },
    });
    expect(periods.map((p) => [p.index, p.gpuSeconds, p.cost])).toEqual([
      [0, 3600n, 1000n],
      [1, 0n, 0n],
    ]);
    const released = await prisma.ledgerTransfer.findUniqueOrThrow({
      where: { key: `lease-release:${lease.id}` },
      include: { entries: { include: { account: true } } },
    });
    expect(released.entries.map((e) => [e.account.kind, e.amount]).sort()).toEqual(
      [
        ['BUYER_AVAILABLE', 7000n],
        ['BUYER_HELD', -7000n],
      ].sort(),
    );
    const invoices = (await http().get('/v1/invoices').set(buyer.auth).expect(200)).body as { data: Body[] };
    const invoice = invoices.data.find((i) => i.leaseId === lease.id);
    expect(invoice).toMatchObject({ gross: '10.00', sloCredits: '0.00' });
    const lines = (
      (
        await http()
          .get(`/v1/invoices/${String(invoice?.id)}`)
          .set(buyer.auth)
          .expect(200)
      ).body as {
        lines: Body[];
      }
    ).lines;
    expect(lines.map((l) => [l.period, l.amount])).toEqual([
      [0, '10.00'],
      [1, '0.00'],
    ]);
    const to = new Date(clock().now().getTime() + HOUR).toISOString();
    const earnings = (
      await http().get(`/v1/billing/earnings?groupBy=lease&to=${to}`).set(provider.auth).expect(200)
    ).body as { groups: Body[] };
    expect(earnings.groups.find((g) => g.key === lease.id)).toMatchObject({
      proceeds: '10.00',
      fee: '0.25',
      net: '9.75',
    });
    expect(await prisma.ledgerTransfer.count({ where: { leaseId: lease.id, kind: 'PENALTY' } })).toBe(0);

    // Reclaimed leases count as delivered (docs/RELIABILITY.md): with the Monday ones, three
    // handed over on time and three delivered, none ended early by the provider.
    const reliability = (await http().get('/v1/providers/reliability').set(provider.auth).expect(200))
      .body as { score: number; components: Record<string, Body> };
    expect(reliability.components.delivery).toEqual({
      delivered: 3,
      endedWithNoticeByProvider: 0,
      endedEarlyByProvider: 0,
      deliveredShare: 1,
    });
    expect(reliability.components.handover).toMatchObject({ onTime: 3, late: 0, missed: 0 });
    // (4 + 6) / (5 + 6) = 90.9 fresh; a day's decay moves it by less than 0.1.
    expect(reliability.score).toBeGreaterThanOrEqual(90.8);
  });

  it("shows on quotes' supply lines and the book's ask levels when the supply can be had, offers combined", async () => {
    // A market of its own, on a Monday 03:00: inside Monday 02:00-06:00 windows, before Wednesday's.
    const books = await createTestMarket(app);
    markets.push(books.id);
    const base = monday + 14 * DAY;
    await clock().set(new Date(base + 3 * HOUR));
    const iso = (instant: number) => new Date(instant).toISOString();
    const days = (list: string[], start: string, end: string) => ({
      ...windows,
      windows: [{ days: list, start, end }],
    });
    const place = async (price: string, idleWindows: Body | undefined): Promise<void> => {
      await offer({
        market: books.slug,
        gpus: 2,
        pricePerGpuHour: price,
        availableFrom: iso(base + 3 * HOUR),
        availableUntil: iso(base + 20 * DAY),
        idleWindows,
      }).expect(201);
    };
    // 10.00: open until 06:00 (next Monday 02:00), open until 08:00 (next Monday 00:00), Wednesday 02:00.
    await place('10.00', days(['MON'], '02:00', '06:00'));
    await place('10.00', days(['MON'], '00:00', '08:00'));
    await place('10.00', days(['WED'], '02:00', '06:00'));
    // 12.00: shut until Wednesday. 14.00: no idle windows. 16.00: always available beside Wednesday's.
    await place('12.00', days(['WED'], '02:00', '06:00'));
    await place('14.00', undefined);
    await place('16.00', undefined);
    await place('16.00', days(['WED'], '02:00', '06:00'));
    const wednesday = base + 2 * DAY + 2 * HOUR;

    const book = await http().get(`/v1/markets/${books.slug}/book`).expect(200);
    const levels = (book.body as { asks: Body[] }).asks.map((level) => [
      level.price,
      level.gpus,
      level.nextWindowOpensAt,
      level.windowClosesAt,
    ]);
    expect(levels).toEqual([
      // The earliest opening among the level's offers; the latest close among those open now.
      ['10.00', 6, iso(wednesday), iso(base + 8 * HOUR)],
      ['12.00', 2, iso(wednesday), null],
      // No idle windows at all: always available, as on an offer.
      ['14.00', 2, null, null],
      // An offer without idle windows is open until its availableUntil.
      ['16.00', 4, iso(wednesday), iso(base + 20 * DAY)],
    ]);

    // A quote for 6 GPUs at 10.00 takes the three 10.00 offers at the one site; for 8 at 12.00, the shut one too.
    const quote = (gpus: number, price: string) =>
      http()
        .post('/v1/bids/quote')
        .set(buyer.auth)
        .send({
          market: books.slug,
          gpus,
          maxPricePerGpuHour: price,
          durationHours: 1,
          provinces: [],
          minGpusPerSite: 1,
          partialAllowed: true,
          billingMode: 'RESERVED',
        })
        .expect(200);
    const lines = (res: request.Response) =>
      (res.body as { sites: Body[] }).sites.map((site) => [
        site.gpus,
        site.nextWindowOpensAt,
        site.windowClosesAt,
      ]);
    const all = await quote(6, '10.00');
    expect((all.body as Body).fillableGpus).toBe(6);
    expect(lines(all)).toEqual([[6, iso(wednesday), iso(base + 8 * HOUR)]]);
    const wider = await quote(8, '12.00');
    expect(lines(wider)).toEqual([[8, iso(wednesday), iso(base + 8 * HOUR)]]);

    // Wednesday 03:00: the Wednesday windows are open until 06:00, the Monday ones next open in five days.
    await clock().set(new Date(wednesday + HOUR));
    const later = await http().get(`/v1/markets/${books.slug}/book`).expect(200);
    expect((later.body as { asks: Body[] }).asks[1]).toMatchObject({
      price: '12.00',
      nextWindowOpensAt: iso(wednesday + 7 * DAY),
      windowClosesAt: iso(wednesday + 4 * HOUR),
    });
  });
});
