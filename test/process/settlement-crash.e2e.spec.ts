import { CLOCK_REDIS_KEY } from '@/infra/clock/clock.module';
import { ControllableClock } from '@/infra/clock/controllable-clock';
import { MatchingCluster, type ClusterTenant } from '../support/matching-cluster';
import { ledgerViolations } from '../support/ledger-invariants';
import { prng } from '../support/prng';
import { waitFor } from '../support/wait-for';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Fees: the first market keeps its 300 bps; the second is set to an odd 1,234 bps below. */
const MARKETS = [
  { slug: 'nvidia-l40s-48gb', price: '12.34', feeBps: 300 },
  { slug: 'nvidia-a800-80gb', price: '7.77', feeBps: 1_234 },
] as const;
const LEASES = Number(process.env.SETTLEMENT_CRASH_LEASES ?? 120);
const WORKERS = 3;
const KILLS = 8;
const STEP_PAUSE_MS = 300;

interface LeaseRow {
  id: string;
  buyer_organisation_id: string;
  provider_organisation_id: string;
  status: string;
  termination_reason: string | null;
  billing_mode: 'RESERVED' | 'PAY_PER_USE';
  gpus: number;
  price_per_gpu_hour: string;
  duration_hours: number;
  fee_bps: number;
  pay_per_use_min_percent: number;
  period_seconds: number;
  started_at: Date | null;
  ended_at: Date | null;
  settled_periods: number;
  settlement_state: string;
  settlement_error: string | null;
}

/**
 * Crash test of settlement: the built API and three worker processes on the controllable clock
 * (one Redis key every process reads) settle ~120 leases made through the API (offers, bids,
 * matching, access handover; some ended early by either side) while the clock runs ~32 hours
 * ahead in half-hour steps, about 2,500 periods in all, and workers are SIGKILLed at random
 * moments and restarted (at most 8 kills, stopping with the clock). After quiescence: every
 * (lease, period) the leases' own start, end and period length call for is settled exactly once
 * at the charge docs/LEASES.md's rule gives, one ledger transfer each, buyer debits = provider
 * credits + platform fees to the fen, DESIGN invariant 4 holds, nothing NEEDS_ATTENTION, and every
 * hold is used up or released. SETTLEMENT_CRASH_SEED replays a run (leases, steps and kills);
 * SETTLEMENT_CRASH_LEASES sizes it. Budget: <= 120 s (35 s measured at a load average of 3, 103 s under one of 12).
 */
