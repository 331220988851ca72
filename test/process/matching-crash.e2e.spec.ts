import { ledgerViolations } from '../support/ledger-invariants';
import { MatchingCluster, type ClusterTenant } from '../support/matching-cluster';
import { holdKeys } from '../support/matching-hold.cjs';
import { waitFor } from '../support/wait-for';

const HOUR = 3_600_000;
const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

/**
 * The built API and two worker processes, every market CALL (250 ms windows, clearings solved in
 * the workers' threads). A worker is SIGKILLed while a clearing's run is held between its solve
 * and its commit, and again inside the commit's transaction once every row is written: nothing of
 * the run is visible, the other worker clears the same orders, and every accepted order fills
 * exactly once (one commit, one lease per bid and offer, holds converted once). Budget: ~40 s.
 */
describe('CALL clearing: a worker killed between solve and commit, and mid-commit', () => {
  let cluster: MatchingCluster;
  let provider: ClusterTenant;
  let buyer: ClusterTenant;
  let siteId: string;

  beforeAll(async () => {
    // The sweep is the backstop that asks for the clearing again once the dead holder's lock lapses.
    cluster = await MatchingCluster.start(2, { MATCHING_SWEEP_INTERVAL_MS: '1000' });
    await cluster.db.query(`UPDATE markets SET matching_mode = 'CALL', call_window_ms = 250`);
    provider = await cluster.tenant('PROVIDER');
    buyer = await cluster.tenant('BUYER');
    const site = await cluster.request('POST', '/v1/sites', provider, {
      name: 'hall K',
      provinceCode: '520000',
      cityCode: '520100',
      uptimeTier: 'TIER_III',
    });
    siteId = site.body.id as string;
  }, 60_000);

  afterAll(async () => {
    await cluster.stop();
  }, 30_000);

  const bid = async (market: string, gpus: number, partialAllowed: boolean) => {
    const res = await cluster.request('POST', '/v1/bids', buyer, {
      market,
      gpus,
      maxPricePerGpuHour: '20.00',
      durationHours: 3,
      partialAllowed,
      billingMode: 'RESERVED',
      expiresAt: iso(24 * HOUR),
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };

  it.each(['before-commit', 'inside-commit'] as const)(
    'held at %s, killed: fills once',
    async (moment) => {
      const market = moment === 'before-commit' ? 'nvidia-a100-80gb' : 'nvidia-h20-96gb';
      const marketId = await cluster.marketId(market);
      const keys = holdKeys(cluster.env.REDIS_PREFIX!, marketId, moment);
      await cluster.redis.set(keys.hold, '1');

      // Bids rest first; the offer then makes one clearing fill all three in one commit.
      const bids = [await bid(market, 4, true), await bid(market, 3, false), await bid(market, 2, true)];
      const offer = await cluster.request('POST', '/v1/offers', provider, {
        market,
        siteId,
        gpus: 12,
        pricePerGpuHour: '18.00',
        availableFrom: iso(-HOUR),
        availableUntil: iso(30 * 24 * HOUR),
        minLeaseHours: 1,
      });
      expect(offer.status).toBe(201);

      const pid = await waitFor(
        `a worker to hold its clearing at ${moment}`,
        async () => {
          const held = await cluster.redis.lindex(keys.held, 0);
          return held === null ? undefined : Number(held);
        },
        20_000,
        20,
      );
      const index = cluster.workers.findIndex((worker) => worker?.child.pid === pid);
      expect(index).toBeGreaterThanOrEqual(0);
      // Held inside the commit, its rows are written but not committed: nobody else sees them.
      const leasesNow = async () =>
        (
          await cluster.db.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM leases WHERE market_id = $1',
            [marketId],
          )
        ).rows[0]!.n;
      expect(await leasesNow()).toBe(0);
      await cluster.killWorker(index);
      await cluster.redis.del(keys.hold);
      expect(await leasesNow()).toBe(0);
      cluster.restartWorker(index);

      await waitFor(
        'every bid to fill after the crash',
        async () => {
          const rows = await cluster.db.query<{ status: string }>(
            'SELECT status FROM bids WHERE id = ANY($1::uuid[])',
            [bids],
          );
          return rows.rows.every((row) => row.status === 'FILLED') ? true : undefined;
        },
        30_000,
        100,
      );
      await cluster.quiesce(30_000);

      const leases = await cluster.db.query<{ bid_id: string; gpus: number; match_epoch: string }>(
        'SELECT bid_id, gpus, match_epoch::text FROM leases WHERE market_id = $1',
        [marketId],
      );
      // One lease per bid (one offer), all of one commit, each of the bid's whole quantity.
      expect(leases.rows.map((row) => [row.bid_id, row.gpus]).sort()).toEqual(
        [
          [bids[0], 4],
          [bids[1], 3],
          [bids[2], 2],
        ].sort(),
      );
      expect(new Set(leases.rows.map((row) => row.match_epoch)).size).toBe(1);
      const matching = await cluster.db.query<{ commits: number }>(
        'SELECT commits::int FROM market_matching WHERE market_id = $1',
        [marketId],
      );
      expect(matching.rows[0]?.commits).toBe(1);
      const offers = await cluster.db.query<{ leased_gpus: number }>(
        'SELECT leased_gpus FROM offers WHERE market_id = $1',
        [marketId],
      );
      expect(offers.rows).toEqual([{ leased_gpus: 9 }]);
      // Each fill's event was recorded once, with the commit that made it.
      const filledEvents = await cluster.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM outbox_events WHERE type = 'order.filled' AND aggregate_id = ANY($1)`,
        [bids],
      );
      expect(filledEvents.rows[0]?.n).toBe(3);
      const sql = async (text: string, ...params: unknown[]) =>
        (await cluster.db.query(text, params)).rows as Array<Record<string, unknown>>;
      expect(await ledgerViolations(sql, [buyer.organisationId])).toEqual([]);
    },
    90_000,
  );
});
