import type { BookBid, BookOffer } from '@/modules/matching/domain/book';
import { clearCall } from '@/modules/matching/domain/call-clearing';
import { loadCallSolver } from '@/modules/matching/domain/highs-runtime';
import { matchMarket } from '@/modules/matching/domain/match-market';
import { referenceRun } from '../matching/reference-model';
import { MatchingCluster, type ClusterTenant } from '../support/matching-cluster';
import { ledgerViolations } from '../support/ledger-invariants';
import { prng } from '../support/prng';

const HOUR = 3_600_000;
const MARKETS = ['nvidia-a100-80gb', 'nvidia-h20-96gb', 'nvidia-l40s-48gb'];
const PLACES = [
  { provinceCode: '520000', cityCode: '520100' },
  { provinceCode: '150000', cityCode: '150900' },
  { provinceCode: '440000', cityCode: '440300' },
  { provinceCode: '510000', cityCode: '510100' },
];
const ORDERS = Number(process.env.MATCHING_STORM_ORDERS ?? 2_000);
const CONCURRENCY = 12;
const KILLS = 4;

interface Placed {
  kind: 'bid' | 'offer';
  id: string;
  owner: ClusterTenant;
}

/**
 * Storm: the built API and three worker processes take thousands of orders over HTTP in three
 * markets, with random cancels, while workers are SIGKILLed one at a time and restarted (mid-solve and
 * mid-commit among other moments). After quiescence the DESIGN invariants 1-4 and 7 hold, no
 * lease is duplicated, and in CONTINUOUS markets the exchange filled at least 97% of what the
 * reference model fills on the same accepted order sequence in the batches the exchange's runs
 * took (GPUs); its share of the reference run after each order is printed. Once with the markets
 * CONTINUOUS and once CALL (250 ms windows, clearings solved in the workers' threads): CALL
 * markets meet the same invariants and liveness, and print their share of the (continuous)
 * reference's GPU-hours (see the check at the end). Budget: ~90 s per mode (77 s measured with the ledger, CONTINUOUS).
 */
