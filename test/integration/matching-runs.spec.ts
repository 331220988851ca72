import { Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import { recordPgStatements } from '../support/pg-statements';
import { ClockModule } from '@/infra/clock/clock.module';
import { ConfigModule } from '@/infra/config/config.module';
import { PrismaModule, TransactionsModule } from '@/infra/prisma/prisma.module';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { QueuesModule } from '@/infra/queues/queues.module';
import { RedisModule } from '@/infra/redis/redis.module';
import { RedisService } from '@/infra/redis/redis.service';
import { LedgerModule } from '@/modules/billing/ledger/ledger.module';
import { LedgerFundsAdapter } from '@/modules/billing/ledger/ledger-funds.adapter';
import { LedgerService } from '@/modules/billing/ledger/ledger.service';
import { EventsModule } from '@/modules/events/events.module';
import { fundBuyer } from '../support/funding';
import { holdKeys, MatchingHold } from '../support/matching-hold.cjs';
import { FundsPort } from '@/modules/markets/domain/funds.port';
import { MarketBooks } from '@/modules/matching/market-books';
import { ClearingSolver } from '@/modules/matching/clearing-solver';
import { MarketRunLock, runLockKeys } from '@/modules/matching/market-run-lock';
import { MatchingRunProbe } from '@/modules/matching/matching-run-probe';
import {
  CLEARING_REASON,
  MatchingScheduler,
  runDeduplicationId,
} from '@/modules/matching/matching-scheduler';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { MatchingRepository } from '@/modules/matching/matching.repository';
import { MatchingService, type RunOutcome } from '@/modules/matching/matching.service';
import { OrderStateRepository } from '@/modules/markets/order-state.repository';
import { OrderStateService } from '@/modules/markets/order-state.service';
import { LeaseStateRepository } from '@/modules/leases/lease-state.repository';
import { LeaseStateService } from '@/modules/leases/lease-state.service';
import { OrderExpiryService } from '@/modules/matching/order-expiry.service';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';

const HOUR = 3_600_000;
// Longer than the default, so that "at once" and "after the interval" are far apart on a busy machine.
const RUN_INTERVAL_MS = 300;

/**
 * Matching runs against the real PostgreSQL and Redis, without processors, so each run is
 * started by the test: the epoch fence, re-reads after an order moved, the lock, expiry.
 * A market of its own (inserted here) keeps other suites' orders out. Once per matching mode:
 * a CALL market's clearing (`runOnce` is what its clearing job runs) goes through the same
 * read, fence and commit; these books have no contention, so both modes fill alike. Budget: ~10 s.
 */
describe.each(['CONTINUOUS', 'CALL'] as const)(
  'matching runs in a %s market (real PostgreSQL and Redis)',
  (matchingMode) => {
    let module: TestingModule;
    let secondWorker: TestingModule;
    let prisma: PrismaService;
    let redis: RedisService;
    let matching: MatchingService;
    let lock: MarketRunLock;
    let expiry: OrderExpiryService;
    const marketId = randomUUID();
    const organisations: string[] = [];
    let site: string;
    let provider: string;
    let buyer: string;

    async function organisation(
      role: 'PROVIDER' | 'BUYER',
      status: 'VERIFIED' | 'PENDING_VERIFICATION' = 'VERIFIED',
    ): Promise<string> {
      const org = await prisma.organisation.create({
        data: {
          name: `matching ${randomUUID()}`,
          role,
          status,
          verifiedAt: status === 'VERIFIED' ? new Date() : null,
        },
      });
      organisations.push(org.id);
      return org.id;
    }

    async function nextSeq(): Promise<bigint> {
      const [row] = await prisma.$queryRaw<Array<{ seq: bigint }>>`SELECT nextval('order_seq') AS seq`;
      return row!.seq;
    }

    async function offer(gpus: number, price: bigint, owner = { provider, site }): Promise<string> {
      const now = new Date();
      const row = await prisma.offer.create({
        data: {
          organisationId: owner.provider,
          marketId,
          siteId: owner.site,
          gpus,
          pricePerGpuHour: price,
          availableFrom: new Date(now.getTime() - HOUR),
          availableUntil: new Date(now.getTime() + 30 * 24 * HOUR),
          minLeaseHours: 1,
          payPerUseMinPercent: 20,
          seq: await nextSeq(),
          createdAt: now,
          updatedAt: now,
        },
      });
      return row.id;
    }

    async function bid(
      gpus: number,
      price: bigint,
      expiresAt = new Date(Date.now() + 24 * HOUR),
      provinces: string[] = [],
    ): Promise<string> {
      const now = new Date();
      const row = await prisma.bid.create({
        data: {
          organisationId: buyer,
          marketId,
          gpus,
          maxPricePerGpuHour: price,
          provinces,
          durationHours: 4,
          minGpusPerSite: 1,
          partialAllowed: true,
          billingMode: 'RESERVED',
          expiresAt,
          seq: await nextSeq(),
          createdAt: now,
          updatedAt: now,
        },
      });
      // As placement would: the bid's hold, which its fills convert and its expiry releases.
      await module.get(LedgerService).holdBidFunds({
        bidId: row.id,
        organisationId: buyer,
        currency: 'CNY',
        currencyScale: 2,
        maxPricePerGpuHour: price,
        gpus,
        durationHours: 4,
      });
      return row.id;
    }

    const matchingRow = () => prisma.marketMatching.findUniqueOrThrow({ where: { marketId } });
    const leases = () => prisma.lease.findMany({ where: { marketId }, orderBy: { createdAt: 'asc' } });

    /** Starts runs that stop after reading the book, and waits until all of them are held. */
    async function heldRuns(count: number): Promise<{
      release: () => Promise<void>;
      outcomes: Array<ReturnType<MatchingService['runOnce']>>;
    }> {
      const keys = holdKeys(redis.prefix, marketId);
      await redis.client.set(keys.hold, '1');
      const outcomes = Array.from({ length: count }, () => matching.runOnce(marketId));
      await waitFor('the runs to be held', async () =>
        (await redis.client.llen(keys.held)) === count ? true : undefined,
      );
      return { release: async () => void (await redis.client.del(keys.hold)), outcomes };
    }

    beforeAll(async () => {
      const config = testConfig({
        MATCHING_LOCK_TTL_MS: '1000',
        MATCHING_RUN_INTERVAL_MS: String(RUN_INTERVAL_MS),
      });
      @Module({
        imports: [
          ConfigModule.forRoot(config),
          RedisModule,
          PrismaModule,
          TransactionsModule,
          ClockModule,
          QueuesModule,
          EventsModule,
          LedgerModule,
        ],
        providers: [
          MatchingRepository,
          MatchingService,
          MatchingScheduler,
          MarketBooks,
          MarketRunLock,
          // On the calling thread: the TypeScript sources have no compiled clearing thread.
          {
            provide: ClearingSolver,
            useFactory: () => new ClearingSolver({ threads: 0, timeoutMs: 60_000 }),
          },
          {
            provide: MatchingRunProbe,
            inject: [RedisService],
            useFactory: (redis: RedisService) => new MatchingHold(redis.client, redis.prefix),
          },
          OrderStateRepository,
          OrderStateService,
          LeaseStateRepository,
          LeaseStateService,
          OrderExpiryService,
          { provide: FundsPort, useExisting: LedgerFundsAdapter },
        ],
      })
      class MatchingRunsModule {}
      // Two workers: each compiled module holds its own books in memory.
      const worker = async () => {
        const compiled = await Test.createTestingModule({ imports: [MatchingRunsModule] }).compile();
        await compiled.init();
        return compiled;
      };
      module = await worker();
      secondWorker = await worker();
      prisma = module.get(PrismaService);
      redis = module.get(RedisService);
      matching = module.get(MatchingService);
      lock = module.get(MarketRunLock);
      expiry = module.get(OrderExpiryService);
      await prisma.market.create({
        data: {
          id: marketId,
          slug: `test-${marketId.slice(0, 8)}`,
          vendor: 'Test',
          model: 'T1',
          memoryGb: 80,
          currency: 'CNY',
          currencyScale: 2,
          feeBps: 250,
          matchingMode,
        },
      });
      provider = await organisation('PROVIDER');
      buyer = await organisation('BUYER');
      await fundBuyer((sql, ...params) => prisma.$executeRawUnsafe(sql, ...params), buyer);
      site = await siteOf(provider);
    });

    async function siteOf(
      organisationId: string,
      place = { provinceCode: '520000', cityCode: '520100' },
    ): Promise<string> {
      const now = new Date();
      const row = await prisma.site.create({
        data: {
          organisationId,
          name: `hall ${place.cityCode}`,
          ...place,
          uptimeTier: 'TIER_III',
          createdAt: now,
          updatedAt: now,
        },
      });
      return row.id;
    }

    afterEach(async () => {
      await prisma.lease.deleteMany({ where: { marketId } });
      await prisma.bid.deleteMany({ where: { marketId } });
      await prisma.offer.deleteMany({ where: { marketId } });
      // The deletions are logged too: each worker's next read drops those orders from its book.
    });

    afterAll(async () => {
      const aggregates = await prisma.outboxEvent.findMany({ select: { id: true, payload: true } });
      const mine = aggregates.filter(
        (e) => (e.payload as { market?: string }).market === `test-${marketId.slice(0, 8)}`,
      );
      await prisma.outboxEvent.deleteMany({ where: { id: { in: mine.map((e) => e.id) } } });
      await prisma.site.deleteMany({ where: { organisationId: { in: organisations } } });
      // The organisations stay: the ledger is append-only and keeps their accounts. Order-less in
      // a deleted market, no later suite sees them.
      await prisma.bookChange.deleteMany({ where: { marketId } });
      await prisma.marketMatching.deleteMany({ where: { marketId } });
      await prisma.market.delete({ where: { id: marketId } });
      await secondWorker.close();
      await module.close();
    });

    it('commits a run: leases, fills, statuses and a new epoch', async () => {
      const o1 = await offer(8, 1800n);
      const b1 = await bid(5, 2000n);
      const before = await matchingRow();

      const outcome = await matching.runOnce(marketId);

      expect(outcome).toEqual({ kind: 'committed', epoch: before.epoch + 1n, fills: 1, gpus: 5 });
      const [lease, ...more] = await leases();
      expect(more).toHaveLength(0);
      expect(lease).toMatchObject({
        offerId: o1,
        bidId: b1,
        gpus: 5,
        pricePerGpuHour: 1800n,
        feeBps: 250,
        payPerUseMinPercent: 20,
        matchEpoch: before.epoch + 1n,
        status: 'SCHEDULED',
      });
      expect(await prisma.offer.findUniqueOrThrow({ where: { id: o1 } })).toMatchObject({
        leasedGpus: 5,
        status: 'PARTIALLY_FILLED',
      });
      expect(await prisma.bid.findUniqueOrThrow({ where: { id: b1 } })).toMatchObject({
        filledGpus: 5,
        status: 'FILLED',
      });
      expect((await matchingRow()).commits).toBe(before.commits + 1n);
      // The book is uncrossed: an immediate second run fills nothing.
      expect(await matching.runOnce(marketId)).toEqual({ kind: 'nothing-to-fill' });
    });

    // Each statement is a round trip on raw pg (docs/ARCHITECTURE.md "Raw pg transactions"), the
    // worker's main cost per run (docs/BENCHMARKS.md, bench:matching's worker lines): this budget
    // keeps a refactor from adding statements back.
    it('commits a run in 7 statements whatever its fills: the read, BEGIN, the fence, the fills, leases with their events, holds, COMMIT', async () => {
      const pg = recordPgStatements();
      const run = async (): Promise<{ outcome: RunOutcome; statements: string[]; roundTrips: number }> => {
        pg.reset();
        const outcome = await matching.runOnce(marketId);
        return { outcome, statements: [...pg.statements], roundTrips: pg.roundTrips() };
      };
      try {
        // The book in memory from here: the measured runs read deltas, as a busy worker does.
        await matching.runOnce(marketId);
        await offer(8, 1800n);
        await bid(5, 2000n);
        const one = await run();
        for (let i = 0; i < 3; i += 1) await offer(2, 1800n);
        for (let i = 0; i < 3; i += 1) await bid(2, 2000n);
        const three = await run();

        expect(one.outcome).toMatchObject({ kind: 'committed', fills: 1 });
        // The first offer's 3 GPUs left fill too: several fills, whatever their number.
        expect(three.outcome).toMatchObject({ kind: 'committed' });
        expect(three.outcome.kind === 'committed' && three.outcome.fills).toBeGreaterThanOrEqual(3);
        expect(one.statements).toHaveLength(7);
        expect(three.statements).toEqual(one.statements);
        // BEGIN goes with the fence: 6 round trips (docs/ARCHITECTURE.md "Raw pg transactions").
        expect(one.roundTrips).toBe(6);
        expect(three.roundTrips).toBe(6);
        expect(
          one.statements
            .map((s) => s.replace(/^BEGIN; SET LOCAL statement_timeout = \d+$/, 'BEGIN'))
            .filter((s) => /^(BEGIN|COMMIT)$/.test(s)),
        ).toEqual(['BEGIN', 'COMMIT']);
        // The fills of both sides are one statement; the leases and the run's events another.
        expect(
          one.statements.filter((s) => s.includes('UPDATE bids') && s.includes('UPDATE offers')),
        ).toHaveLength(1);
        expect(
          one.statements.filter(
            (s) => s.includes('INSERT INTO leases') && s.includes('INSERT INTO outbox_events'),
          ),
        ).toHaveLength(1);
        // The commit's settings and its fence are one statement.
        expect(one.statements.filter((s) => s.includes('set_config'))).toHaveLength(1);
        expect(one.statements.find((s) => s.includes('set_config'))).toContain('UPDATE market_matching');
      } finally {
        pg.restore();
      }
    });

    it('allocates as the market’s mode says (docs/MATCHING.md example C1)', async () => {
      // O1 in Beijing is the cheaper; B2 can use nothing else. Price-time gives O1 to B1 and
      // strands B2; a clearing gives B1 the Guizhou offer and serves both.
      const beijing = await siteOf(provider, { provinceCode: '110000', cityCode: '110100' });
      const o1 = await offer(4, 1700n, { provider, site: beijing });
      const o2 = await offer(4, 1800n);
      const b1 = await bid(4, 2000n);
      const b2 = await bid(4, 2000n, undefined, ['110000']);

      const outcome = await matching.runOnce(marketId);

      const made = (await leases()).map((lease) => [lease.bidId, lease.offerId, lease.pricePerGpuHour]);
      if (matchingMode === 'CALL') {
        expect(outcome).toMatchObject({ kind: 'committed', fills: 2, gpus: 8 });
        // A clearing that filled asks for the next one, at the window's end (nothing else would).
        const queue = module.get(JobProducer).queue('matching');
        const next = await queue.getJob((await queue.getDeduplicationJobId(runDeduplicationId(marketId)))!);
        expect(next?.data).toEqual({ marketId, reason: CLEARING_REASON });
        expect(await next?.getState()).toBe('delayed');
        expect(made).toEqual(
          expect.arrayContaining([
            [b1, o2, 1800n],
            [b2, o1, 1700n],
          ]),
        );
      } else {
        expect(outcome).toMatchObject({ kind: 'committed', fills: 1, gpus: 4 });
        expect(made).toEqual([[b1, o1, 1700n]]);
      }
    });

    it('lets the later of two overlapping runs commit, and rejects the earlier as stale', async () => {
      const o1 = await offer(4, 1800n);
      const b1 = await bid(4, 2000n);
      const before = await matchingRow();
      // Two runs read the same book, each moving the epoch on (the lock is bypassed: the fence
      // alone decides). The one that read first finds the epoch moved.
      const held = await heldRuns(2);
      await held.release();
      const outcomes = await Promise.all(held.outcomes);

      expect(outcomes.map((o) => o.kind).sort()).toEqual(['committed', 'stale']);
      const [lease, ...more] = await leases();
      expect(more).toHaveLength(0);
      expect(lease).toMatchObject({ offerId: o1, bidId: b1, gpus: 4 });
      expect(lease!.matchEpoch).toBeGreaterThanOrEqual(before.epoch + 2n);
      expect(await prisma.offer.findUniqueOrThrow({ where: { id: o1 } })).toMatchObject({
        leasedGpus: 4,
        status: 'FILLED',
      });
      const after = await matchingRow();
      expect(after.staleCommits).toBeGreaterThanOrEqual(before.staleCommits + 1n);
      expect(after.commits).toBe(before.commits + 1n);
      // Every read moves the epoch: the two runs', and the stale run's reads again until it finds
      // nothing left to fill (each of which may make the other's commit stale in turn).
      expect(after.epoch).toBeGreaterThanOrEqual(before.epoch + 3n);
    });

    it('rejects a commit that waited past the bid expiry, and reads again', async () => {
      const o1 = await offer(4, 1800n);
      const expiresAt = new Date(Date.now() + 1_000);
      const b1 = await bid(4, 2000n, expiresAt);
      const held = await heldRuns(1);
      // The run read the bid while it was live; it commits only after the bid expired.
      await new Promise((resolve) => setTimeout(resolve, expiresAt.getTime() + 50 - Date.now()));
      await held.release();

      expect(await held.outcomes[0]).toEqual({ kind: 'nothing-to-fill' });
      expect(await leases()).toHaveLength(0);
      expect(await prisma.bid.findUniqueOrThrow({ where: { id: b1 } })).toMatchObject({ filledGpus: 0 });
      expect(await prisma.offer.findUniqueOrThrow({ where: { id: o1 } })).toMatchObject({ leasedGpus: 0 });
    });

    it('reads again when an order changed between the read and the commit', async () => {
      const o1 = await offer(6, 1800n);
      const cancelled = await bid(6, 2100n);
      const other = await bid(2, 1900n);
      const held = await heldRuns(1);
      // The buyer cancels the better bid while the run holds its plan to fill it.
      await prisma.bid.update({
        where: { id: cancelled },
        data: { status: 'CANCELLED', cancelledAt: new Date() },
      });
      await held.release();

      expect(await held.outcomes[0]).toMatchObject({ kind: 'committed', fills: 1, gpus: 2 });
      const [lease, ...more] = await leases();
      expect(more).toHaveLength(0);
      expect(lease).toMatchObject({ bidId: other, offerId: o1, gpus: 2 });
      expect(await prisma.bid.findUniqueOrThrow({ where: { id: cancelled } })).toMatchObject({
        status: 'CANCELLED',
        filledGpus: 0,
      });
    });

    it("reads again when the provider's score fell below a bid's minimum between the read and the commit", async () => {
      const o1 = await offer(6, 1800n);
      const demanding = await bid(6, 2100n);
      await prisma.bid.update({ where: { id: demanding }, data: { minProviderScore: 75 } });
      const other = await bid(2, 1900n);
      const held = await heldRuns(1);
      // The run planned the demanding bid on the provider's 80; a score refresh stores 60 meanwhile.
      await prisma.organisation.update({ where: { id: provider }, data: { reliabilityScore: 60 } });
      try {
        await held.release();

        expect(await held.outcomes[0]).toMatchObject({ kind: 'committed', fills: 1, gpus: 2 });
        const [lease, ...more] = await leases();
        expect(more).toHaveLength(0);
        expect(lease).toMatchObject({ bidId: other, offerId: o1, gpus: 2 });
        expect(await prisma.bid.findUniqueOrThrow({ where: { id: demanding } })).toMatchObject({
          status: 'OPEN',
          filledGpus: 0,
        });
      } finally {
        await prisma.organisation.update({ where: { id: provider }, data: { reliabilityScore: 80 } });
      }
    });

    it('never fills past expiry, and the sweep expires bids and offers with their events', async () => {
      const o1 = await offer(4, 1800n);
      const expired = await bid(4, 2000n, new Date(Date.now() - 1));
      expect(await matching.runOnce(marketId)).toEqual({ kind: 'nothing-to-fill' });
      await prisma.offer.update({ where: { id: o1 }, data: { availableUntil: new Date(Date.now() - 1) } });

      // The sweep covers the whole database; this test looks at its own orders only.
      await expiry.sweep();
      expect(await prisma.bid.findUniqueOrThrow({ where: { id: expired } })).toMatchObject({
        status: 'EXPIRED',
      });
      expect(await prisma.offer.findUniqueOrThrow({ where: { id: o1 } })).toMatchObject({
        status: 'EXPIRED',
      });
      const events = await prisma.outboxEvent.findMany({
        where: { aggregateId: { in: [expired, o1] }, type: 'order.expired' },
      });
      expect(events.map((e) => e.aggregateType).sort()).toEqual(['bid', 'offer']);
      // Idempotent: a second sweep finds these orders terminal and records nothing more.
      await expiry.sweep();
      expect(
        await prisma.outboxEvent.count({
          where: { aggregateId: { in: [expired, o1] }, type: 'order.expired' },
        }),
      ).toBe(2);
      // And terminal: the database refuses to take an expired bid back.
      await expect(prisma.bid.update({ where: { id: expired }, data: { status: 'OPEN' } })).rejects.toThrow(
        /terminal/,
      );
    });

    it('does not run a paused market', async () => {
      await offer(4, 1800n);
      await bid(4, 2000n);
      await prisma.market.update({ where: { id: marketId }, data: { status: 'PAUSED' } });
      try {
        expect(await matching.runOnce(marketId)).toEqual({ kind: 'skipped', why: 'paused' });
        expect(await leases()).toHaveLength(0);
      } finally {
        await prisma.market.update({ where: { id: marketId }, data: { status: 'ACTIVE' } });
      }
    });

    it('does not commit a run whose market was paused after the read', async () => {
      await offer(4, 1800n);
      await bid(4, 2000n);
      const held = await heldRuns(1);
      await prisma.market.update({ where: { id: marketId }, data: { status: 'PAUSED' } });
      try {
        await held.release();
        expect(await held.outcomes[0]).toEqual({ kind: 'skipped', why: 'paused' });
        expect(await leases()).toHaveLength(0);
      } finally {
        await prisma.market.update({ where: { id: marketId }, data: { status: 'ACTIVE' } });
      }
    });

    it('stamps leases with the fee as of the commit, not the read', async () => {
      await offer(4, 1800n);
      const b1 = await bid(4, 2000n);
      const held = await heldRuns(1);
      await prisma.market.update({ where: { id: marketId }, data: { feeBps: 400 } });
      try {
        await held.release();
        expect(await held.outcomes[0]).toMatchObject({ kind: 'committed', fills: 1 });
        expect(await leases()).toMatchObject([{ bidId: b1, feeBps: 400 }]);
      } finally {
        await prisma.market.update({ where: { id: marketId }, data: { feeBps: 250 } });
      }
    });

    it('admits one holder per market and hands a request made meanwhile back to it', async () => {
      const token = await lock.acquire(marketId);
      expect(token).not.toBeNull();
      // A second run finds the lock taken and leaves a request instead.
      expect(await lock.acquire(marketId)).toBeNull();
      expect(await lock.release(marketId, token!)).toBe('run-again');
      expect(await lock.release(marketId, token!)).toBe('released');
      const next = await lock.acquire(marketId);
      expect(next).not.toBeNull();
      // Expired under a stalled holder: its release says so instead of freeing someone else's lock.
      await redis.client.del(runLockKeys(redis, marketId).lock);
      const thief = await lock.acquire(marketId);
      expect(await lock.release(marketId, next!)).toBe('lost');
      expect(await lock.release(marketId, thief!)).toBe('released');
    });

    it('keeps its lock working after Redis forgets the scripts (SCRIPT FLUSH, as after a restart)', async () => {
      // Loaded by the calls above: from now on they go by SHA (RedisService.script).
      const token = await lock.acquire(marketId);
      expect(token).not.toBeNull();
      await redis.client.script('FLUSH');
      // NOSCRIPT on the SHA: ioredis sends the body again, and each call still does its work.
      expect(await lock.acquire(marketId)).toBeNull();
      expect(await lock.renew(marketId, token!)).toBe(true);
      await redis.client.script('FLUSH');
      expect(await lock.release(marketId, token!)).toBe('run-again');
      expect(await lock.release(marketId, token!)).toBe('released');
      expect(await redis.client.exists(runLockKeys(redis, marketId).lock)).toBe(0);
    });

    it('fills every bid once when several workers ask for runs of one market at once', async () => {
      await offer(50, 1500n);
      const bids = await Promise.all(Array.from({ length: 10 }, (_, i) => bid(4, 1600n + BigInt(i))));
      // The lock admits one holder; the others leave a request the holder serves.
      await Promise.all([
        matching.matchMarket(marketId),
        matching.matchMarket(marketId),
        matching.matchMarket(marketId),
      ]);

      const made = await leases();
      expect(made.reduce((sum, lease) => sum + lease.gpus, 0)).toBe(40);
      expect(new Set(made.map((lease) => lease.bidId))).toEqual(new Set(bids));
      const filled = await prisma.bid.findMany({ where: { id: { in: bids } } });
      expect(filled.every((b) => b.status === 'FILLED' && b.filledGpus === 4)).toBe(true);
      expect(await redis.client.exists(runLockKeys(redis, marketId).lock)).toBe(0);
    });

    // docs/MATCHING.md "Runs in the exchange": a busy market's orders wait for one run together.
    it('starts a market’s runs at least MATCHING_RUN_INTERVAL_MS apart, and one idle that long at once', async () => {
      const starts: number[] = [];
      const runOnce = matching.runOnce.bind(matching);
      matching.runOnce = (...args) => {
        starts.push(performance.now());
        return runOnce(...args);
      };
      try {
        await matching.matchMarket(marketId);
        await matching.matchMarket(marketId);
        // The service waits by performance.now(), read a hair before these are taken (a GC pause
        // could fall in between: 5 ms of slack, where back-to-back runs are a few ms apart).
        expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(RUN_INTERVAL_MS - 5);
        // The time itself is what is tested here: nothing else says the interval has passed.
        await new Promise((resolve) =>
          setTimeout(resolve, starts[1]! + RUN_INTERVAL_MS - performance.now() + 5),
        );
        const asked = performance.now();
        await matching.matchMarket(marketId);
        expect(starts).toHaveLength(3);
        expect(starts[2]! - asked).toBeLessThan(RUN_INTERVAL_MS);
        // A CALL market's clearing job keeps its instant: it does not wait behind the last run.
        if (matchingMode === 'CALL') {
          const due = performance.now();
          await matching.matchMarket(marketId, true);
          expect(starts).toHaveLength(4);
          expect(starts[3]! - starts[2]!).toBeLessThan(RUN_INTERVAL_MS);
          expect(starts[3]! - due).toBeLessThan(RUN_INTERVAL_MS);
        }
      } finally {
        matching.runOnce = runOnce;
      }
    });

    describe('the book each worker keeps in memory', () => {
      const books = () => module.get(MarketBooks);
      const logged = () => prisma.bookChange.count({ where: { marketId } });

      /** Runs once so that worker 1 holds the market's book, and returns its whole-book loads so far. */
      async function warm(): Promise<number> {
        await matching.runOnce(marketId);
        return books().reads.loads;
      }

      it('applies placements, cancellations and amendments as deltas, without loading again', async () => {
        const loads = await warm();
        const o1 = await offer(4, 1800n);
        const low = await bid(2, 1600n);
        expect(await matching.runOnce(marketId)).toEqual({ kind: 'nothing-to-fill' });
        expect(books().depth(marketId)).toEqual({ bids: 1, offers: 1 });

        await prisma.bid.update({
          where: { id: low },
          data: { status: 'CANCELLED', cancelledAt: new Date() },
        });
        // An amendment re-prices the offer and gives it a new seq, as the API does.
        await prisma.offer.update({
          where: { id: o1 },
          data: { pricePerGpuHour: 1700n, seq: await nextSeq() },
        });
        expect(await matching.runOnce(marketId)).toEqual({ kind: 'nothing-to-fill' });
        expect(books().depth(marketId)).toEqual({ bids: 0, offers: 1 });

        const b1 = await bid(3, 2000n);
        expect(await matching.runOnce(marketId)).toMatchObject({ kind: 'committed', fills: 1, gpus: 3 });
        // The offer has the lower seq, so the trade is at its amended price.
        expect(await leases()).toMatchObject([{ bidId: b1, offerId: o1, gpus: 3, pricePerGpuHour: 1700n }]);
        expect(books().depth(marketId)).toEqual({ bids: 0, offers: 1 });
        // The writer's own fills are not logged: it applied them to its book.
        expect(await logged()).toBe(0);
        expect(books().reads.loads).toBe(loads);
      });

      it('drops expired orders and takes back the GPUs an ended lease returns', async () => {
        const loads = await warm();
        const o1 = await offer(4, 1800n);
        const soon = new Date(Date.now() + 300);
        await bid(2, 1500n, soon);
        await bid(4, 2000n);
        expect(await matching.runOnce(marketId)).toMatchObject({ kind: 'committed', gpus: 4 });
        // The offer is fully leased: out of the book, like the bid that filled.
        expect(books().depth(marketId)).toEqual({ bids: 1, offers: 0 });

        await waitFor('the bid to expire', () =>
          Promise.resolve(Date.now() > soon.getTime() ? true : undefined),
        );
        await expiry.sweep();
        // The lease ends and gives its GPUs back, as the lease sweep does.
        await prisma.$executeRaw`
        UPDATE offers SET leased_gpus = leased_gpus - 4, status = 'OPEN', updated_at = now() WHERE id = ${o1}::uuid`;
        expect(await matching.runOnce(marketId)).toEqual({ kind: 'nothing-to-fill' });
        expect(books().depth(marketId)).toEqual({ bids: 0, offers: 1 });

        const b2 = await bid(3, 2000n);
        expect(await matching.runOnce(marketId)).toMatchObject({ kind: 'committed', gpus: 3 });
        expect((await leases()).at(-1)).toMatchObject({ bidId: b2, offerId: o1, gpus: 3 });
        expect(books().reads.loads).toBe(loads);
      });

      it("applies an organisation's verification and suspension to its resting orders", async () => {
        const loads = await warm();
        const pending = await organisation('PROVIDER', 'PENDING_VERIFICATION');
        const pendingSite = await siteOf(pending);
        const o1 = await offer(3, 1700n, { provider: pending, site: pendingSite });
        const o2 = await offer(2, 1700n, { provider: pending, site: pendingSite });
        const b1 = await bid(3, 2000n);
        // An unverified provider's offers rest, invisible to matching.
        expect(await matching.runOnce(marketId)).toEqual({ kind: 'nothing-to-fill' });

        await prisma.organisation.update({
          where: { id: pending },
          data: { status: 'VERIFIED', verifiedAt: new Date() },
        });
        expect(await matching.runOnce(marketId)).toMatchObject({ kind: 'committed', gpus: 3 });
        expect(await leases()).toMatchObject([{ bidId: b1, offerId: o1, gpus: 3 }]);

        await prisma.organisation.update({
          where: { id: pending },
          data: { status: 'SUSPENDED', suspendedAt: new Date() },
        });
        await bid(2, 2000n);
        expect(await matching.runOnce(marketId)).toEqual({ kind: 'nothing-to-fill' });
        expect(await prisma.offer.findUniqueOrThrow({ where: { id: o2 } })).toMatchObject({ leasedGpus: 0 });
        expect(books().reads.loads).toBe(loads);
        await prisma.site.deleteMany({ where: { organisationId: pending } }).catch(() => undefined);
      });

      it('loads the whole book when another worker has run the market since', async () => {
        await warm();
        const other = secondWorker.get(MatchingService);
        const otherBooks = secondWorker.get(MarketBooks);
        const o1 = await offer(10, 1800n);
        await bid(4, 2000n);
        const otherLoads = otherBooks.reads.loads;
        expect(await other.runOnce(marketId)).toMatchObject({ kind: 'committed', gpus: 4 });
        expect(otherBooks.reads.loads).toBe(otherLoads + 1);

        // Worker 1's book missed that commit: its epoch is gone, so it loads again.
        const loads = books().reads.loads;
        const b2 = await bid(6, 2000n);
        expect(await matching.runOnce(marketId)).toMatchObject({ kind: 'committed', gpus: 6 });
        expect(books().reads.loads).toBe(loads + 1);
        expect((await leases()).at(-1)).toMatchObject({ bidId: b2, offerId: o1, gpus: 6 });
        expect(await prisma.offer.findUniqueOrThrow({ where: { id: o1 } })).toMatchObject({
          leasedGpus: 10,
          status: 'FILLED',
        });
      });

      it('leaves an order placed during a run to the next run, which reads it as a delta', async () => {
        const loads = await warm();
        await offer(10, 1800n);
        const b1 = await bid(4, 2000n);
        const held = await heldRuns(1);
        const late = await bid(3, 1900n);
        await held.release();
        expect(await held.outcomes[0]).toMatchObject({ kind: 'committed', fills: 1, gpus: 4 });
        expect(await leases()).toMatchObject([{ bidId: b1 }]);
        expect(await logged()).toBeGreaterThan(0);

        expect(await matching.runOnce(marketId)).toMatchObject({ kind: 'committed', fills: 1, gpus: 3 });
        expect((await leases()).at(-1)).toMatchObject({ bidId: late, gpus: 3 });
        expect(books().reads.loads).toBe(loads);
      });
    });
  },
);