describe('settlement crash: workers SIGKILLed while thousands of periods settle', () => {
  const seed = Number(process.env.SETTLEMENT_CRASH_SEED ?? Date.now() % 1_000_000);
  let cluster: MatchingCluster;
  let clock: ControllableClock | undefined;

  beforeAll(async () => {
    cluster = await MatchingCluster.start(WORKERS, {
      CLOCK: 'controllable',
      // Long enough that a worker starved of CPU on a loaded machine keeps its job's lock: a
      // job taken as stalled three times is failed by BullMQ and its lease flagged for an admin.
      JOB_LOCK_DURATION_MS: '5000',
      JOB_STALLED_INTERVAL_MS: '1000',
      // A job in flight on a killed worker counts as stalled once per kill, and BullMQ fails a job
      // stalled more than this (the product's default is 2: a job that keeps killing its worker is
      // poison). The kills here are the test's, not the job's: no job may be failed by them alone.
      JOB_MAX_STALLED_COUNT: String(KILLS + 1),
      SETTLEMENT_SWEEP_INTERVAL_MS: '250',
      LEASE_SWEEP_INTERVAL_MS: '250',
      MATCHING_SWEEP_INTERVAL_MS: '2000',
      DATABASE_POOL_MAX: '8',
    });
  }, 60_000);

  afterAll(async () => {
    clock?.stop();
    await cluster.stop();
  }, 30_000);

  it('settles each period exactly once and conserves every fen', async () => {
    process.stdout.write(
      `settlement crash seed ${seed} (SETTLEMENT_CRASH_SEED to replay), ${LEASES} leases\n`,
    );
    const random = prng(seed);
    const { db } = cluster;
    const clockKey = cluster.key(CLOCK_REDIS_KEY);
    // Moves the processes' shared clock and returns once every running one shows the new instant.
    const shared = await ControllableClock.join(cluster.redis, clockKey, Date.now());
    clock = shared;
    const advance = (ms: number) => shared.advance(ms);
    await db.query(`UPDATE markets SET fee_bps = $2 WHERE slug = $1`, [MARKETS[1].slug, MARKETS[1].feeBps]);

    const providers = [await cluster.tenant('PROVIDER'), await cluster.tenant('PROVIDER')];
    const buyers = await Promise.all([1, 2, 3, 4].map(() => cluster.tenant('BUYER')));
    const byOrg = new Map<string, ClusterTenant>([...providers, ...buyers].map((t) => [t.organisationId, t]));
    const now = Number(await cluster.redis.get(clockKey));
    for (const [i, market] of MARKETS.entries()) {
      const provider = providers[i]!;
      const site = await cluster.request('POST', '/v1/sites', provider, {
        name: `hall ${i}`,
        provinceCode: '520000',
        cityCode: '520100',
        uptimeTier: 'TIER_III',
      });
      expect(site.status).toBe(201);
      const offer = await cluster.request('POST', '/v1/offers', provider, {
        market: market.slug,
        siteId: site.body.id,
        gpus: 2_000,
        pricePerGpuHour: market.price,
        availableFrom: new Date(now - HOUR).toISOString(),
        availableUntil: new Date(now + 20 * 24 * HOUR).toISOString(),
        minLeaseHours: 1,
        payPerUseMinPercent: 25 + i * 12,
      });
      expect(offer.status).toBe(201);
    }

    // Bids rest after the offers, so each fills at the offer's price (below its cap or at it).
    for (let i = 0; i < LEASES; i += 1) {
      const market = MARKETS[i % MARKETS.length]!;
      const res = await cluster.request('POST', '/v1/bids', buyers[Math.floor(random() * buyers.length)], {
        market: market.slug,
        gpus: 1 + Math.floor(random() * 4),
        maxPricePerGpuHour: random() < 0.3 ? market.price : '20.00',
        durationHours: 20 + Math.floor(random() * 11),
        provinces: [],
        minGpusPerSite: 1,
        partialAllowed: false,
        billingMode: random() < 0.5 ? 'RESERVED' : 'PAY_PER_USE',
        expiresAt: new Date(now + 10 * 24 * HOUR).toISOString(),
      });
      expect(res.status).toBe(201);
    }
    await waitFor(
      'every bid to become a lease',
      async () =>
        (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM leases')).rows[0]?.n === LEASES
          ? true
          : undefined,
      30_000,
      100,
    );

    // Access handed over in batches a minute apart (within the 15-minute deadline), so periods
    // start at different instants.
    const leaseIds = (
      await db.query<{ id: string; provider_organisation_id: string }>(
        'SELECT id, provider_organisation_id FROM leases ORDER BY created_at, id',
      )
    ).rows;
    for (const [i, lease] of leaseIds.entries()) {
      if (i > 0 && i % 12 === 0) await advance(MINUTE);
      const res = await cluster.request(
        'POST',
        `/v1/leases/${lease.id}/access`,
        byOrg.get(lease.provider_organisation_id),
        {
          endpoint: 'https://inference.gz-dc.example/v1',
          credentials: [{ name: 'api_key', value: 'sk-crash-test' }],
        },
      );
      expect(res.status).toBe(200);
    }
    // About one lease in ten is ended early by its provider, one in ten by its buyer, at a random step.
    const early = new Map<number, Array<{ id: string; side: 'BUYER' | 'PROVIDER' }>>();
    const leaseParties = (
      await db.query<{ id: string; buyer_organisation_id: string; provider_organisation_id: string }>(
        'SELECT id, buyer_organisation_id, provider_organisation_id FROM leases ORDER BY id',
      )
    ).rows;
    for (const lease of leaseParties) {
      const draw = random();
      if (draw >= 0.2) continue;
      const step = 2 + Math.floor(random() * 30);
      early.set(step, [
        ...(early.get(step) ?? []),
        { id: lease.id, side: draw < 0.1 ? 'PROVIDER' : 'BUYER' },
      ]);
    }
    const ownerOf = new Map(leaseParties.map((l) => [l.id, l]));

    // Workers die at random while the clock runs; each comes back a moment later.
    let running = true;
    let kills = 0;
    const killer = (async () => {
      while (running && kills < KILLS) {
        await new Promise((resolve) => setTimeout(resolve, 1_000 + random() * 2_000));
        if (!running) break;
        const victim = Math.floor(random() * WORKERS);
        await cluster.killWorker(victim);
        kills += 1;
        await new Promise((resolve) => setTimeout(resolve, 200 + random() * 400));
        cluster.restartWorker(victim);
      }
    })();

    // The clock runs past every lease's end and the pay-per-use grace, in 20-40 minute steps.
    const started = Date.now();
    const horizon = now + 31 * HOUR + 30 * MINUTE;
    const failures: string[] = [];
    for (let step = 0; Number(await cluster.redis.get(clockKey)) < horizon; step += 1) {
      await advance((20 + Math.floor(random() * 21)) * MINUTE);
      for (const { id, side } of early.get(step) ?? []) {
        const parties = ownerOf.get(id)!;
        const who = byOrg.get(
          side === 'BUYER' ? parties.buyer_organisation_id : parties.provider_organisation_id,
        );
        const res = await cluster.request('POST', `/v1/leases/${id}/terminate`, who);
        if (res.status !== 200)
          failures.push(`terminate ${id} by ${side}: ${res.status} ${JSON.stringify(res.body)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, STEP_PAUSE_MS));
    }
    running = false;
    await killer;
    cluster.workers.forEach((worker, i) => worker === undefined && cluster.restartWorker(i));
    expect(failures).toEqual([]);
    expect(kills).toBeGreaterThanOrEqual(3);

    await waitFor(
      'every lease to finish settling',
      async () =>
        (
          await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM leases WHERE settlement_state = 'OPEN' OR status = 'ACTIVE'`,
          )
        ).rows[0]?.n === 0
          ? true
          : undefined,
      60_000,
      250,
    );
    const settling = Date.now() - started;

    const leases = (
      await db.query<LeaseRow>(
        `SELECT id, buyer_organisation_id, provider_organisation_id, status::text, termination_reason::text,
              billing_mode::text, gpus, price_per_gpu_hour::text, duration_hours, fee_bps, pay_per_use_min_percent,
              period_seconds, started_at, ended_at, settled_periods, settlement_state::text, settlement_error
       FROM leases`,
      )
    ).rows;
    const periods = (
      await db.query<{ lease_id: string; index: number; gpu_seconds: string; cost: string; fee: string }>(
        `SELECT lease_id, index, gpu_seconds::text, cost::text, fee::text FROM lease_periods ORDER BY lease_id, index`,
      )
    ).rows;
    const transfers = (
      await db.query<{ key: string }>(`SELECT key FROM ledger_transfers WHERE kind = 'SETTLEMENT'`)
    ).rows;
    const settledOf = new Map<string, typeof periods>();
    for (const row of periods) settledOf.set(row.lease_id, [...(settledOf.get(row.lease_id) ?? []), row]);
    const transferKeys = new Set(transfers.map((t) => t.key));
    expect(transferKeys.size).toBe(transfers.length);

    // Every period the lease's own start and end call for, charged by docs/LEASES.md's rule, once.
    let expectedPeriods = 0;
    let expectedCost = 0n;
    let expectedFees = 0n;
    const wrong: string[] = [];
    for (const lease of leases) {
      // The error, if any, names why settlement gave up on the lease.
      expect(lease).toMatchObject({ settlement_state: 'COMPLETE', settlement_error: null });
      expect(['ENDED', 'TERMINATED']).toContain(lease.status);
      const expected = expectedCharges(lease);
      expectedPeriods += expected.length;
      const actual = (settledOf.get(lease.id) ?? []).map((p) => [
        p.index,
        BigInt(p.gpu_seconds),
        BigInt(p.cost),
        BigInt(p.fee),
      ]);
      const want = expected.map((p) => [p.index, p.gpuSeconds, p.cost, p.fee]);
      if (JSON.stringify(actual, big) !== JSON.stringify(want, big)) {
        wrong.push(
          `${lease.id}: settled ${JSON.stringify(actual, big)}, expected ${JSON.stringify(want, big)}`,
        );
      }
      expect(lease.settled_periods).toBe(expected.length);
      for (const p of expected) {
        expectedCost += p.cost;
        expectedFees += p.fee;
        // One SETTLEMENT transfer per period that moved money.
        if (p.cost > 0n && !transferKeys.delete(`settle:${lease.id}:${p.index}`)) {
          wrong.push(`${lease.id}: no transfer for period ${p.index}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect([...transferKeys]).toEqual([]);
    expect(periods).toHaveLength(expectedPeriods);
    expect(expectedPeriods).toBeGreaterThanOrEqual(2_000);

    // Buyers' debits are exactly what providers and the platform received.
    const money = (
      await db.query<{ debits: string; credits: string; fees: string }>(
        `SELECT COALESCE(-SUM(e.amount) FILTER (WHERE a.kind = 'BUYER_HELD'), 0)::text AS debits,
              COALESCE(SUM(e.amount) FILTER (WHERE a.kind = 'PROVIDER_EARNINGS'), 0)::text AS credits,
              COALESCE(SUM(e.amount) FILTER (WHERE a.kind = 'PLATFORM_FEES'), 0)::text AS fees
       FROM ledger_entries e JOIN ledger_transfers t ON t.id = e.transfer_id JOIN ledger_accounts a ON a.id = e.account_id
       WHERE t.kind = 'SETTLEMENT'`,
      )
    ).rows[0]!;
    expect(BigInt(money.debits)).toBe(BigInt(money.credits) + BigInt(money.fees));
    expect(BigInt(money.debits)).toBe(expectedCost);
    expect(BigInt(money.fees)).toBe(expectedFees);

    // DESIGN 4, and every hold used up or released: no buyer holds anything any more.
    const sql = async (text: string, ...params: unknown[]) =>
      (await db.query(text, params)).rows as Array<Record<string, unknown>>;
    expect(await ledgerViolations(sql, [...byOrg.keys()])).toEqual([]);
    const held = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ledger_accounts WHERE kind = 'BUYER_HELD' AND balance <> 0`,
    );
    expect(held.rows[0]!.n).toBe(0);
    const attention = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM leases WHERE settlement_state = 'NEEDS_ATTENTION'`,
    );
    expect(attention.rows[0]!.n).toBe(0);
    process.stdout.write(
      `settlement crash: ${expectedPeriods} periods of ${leases.length} leases settled in ${settling} ms, ` +
        `${kills} kills, buyers paid ${money.debits} = providers ${money.credits} + fees ${money.fees}\n`,
    );
  }, 240_000);
});

const big = (_: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

/**
 * The charges a closed lease's periods must carry, restated from docs/LEASES.md: hour-long periods
 * from the start, the last cut at the end; RESERVED charges every GPU-second, PAY_PER_USE (no
 * reports here) its minimum share, except the period a provider's termination (at notice or at
 * once) cut short, which pays no minimum; cost = floor(price x GPU-seconds / 3600), fee = floor(cost x bps / 10,000).
 */
function expectedCharges(
  lease: LeaseRow,
): Array<{ index: number; gpuSeconds: bigint; cost: bigint; fee: bigint }> {
  if (lease.started_at === null) return [];
  const start = lease.started_at.getTime();
  const end = lease.ended_at!.getTime();
  const length = lease.period_seconds * 1000;
  const charges = [];
  for (let index = 0; start + index * length < end; index += 1) {
    const from = start + index * length;
    const to = Math.min(from + length, end);
    const reserved = (BigInt(lease.gpus) * BigInt(to - from)) / 1000n;
    // Half-open periods: an end on a boundary cuts none short, so the minimum stays.
    // A provider's end, at notice (the default of a provider's terminate) or at once, waives it.
    const cut =
      (lease.termination_reason === 'PROVIDER_REQUEST' || lease.termination_reason === 'PROVIDER_NOTICE') &&
      to === end &&
      to - from < length;
    const gpuSeconds =
      lease.billing_mode === 'RESERVED'
        ? reserved
        : cut
          ? 0n
          : (reserved * BigInt(lease.pay_per_use_min_percent)) / 100n;
    const cost = (BigInt(lease.price_per_gpu_hour) * gpuSeconds) / 3600n;
    charges.push({ index, gpuSeconds, cost, fee: (cost * BigInt(lease.fee_bps)) / 10_000n });
  }
  return charges;
}