describe.each(['CONTINUOUS', 'CALL'] as const)(
  'matching storm (%s markets): three workers, thousands of orders, workers killed',
  (mode) => {
    const seed = Number(process.env.MATCHING_STORM_SEED ?? Date.now() % 1_000_000);
    let cluster: MatchingCluster;

    beforeAll(async () => {
      cluster = await MatchingCluster.start(3, {
        JOB_LOCK_DURATION_MS: '2000',
        JOB_STALLED_INTERVAL_MS: '1000',
        MATCHING_SWEEP_INTERVAL_MS: '2000',
        DATABASE_POOL_MAX: '8',
      });
      // The cluster's own database: the catalogue's markets take this run's mode.
      await cluster.db.query(`UPDATE markets SET matching_mode = $1, call_window_ms = 250`, [mode]);
      await loadCallSolver();
    }, 60_000);

    afterAll(async () => {
      await cluster.stop();
    }, 30_000);

    it('keeps the invariants and fills what the reference model fills', async () => {
      // The seed replays a failure.
      process.stdout.write(
        `matching storm (${mode}) seed ${seed} (MATCHING_STORM_SEED to replay), ${ORDERS} orders\n`,
      );
      const random = prng(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
      const providers = await Promise.all([1, 2, 3, 4].map(() => cluster.tenant('PROVIDER')));
      const buyers = await Promise.all([1, 2, 3, 4, 5, 6].map(() => cluster.tenant('BUYER')));
      const sites = new Map<string, string[]>();
      for (const provider of providers) {
        const ids: string[] = [];
        for (const [i, place] of PLACES.entries()) {
          const res = await cluster.request('POST', '/v1/sites', provider, {
            name: `hall ${i}`,
            ...place,
            uptimeTier: 'TIER_III',
          });
          expect(res.status).toBe(201);
          ids.push(res.body.id as string);
        }
        sites.set(provider.organisationId, ids);
      }

      // Every order is drawn before any is sent, so the seed alone decides the stream.
      const orders = Array.from({ length: ORDERS }, () => {
        const market = pick(MARKETS);
        const price = (n: number) => (n / 100).toFixed(2);
        if (random() < 0.5) {
          const owner = pick(providers);
          return {
            kind: 'offer' as const,
            owner,
            body: {
              market,
              siteId: pick(sites.get(owner.organisationId)!),
              gpus: 1 + Math.floor(random() * 16),
              pricePerGpuHour: price(1700 + Math.floor(random() * 40) * 10),
              availableFrom: new Date(Date.now() - HOUR).toISOString(),
              availableUntil: new Date(Date.now() + 20 * 24 * HOUR).toISOString(),
              minLeaseHours: 1 + Math.floor(random() * 3),
            },
          };
        }
        const gpus = 1 + Math.floor(random() * 12);
        const colocated = random() < 0.35;
        const provinces =
          random() < 0.4
            ? []
            : [pick(PLACES).provinceCode, ...(random() < 0.5 ? [pick(PLACES).provinceCode] : [])];
        return {
          kind: 'bid' as const,
          owner: pick(buyers),
          body: {
            market,
            gpus,
            maxPricePerGpuHour: price(1800 + Math.floor(random() * 40) * 10),
            durationHours: 1 + Math.floor(random() * 8),
            provinces: [...new Set(provinces)],
            minGpusPerSite: colocated ? Math.min(gpus, 2 + Math.floor(random() * 3)) : 1,
            partialAllowed: random() < 0.7,
            billingMode: random() < 0.5 ? 'RESERVED' : 'PAY_PER_USE',
            expiresAt: new Date(Date.now() + 10 * 24 * HOUR).toISOString(),
          },
        };
      });
      const cancelDraws = orders.map(() => random());

      // Workers die at random while the orders arrive (two at least, even past the last order);
      // each is restarted 300 ms later, and the next dies 1.2-2 s after it consumes again. One at a
      // time: a worker boots in 1-8 s on a loaded machine, and kills that overtook boots once took
      // all three down for 6 s; this suite is about matching on while other workers die.
      let placingOrders = true;
      let kills = 0;
      const killer = (async () => {
        while (kills < KILLS && (placingOrders || kills < 2)) {
          await new Promise((resolve) => setTimeout(resolve, 1_200 + random() * 800));
          const victim = Math.floor(random() * cluster.workers.length);
          await cluster.killWorker(victim);
          kills += 1;
          await new Promise((resolve) => setTimeout(resolve, 300));
          cluster.restartWorker(victim);
          await cluster.workersConsuming(60_000);
        }
      })();

      const started = Date.now();
      const placed: Placed[] = [];
      let next = 0;
      const failures: string[] = [];
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < orders.length) {
            const i = next;
            next += 1;
            const order = orders[i]!;
            const res = await cluster.request(
              'POST',
              order.kind === 'bid' ? '/v1/bids' : '/v1/offers',
              order.owner,
              order.body,
            );
            if (res.status !== 201) {
              failures.push(`${res.status} ${JSON.stringify(res.body)}`);
              continue;
            }
            placed.push({ kind: order.kind, id: res.body.id as string, owner: order.owner });
            // About one order in twelve is cancelled soon after, racing the matching runs.
            if (cancelDraws[i]! < 0.08 && placed.length > 1) {
              const victim = placed[Math.floor(cancelDraws[i]! * 12 * placed.length) % placed.length]!;
              const path = `/v1/${victim.kind === 'bid' ? 'bids' : 'offers'}/${victim.id}/cancel`;
              const cancel = await cluster.request('POST', path, victim.owner);
              // 409: it filled (or expired) first, which a race allows.
              if (cancel.status !== 200 && cancel.status !== 409) {
                failures.push(`cancel ${cancel.status} ${JSON.stringify(cancel.body)}`);
              }
            }
          }
        }),
      );
      const placing = Date.now() - started;
      placingOrders = false;
      await killer;
      expect(failures).toEqual([]);
      expect(kills).toBeGreaterThanOrEqual(2);

      await cluster.quiesce(60_000);
      const quiet = Date.now() - started;
      const { db } = cluster;

      // 1. For every offer, GPUs of non-ended leases <= GPUs offered, and leasedGpus says so.
      const offers = await db.query(`
      SELECT o.id, o.gpus, o.leased_gpus, COALESCE(sum(l.gpus), 0)::int AS lease_gpus
      FROM offers o LEFT JOIN leases l ON l.offer_id = o.id AND l.status IN ('SCHEDULED', 'ACTIVE')
      GROUP BY o.id`);
      for (const row of offers.rows as Array<{ gpus: number; leased_gpus: number; lease_gpus: number }>) {
        expect(row.lease_gpus).toBe(row.leased_gpus);
        expect(row.lease_gpus).toBeLessThanOrEqual(row.gpus);
      }

      // 2. Bids: fills add up, statuses agree, and each bid has at most one terminal event.
      const bids = await db.query(`
      SELECT b.id, b.gpus, b.filled_gpus, b.status, COALESCE(sum(l.gpus), 0)::int AS lease_gpus,
        (SELECT count(*)::int FROM outbox_events e WHERE e.aggregate_id = b.id::text AND (
          e.type IN ('bid.cancelled', 'order.expired')
          OR (e.type = 'order.filled' AND e.payload->>'status' = 'FILLED'))) AS terminal_events
      FROM bids b LEFT JOIN leases l ON l.bid_id = b.id GROUP BY b.id`);
      for (const row of bids.rows as Array<{
        gpus: number;
        filled_gpus: number;
        status: string;
        lease_gpus: number;
        terminal_events: number;
      }>) {
        expect(row.lease_gpus).toBe(row.filled_gpus);
        const terminal = ['FILLED', 'CANCELLED', 'EXPIRED'].includes(row.status);
        expect(row.terminal_events).toBe(terminal ? 1 : 0);
        expect(row.status === 'FILLED').toBe(row.filled_gpus === row.gpus);
        if (row.status === 'OPEN') expect(row.filled_gpus).toBe(0);
      }

      // 3. No lease breaks its bid's cap, provinces, duration, minimum lease, window or expiry.
      const leases = await db.query(`
      SELECT l.*, b.max_price_per_gpu_hour AS bid_price, b.seq AS bid_seq, b.provinces,
             b.duration_hours AS bid_hours, b.expires_at, b.min_gpus_per_site, b.gpus AS bid_gpus,
             b.filled_gpus AS bid_filled, o.price_per_gpu_hour AS ask, o.seq AS offer_seq,
             o.min_lease_hours, o.available_from, o.available_until, s.province_code
      FROM leases l JOIN bids b ON b.id = l.bid_id JOIN offers o ON o.id = l.offer_id JOIN sites s ON s.id = o.site_id`);
      type LeaseRow = Record<string, unknown> & {
        bid_id: string;
        site_id: string;
        match_epoch: string;
        gpus: number;
        min_gpus_per_site: number;
        bid_gpus: number;
        bid_filled: number;
      };
      const groups = new Map<string, { row: LeaseRow; gpus: number }>();
      for (const row of leases.rows as LeaseRow[]) {
        const price = BigInt(row.price_per_gpu_hour as string);
        // Continuous: the price of the order with the lower seq; a clearing: the ask (pay-as-ask).
        expect(price).toBe(
          mode === 'CONTINUOUS' && BigInt(row.bid_seq as string) < BigInt(row.offer_seq as string)
            ? BigInt(row.bid_price as string)
            : BigInt(row.ask as string),
        );
        expect(price).toBeLessThanOrEqual(BigInt(row.bid_price as string));
        const provinces = row.provinces as string[];
        expect(provinces.length === 0 || provinces.includes(row.province_code as string)).toBe(true);
        expect(row.duration_hours).toBe(row.bid_hours);
        expect(row.bid_hours as number).toBeGreaterThanOrEqual(row.min_lease_hours as number);
        const created = (row.created_at as Date).getTime();
        expect(created).toBeLessThan((row.expires_at as Date).getTime());
        expect(created).toBeGreaterThanOrEqual((row.available_from as Date).getTime());
        expect(created + (row.bid_hours as number) * HOUR).toBeLessThanOrEqual(
          (row.available_until as Date).getTime(),
        );
        const key = `${row.bid_id}/${row.match_epoch}/${row.site_id}`;
        groups.set(key, { row, gpus: (groups.get(key)?.gpus ?? 0) + row.gpus });
      }
      // Co-location: a site short of the minimum only ever takes a bid's final remainder.
      const short = new Map<string, number>();
      for (const { row, gpus } of groups.values()) {
        if (gpus >= Math.min(row.min_gpus_per_site, row.bid_gpus)) continue;
        short.set(row.bid_id, (short.get(row.bid_id) ?? 0) + 1);
        expect(row.bid_filled).toBe(row.bid_gpus);
      }
      for (const count of short.values()) expect(count).toBe(1);

      // No duplicate lease: one per (bid, offer) per commit, and every commit accounted for.
      const duplicates = await db.query<{ n: number }>(`
      SELECT count(*)::int AS n FROM (
        SELECT 1 FROM leases GROUP BY market_id, match_epoch, bid_id, offer_id HAVING count(*) > 1) d`);
      expect(duplicates.rows[0]?.n).toBe(0);
      const commits = await db.query(`
      SELECT mm.commits::int, (SELECT count(DISTINCT match_epoch)::int FROM leases l WHERE l.market_id = mm.market_id) AS epochs
      FROM market_matching mm`);
      for (const row of commits.rows as Array<{ commits: number; epochs: number }>)
        expect(row.epochs).toBe(row.commits);

      // 4. The ledger: balanced, and every buyer's held credit is exactly its open bids' and its
      // leases' holds, through every kill between placement, match and cancel.
      const sql = async (text: string, ...params: unknown[]) =>
        (await db.query(text, params)).rows as Array<Record<string, unknown>>;
      expect(
        await ledgerViolations(
          sql,
          buyers.map((b) => b.organisationId),
        ),
      ).toEqual([]);

      // 7. Liveness: after quiescence no eligible pair is left; the core finds nothing to fill,
      // and neither does a clearing of what is left.
      const now = Date.now();
      for (const market of MARKETS) {
        const book = await liveBook(cluster, market);
        expect(matchMarket(book.bids, book.offers, now).fills).toEqual([]);
        if (mode === 'CALL') expect(clearCall(book.bids, book.offers, now).fills).toEqual([]);
      }

      // Against the reference model on the accepted sequence (placements and cancels in outbox
      // order): run after each order, and run where the exchange's commits sit (its batches).
      const reference = await referenceFilled(cluster, now, 'each-order');
      const batched = await referenceFilled(cluster, now, 'exchange-runs');
      const total = await db.query<{ gpus: number; hours: number }>(
        `SELECT COALESCE(sum(gpus), 0)::int AS gpus, COALESCE(sum(gpus * duration_hours), 0)::int AS hours FROM leases`,
      );
      const actual = { gpus: total.rows[0]?.gpus ?? 0, gpuHours: total.rows[0]?.hours ?? 0 };
      const share = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)}%`;
      process.stdout.write(
        `storm (${mode}): ${placed.length} orders in ${placing} ms, quiet after ${quiet} ms, ${kills} kills, ` +
          `filled ${actual.gpus} GPUs / ${actual.gpuHours} GPU-hours, reference ${reference.gpus} / ` +
          `${reference.gpuHours} each order (${share(actual.gpus, reference.gpus)} of its GPUs), ` +
          `${batched.gpus} / ${batched.gpuHours} in the exchange's batches (${share(actual.gpus, batched.gpus)}) ` +
          `(checks ${Date.now() - started - quiet} ms)\n`,
      );
      const measure = mode === 'CALL' ? 'gpuHours' : 'gpus';
      expect(reference[measure]).toBeGreaterThan(0);
      if (mode === 'CONTINUOUS') {
        // Greedy price-time priority is path-dependent: a run over a batch gives the cheap offers
        // to the highest bids, where orders taken one at a time give them to the first, and fills
        // fewer GPUs (seed 784228: 5,864 in the exchange's batches against 6,435 one at a time, the
        // exchange 5,931). How large the batches grow depends on the machine's load, so the rule
        // is against the reference in the exchange's batches: the engine fills what the model
        // fills on the books its runs saw (an order its runs skipped, or a run that committed
        // less than it found, falls short). The boundaries are approximate (an order's event can
        // precede a commit's while its transaction was not yet visible to that run), hence 97%: three
        // seeds measured 100.4-100.7%.
        expect(actual[measure]).toBeGreaterThanOrEqual(Math.ceil(0.97 * batched[measure]));
      } else {
        // The reference model is continuous: it matches each order as it arrives. A CALL market
        // clears what rests at each window's end, and a clearing past MATCHING_SOLVE_TIMEOUT_MS
        // falls back to the greedy allocation, so its share of the continuous reference is a
        // figure, not a rule, until a call-mode reference model exists (issue 13). The first run
        // of this suite measured 75% (19,178 of 25,671 GPU-hours, load 12 on 2 cores). Here the
        // invariants (1-6) and the liveness check (7) above are what CALL mode must meet.
        expect(actual[measure]).toBeGreaterThan(0);
        process.stdout.write(
          `storm (CALL): ${share(actual[measure], reference[measure])} of the continuous reference's GPU-hours\n`,
        );
      }
    }, 240_000);
  },
);

