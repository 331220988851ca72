import { MatchingCluster, type ClusterTenant } from '../support/matching-cluster';
import { waitFor } from '../support/wait-for';

const HOUR = 3_600_000;
const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

/**
 * The built API and two worker processes: a worker stopped between reading the book and
 * committing (SIGSTOP) while another completes a run cannot commit its stale plan after SIGCONT;
 * an order placed while a run is held open is matched with no further event. Once with the
 * markets CONTINUOUS and once CALL (200 ms windows: a run is then the market's clearing, and the
 * late order's wakeup is the next clearing). Budget: ~30 s per mode.
 */
describe.each(['CONTINUOUS', 'CALL'] as const)(
  'matching across worker processes (%s markets): zombie commits and wakeups',
  (mode) => {
    let cluster: MatchingCluster;
    let provider: ClusterTenant;
    let buyer: ClusterTenant;
    let siteId: string;

    const offer = async (market: string, gpus: number, price: string) => {
      const res = await cluster.request('POST', '/v1/offers', provider, {
        market,
        siteId,
        gpus,
        pricePerGpuHour: price,
        availableFrom: iso(-HOUR),
        availableUntil: iso(30 * 24 * HOUR),
        minLeaseHours: 1,
      });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    const bid = async (market: string, gpus: number, price: string) => {
      const res = await cluster.request('POST', '/v1/bids', buyer, {
        market,
        gpus,
        maxPricePerGpuHour: price,
        durationHours: 2,
        partialAllowed: true,
        billingMode: 'RESERVED',
        expiresAt: iso(24 * HOUR),
      });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    const bidStatus = async (id: string) =>
      (await cluster.request('GET', `/v1/bids/${id}`, buyer)).body.status;
    const filled = (id: string, timeoutMs: number) =>
      waitFor(
        `bid ${id} to fill`,
        async () => ((await bidStatus(id)) === 'FILLED' ? true : undefined),
        timeoutMs,
        50,
      );
    const holdKey = (marketId: string) => cluster.key('test', 'matching-hold', marketId);
    const heldBy = (marketId: string) =>
      waitFor(
        'a worker to hold the run',
        async () => {
          const pid = await cluster.redis.lindex(cluster.key('test', 'matching-held', marketId), 0);
          return pid === null ? undefined : Number(pid);
        },
        10_000,
        20,
      );
    const matchingRow = async (marketId: string) =>
      (
        await cluster.db.query<{ epoch: string; commits: string; stale_commits: string }>(
          'SELECT epoch, commits, stale_commits FROM market_matching WHERE market_id = $1',
          [marketId],
        )
      ).rows[0]!;
    const snapshot = async (marketId: string) =>
      (
        await cluster.db.query(
          `SELECT (SELECT json_agg(l ORDER BY l.id) FROM (SELECT id, bid_id, offer_id, gpus, match_epoch FROM leases WHERE market_id = $1) l) AS leases,
                (SELECT json_agg(o ORDER BY o.id) FROM (SELECT id, leased_gpus, status FROM offers WHERE market_id = $1) o) AS offers,
                (SELECT json_agg(b ORDER BY b.id) FROM (SELECT id, filled_gpus, status FROM bids WHERE market_id = $1) b) AS bids`,
          [marketId],
        )
      ).rows[0] as unknown;

    // The run the offer's own event asks for, finished: a run held later then reads the bid too.
    // Published, then no run job of the market left (the deduplication key lives as long as one
    // does), and no run holding or asked for.
    const offerRunDone = (marketId: string, offerId: string) =>
      waitFor(
        "the offer's own run to finish",
        async () => {
          const event = await cluster.db.query<{ published: boolean }>(
            `SELECT published_at IS NOT NULL AS published FROM outbox_events
           WHERE aggregate_id = $1 AND type = 'offer.placed'`,
            [offerId],
          );
          if (event.rows[0]?.published !== true) return undefined;
          const busy = await cluster.redis.exists(
            cluster.key('bull', 'matching', 'de', `run-${marketId}`),
            cluster.key('matching', `{${marketId}}`, 'lock'),
            cluster.key('matching', `{${marketId}}`, 'requested'),
          );
          return busy === 0 ? true : undefined;
        },
        10_000,
        20,
      );

    /** The reasons of the market's completed `matching.run` jobs: CALL markets run clearings only. */
    const expectRunsOfMode = async (marketId: string) => {
      const base = cluster.key('bull', 'matching');
      const reasons: string[] = [];
      for (const id of await cluster.redis.zrange(`${base}:completed`, '0', '-1')) {
        const [name, data] = await cluster.redis.hmget(`${base}:${id}`, 'name', 'data');
        const payload = JSON.parse(data ?? '{}') as { marketId?: string; reason?: string };
        if (name === 'matching.run' && payload.marketId === marketId) reasons.push(payload.reason ?? '');
      }
      expect(reasons.length).toBeGreaterThan(0);
      if (mode === 'CALL') expect(new Set(reasons)).toEqual(new Set(['clearing']));
      else expect(reasons).not.toContain('clearing');
    };
    beforeAll(async () => {
      // No sweep backstop: a wakeup must come from the run lock's request flag alone.
      cluster = await MatchingCluster.start(2, { MATCHING_SWEEP_INTERVAL_MS: '3600000' });
      // The cluster's own database: the catalogue's markets become call markets for this run.
      await cluster.db.query(`UPDATE markets SET matching_mode = $1, call_window_ms = 200`, [mode]);
      provider = await cluster.tenant('PROVIDER');
      buyer = await cluster.tenant('BUYER');
      const site = await cluster.request('POST', '/v1/sites', provider, {
        name: 'hall Z',
        provinceCode: '520000',
        cityCode: '520100',
        uptimeTier: 'TIER_III',
      });
      siteId = site.body.id as string;
    }, 60_000);

    afterAll(async () => {
      await cluster.stop();
    }, 30_000);

    it('rejects the stale commit of a worker that was stopped between read and commit', async () => {
      const market = 'nvidia-h100-80gb';
      const marketId = await cluster.marketId(market);
      await offerRunDone(marketId, await offer(market, 8, '18.00'));
      await cluster.redis.set(holdKey(marketId), '1');
      const first = await bid(market, 4, '20.00');
      const zombiePid = await heldBy(marketId);
      const zombie = cluster.workerByPid(zombiePid);
      expect(zombie).toBeDefined();
      zombie!.child.kill('SIGSTOP');
      await cluster.redis.del(holdKey(marketId));
      // Its run lock lapses (MATCHING_LOCK_TTL_MS 1 s) and stall handling frees its job.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const second = await bid(market, 2, '20.00');
      await filled(first, 15_000);
      await filled(second, 15_000);
      const before = await snapshot(marketId);
      const fenceBefore = await matchingRow(marketId);

      zombie!.child.kill('SIGCONT');
      await waitFor(
        'the zombie commit to be rejected',
        async () =>
          Number((await matchingRow(marketId)).stale_commits) > Number(fenceBefore.stale_commits)
            ? true
            : undefined,
        10_000,
        50,
      );
      // Give anything the zombie might still do a moment; then nothing may have changed.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await snapshot(marketId)).toEqual(before);
      // No commit; the epoch itself may move on, since every read of the book moves it (the
      // zombie, its lock lost, takes the market again and loads the book, finding nothing to fill).
      const fenceAfter = await matchingRow(marketId);
      expect(fenceAfter.commits).toBe(fenceBefore.commits);
      await expectRunsOfMode(marketId);
    }, 60_000);

    it('matches an order placed while a run is held open, with no further event', async () => {
      const market = 'nvidia-h800-80gb';
      const marketId = await cluster.marketId(market);
      await offer(market, 10, '18.00');
      await cluster.redis.set(holdKey(marketId), '1');
      const first = await bid(market, 4, '20.00');
      await heldBy(marketId);
      // Placed while the run holds the book it read without this bid.
      const late = await bid(market, 3, '19.00');
      // Its run job, added while the held one is active, is kept to follow it (BullMQ's
      // keepLastIfActive); a run that started anyway would leave the run lock's request flag.
      await waitFor(
        'the late bid to ask for a run',
        async () =>
          (await cluster.redis.exists(
            cluster.key('bull', 'matching', 'dn', `run-${marketId}`),
            cluster.key('matching', `{${marketId}}`, 'requested'),
          ))
            ? true
            : undefined,
        10_000,
        20,
      );
      const released = Date.now();
      await cluster.redis.del(holdKey(marketId));
      await filled(first, 5_000);
      await filled(late, 5_000);
      const latency = Date.now() - released;
      // Bound: one run after the held one; without that follow-up it would never fill (no sweep).
      expect(latency).toBeLessThan(5_000);
      await expectRunsOfMode(marketId);
    }, 60_000);
  },
);