interface BookRows {
  bids: BookBid[];
  offers: BookOffer[];
}

async function liveBook(cluster: MatchingCluster, market: string): Promise<BookRows> {
  const marketId = await cluster.marketId(market);
  const bids = await cluster.db.query(
    `SELECT * FROM bids WHERE market_id = $1 AND status IN ('OPEN', 'PARTIALLY_FILLED')`,
    [marketId],
  );
  const offers = await cluster.db.query(
    `SELECT o.*, s.province_code FROM offers o JOIN sites s ON s.id = o.site_id
     WHERE o.market_id = $1 AND o.status IN ('OPEN', 'PARTIALLY_FILLED')`,
    [marketId],
  );
  return {
    bids: (bids.rows as Array<Record<string, unknown>>).map((row) =>
      toBid(row, (row.gpus as number) - (row.filled_gpus as number)),
    ),
    offers: (offers.rows as Array<Record<string, unknown>>).map((row) =>
      toOffer(row, (row.gpus as number) - (row.leased_gpus as number)),
    ),
  };
}

function toBid(row: Record<string, unknown>, remaining: number): BookBid {
  return {
    id: row.id as string,
    organisationId: row.organisation_id as string,
    verified: true,
    price: BigInt(row.max_price_per_gpu_hour as string),
    remaining,
    seq: BigInt(row.seq as string),
    durationHours: row.duration_hours as number,
    provinces: row.provinces as string[],
    minGpusPerSite: row.min_gpus_per_site as number,
    partialAllowed: row.partial_allowed as boolean,
    expiresAt: (row.expires_at as Date).getTime(),
  };
}

function toOffer(row: Record<string, unknown>, free: number): BookOffer {
  return {
    id: row.id as string,
    organisationId: row.organisation_id as string,
    verified: true,
    siteId: row.site_id as string,
    province: row.province_code as string,
    price: BigInt(row.price_per_gpu_hour as string),
    free,
    seq: BigInt(row.seq as string),
    availableFrom: (row.available_from as Date).getTime(),
    availableUntil: (row.available_until as Date).getTime(),
    minLeaseHours: row.min_lease_hours as number,
    payPerUseMinPercent: row.pay_per_use_min_percent as number,
  };
}

/**
 * GPUs and GPU-hours the reference model fills on the accepted orders in outbox order, with cancels
 * applied where they were accepted. `each-order`: a run after each placement (the reference's own
 * continuous market). `exchange-runs`: a run where each of the exchange's commits sits in that
 * order (its first `lease.created`), so the reference takes the batches the exchange's runs took.
 */
async function referenceFilled(
  cluster: MatchingCluster,
  now: number,
  batching: 'each-order' | 'exchange-runs',
): Promise<{ gpus: number; gpuHours: number }> {
  const events = await cluster.db.query(
    `SELECT e.type, e.aggregate_id, l.market_id, l.match_epoch FROM outbox_events e
     LEFT JOIN leases l ON e.type = 'lease.created' AND l.id::text = e.aggregate_id
     WHERE e.type IN ('offer.placed', 'bid.placed', 'offer.cancelled', 'bid.cancelled', 'lease.created')
     ORDER BY e.seq`,
  );
  const bids = new Map(
    (await cluster.db.query('SELECT * FROM bids')).rows.map((row: Record<string, unknown>) => [
      row.id as string,
      row,
    ]),
  );
  const offers = new Map(
    (
      await cluster.db.query('SELECT o.*, s.province_code FROM offers o JOIN sites s ON s.id = o.site_id')
    ).rows.map((row: Record<string, unknown>) => [row.id as string, row]),
  );
  const books = new Map<string, { bids: BookBid[]; offers: BookOffer[] }>();
  const bookOf = (market: string) =>
    books.get(market) ?? books.set(market, { bids: [], offers: [] }).get(market)!;
  const filled = { gpus: 0, gpuHours: 0 };
  const run = (book: { bids: BookBid[]; offers: BookOffer[] }) => {
    const result = referenceRun(book.bids, book.offers, now);
    for (const fill of result.fills) {
      filled.gpus += fill.gpus;
      filled.gpuHours += fill.gpus * (bids.get(fill.bidId)!.duration_hours as number);
    }
    book.bids = result.bidsAfter.filter((b) => b.remaining > 0);
    book.offers = result.offersAfter.filter((o) => o.free > 0);
  };
  const commitsSeen = new Set<string>();
  type Row = { type: string; aggregate_id: string; market_id: string | null; match_epoch: number | null };
  for (const { type, aggregate_id: id, market_id, match_epoch } of events.rows as Row[]) {
    if (type === 'lease.created') {
      const commit = `${market_id}/${match_epoch}`;
      if (batching === 'exchange-runs' && market_id !== null && !commitsSeen.has(commit)) {
        commitsSeen.add(commit);
        run(bookOf(market_id));
      }
      continue;
    }
    const row = type.startsWith('bid') ? bids.get(id) : offers.get(id);
    if (row === undefined) continue;
    const book = bookOf(row.market_id as string);
    if (type === 'bid.cancelled') book.bids = book.bids.filter((b) => b.id !== id);
    if (type === 'offer.cancelled') book.offers = book.offers.filter((o) => o.id !== id);
    if (!type.endsWith('.placed')) continue;
    if (type === 'bid.placed') book.bids.push(toBid(row, row.gpus as number));
    else book.offers.push(toOffer(row, row.gpus as number));
    if (batching === 'each-order') run(book);
  }
  // The exchange's last runs found nothing more (liveness above); the reference's last batch runs.
  for (const book of books.values()) run(book);
  return filled;
}
