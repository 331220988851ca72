import { Injectable } from '@nestjs/common';
import { Prisma } from '@/generated/prisma/client';
import type { InferenceDemandTerms, OfferServing } from './domain/book';
import type { BookDelta, BookHeader, MatchingMode } from './domain/market-book';
import type { LeaseBillingMode, RunBid, RunOffer } from './domain/run-book';
import { Tx } from '@/infra/prisma/tx';
import { IdleSchedule } from '@/modules/markets/domain/idle-schedule';
import { idleWindowsOf } from '@/modules/markets/domain/order-terms';

/** A read of the book: the market at the epoch the read moved to, and the orders it read. */
export interface BookRead {
  header: BookHeader;
  epoch: bigint;
  deltas: BookDelta[];
}

interface FenceRow {
  epoch: bigint;
  slug: string;
  currency: string;
  currency_scale: number;
  status: 'ACTIVE' | 'PAUSED';
  fee_bps: number;
  matching_mode: MatchingMode;
  call_window_ms: number;
  call_phase_ms: number;
}

/** A market's matching mode as the scheduler reads it. */
export interface MarketMode {
  marketId: string;
  mode: MatchingMode;
  callWindowMs: number;
  callPhaseMs: number;
}

/** One logged order: `live` false when it can no longer trade (every other column null then). */
interface OrderRow {
  kind: 'bid' | 'offer' | null;
  id: string | null;
  live: boolean;
  organisation_id: string;
  verified: boolean;
  price: bigint;
  /** Bids: GPUs still wanted; offers: free GPUs. */
  gpus: number;
  seq: bigint;
  duration_hours: number;
  provinces: string[];
  min_gpus_per_site: number;
  partial_allowed: boolean;
  expires_at: Date;
  billing_mode: LeaseBillingMode;
  site_id: string;
  province: string;
  available_from: Date;
  available_until: Date;
  min_lease_hours: number;
  pay_per_use_min_percent: number;
  /** Inference bids: the model and demand (all null on a GPU bid); `total_gpus` the sized GPUs. */
  inference_model_id: string | null;
  inference_output_tokens_per_second: number | null;
  inference_prompt_tokens_per_second: number | null;
  inference_ttft_p95_ms: number | null;
  inference_take_or_pay_percent: number | null;
  inference_gpus_per_replica: number | null;
  /** The inference model's slug (null on a GPU bid), for the events of its leases. */
  inference_model: string | null;
  total_gpus: number;
  /** Offers: what they serve (servingOf), null when nothing. */
  serving: Record<string, OfferServing> | null;
  /** Offers: the owner's stored reliability score; bids: the minimum they accept (null: any). */
  provider_score: number;
  min_provider_score: number | null;
  /** Offers: idle windows as stored (null: none) and their reclaim notice; bids: interruptible. */
  idle_windows: unknown;
  reclaim_notice_minutes: number | null;
  interruptible: boolean;
}

// Orders a run may fill: the statuses that can still trade (an offer's FILLED has no free GPUs).
const LIVE = ['OPEN', 'PARTIALLY_FILLED'];

/**
 * Matching's reads and writes across tenants (system methods: a run sees the whole market).
 * Every write of a run's commit is conditional, so a book that moved since the run read it
 * fails the commit instead of overselling; the database triggers catch anything else.
 */
@Injectable()
export class MatchingRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  /**
   * The matching mode, window and phase of each market named (unknown ids are left out). Raw SQL: the
   * relay asks it for every batch of order events, and a raw statement skips Prisma's query compiler.
   */
  async systemMarketModes(marketIds: readonly string[]): Promise<MarketMode[]> {
    if (marketIds.length === 0) return [];
    const rows = await this.tx.$queryRaw<
      Array<{ id: string; matching_mode: MatchingMode; call_window_ms: number; call_phase_ms: number }>
    >`
      SELECT id, matching_mode, call_window_ms, call_phase_ms FROM markets WHERE id = ANY(${[...marketIds]}::uuid[])`;
    return rows.map((row) => ({
      marketId: row.id,
      mode: row.matching_mode,
      callWindowMs: row.call_window_ms,
      callPhaseMs: row.call_phase_ms,
    }));
  }

  /** Raw SQL: the relay's trigger asks it inside its batch, a raw pg transaction (no Prisma models there). */
  async systemMarketIdBySlug(slug: string): Promise<string | null> {
    const [market] = await this.tx.$queryRaw<
      Array<{ id: string }>
    >`SELECT id FROM markets WHERE slug = ${slug}`;
    return market?.id ?? null;
  }

  /**
   * The deltas since this worker's read at `epoch`, in one statement: moves the epoch on from
   * `epoch` (null when it is no longer there: another worker read or committed since, and this
   * worker's book is stale), takes the market's logged changes, and reads those orders' current
   * rows. A change committed while this runs is not seen, stays logged, and is the next run's.
   */
  async systemReadChanges(marketId: string, epoch: bigint): Promise<BookRead | null> {
    const rows = await this.tx.$queryRaw<Array<FenceRow & Partial<OrderRow>>>`
      WITH fence AS (
        UPDATE market_matching mm SET epoch = mm.epoch + 1
        FROM markets m
        WHERE mm.market_id = ${marketId}::uuid AND m.id = mm.market_id AND mm.epoch = ${epoch}
        RETURNING mm.epoch, m.slug, m.currency, m.currency_scale, m.status, m.fee_bps, m.matching_mode,
               m.call_window_ms, m.call_phase_ms),
      changed AS (
        DELETE FROM book_changes
        WHERE market_id = ${marketId}::uuid AND EXISTS (SELECT 1 FROM fence)
        RETURNING order_kind, order_id),
      ids AS (SELECT DISTINCT order_kind AS kind, order_id AS id FROM changed)
      SELECT f.*, r.* FROM fence f LEFT JOIN (${ordersOf(marketId)}) r ON true`;
    const [first] = rows;
    if (first === undefined) return null;
    return { header: header(marketId, first), epoch: first.epoch, deltas: deltasOf(rows) };
  }

  /**
   * The market's whole live book, for a worker that holds none or whose book is stale; call in
   * a transaction. Moves the epoch on first, which takes the market_matching row lock: no commit
   * can land between that and the read, which sees everything committed before it. Null for an
   * unknown market.
   */
  async systemLoadBook(marketId: string): Promise<BookRead | null> {
    const [fence] = await this.tx.$queryRaw<FenceRow[]>`
      UPDATE market_matching mm SET epoch = mm.epoch + 1
      FROM markets m
      WHERE mm.market_id = ${marketId}::uuid AND m.id = mm.market_id
      RETURNING mm.epoch, m.slug, m.currency, m.currency_scale, m.status, m.fee_bps, m.matching_mode,
               m.call_window_ms, m.call_phase_ms`;
    if (fence === undefined) return null;
    const rows = await this.tx.$queryRaw<OrderRow[]>`
      WITH changed AS (DELETE FROM book_changes WHERE market_id = ${marketId}::uuid),
      ids AS (
        SELECT 'bid' AS kind, id FROM bids
        WHERE market_id = ${marketId}::uuid AND status = ANY(${LIVE}::"OrderStatus"[])
        UNION ALL
        SELECT 'offer', id FROM offers
        WHERE market_id = ${marketId}::uuid AND status = ANY(${LIVE}::"OrderStatus"[]) AND gpus > leased_gpus)
      ${ordersOf(marketId)}`;
    return { header: header(marketId, fence), epoch: fence.epoch, deltas: deltasOf(rows) };
  }

  /**
   * Opens a run's commit, in one statement: its settings, then the fence. The settings bound what
   * the commit can hold: a worker stopped inside one (SIGSTOP, a long GC) loses its transaction
   * instead of blocking cancels and amendments on the rows it locked; and they mark the
   * transaction as the writer's own, so the book-change triggers do not log its fills (the writer
   * applies them to its book itself); and the commit's statements run generic plans, planned once
   * per connection (docs/BENCHMARKS.md "Where PostgreSQL's time per order goes"). The fence:
   * `stale` when the market's epoch moved since the run read it, `paused` when paused; the market
   * row's share lock serialises the commit with an admin pause or fee change
   * (docs/ARCHITECTURE.md). The market's lock needs the settings' row and the epoch's update needs
   * the market's, so they run in that order, each lock wait bounded.
   */
  async systemFenceCommit(
    marketId: string,
    expected: bigint,
    now: Date,
  ): Promise<{ epoch: bigint; feeBps: number } | 'stale' | 'paused'> {
    const [market] = await this.tx.$queryRaw<
      Array<{ status: string; fee_bps: number; epoch: bigint | null }>
    >`
      WITH settings AS MATERIALIZED (
        SELECT set_config('lock_timeout', '5s', true) AS lock_timeout,
               set_config('idle_in_transaction_session_timeout', '10s', true) AS idle_timeout,
               set_config('cx.matching_commit', 'on', true) AS matching_commit,
               -- The commit's later statements read by primary key whatever their arrays' length;
               -- a custom plan for each (their generic plans look dearer) costs more than it saves.
               set_config('plan_cache_mode', 'force_generic_plan', true) AS plan_cache_mode),
      market AS MATERIALIZED (
        SELECT m.status, m.fee_bps FROM markets m CROSS JOIN settings
        WHERE m.id = ${marketId}::uuid
        FOR SHARE OF m),
      fenced AS (
        UPDATE market_matching
        SET commits = commits + 1, last_commit_at = ${now}
        WHERE market_id = ${marketId}::uuid AND epoch = ${expected}
          AND EXISTS (SELECT 1 FROM market WHERE status <> 'PAUSED')
        RETURNING epoch)
      SELECT market.status, market.fee_bps, (SELECT epoch FROM fenced) AS epoch FROM market`;
    if (market === undefined || market.status === 'PAUSED') return 'paused';
    return market.epoch === null ? 'stale' : { epoch: market.epoch, feeBps: market.fee_bps };
  }

  /** Counts a commit the fence rejected (a stalled run); outside the rolled-back transaction. */
  async systemCountStaleCommit(marketId: string): Promise<void> {
    await this.tx.$executeRaw`
      UPDATE market_matching SET stale_commits = stale_commits + 1 WHERE market_id = ${marketId}::uuid`;
  }

  /** ACTIVE markets with at least one live bid and one live offer: the sweep's backstop runs. */
  async systemMarketsWithLiveBooks(): Promise<string[]> {
    const rows = await this.tx.$queryRaw<Array<{ id: string }>>`
      SELECT m.id FROM markets m
      WHERE m.status = 'ACTIVE'
        AND EXISTS (SELECT 1 FROM bids b WHERE b.market_id = m.id AND b.status = ANY(${LIVE}::"OrderStatus"[]))
        AND EXISTS (SELECT 1 FROM offers o WHERE o.market_id = m.id AND o.status = ANY(${LIVE}::"OrderStatus"[]))`;
    return rows.map((row) => row.id);
  }

  /** Markets where the organisation has live orders (after its verification, they need a run). */
  async systemMarketsWithLiveOrdersOf(organisationId: string): Promise<string[]> {
    const rows = await this.tx.$queryRaw<Array<{ market_id: string }>>`
      SELECT market_id FROM bids
      WHERE organisation_id = ${organisationId}::uuid AND status = ANY(${LIVE}::"OrderStatus"[])
      UNION
      SELECT market_id FROM offers
      WHERE organisation_id = ${organisationId}::uuid AND status = ANY(${LIVE}::"OrderStatus"[])`;
    return rows.map((row) => row.market_id);
  }
}

/**
 * The current rows of the orders in the CTE `ids` (kind, id): live ones with GPUs left joined to
 * their owner's status (and an offer's site), the others as `live` false.
 */
function ordersOf(marketId: string): Prisma.Sql {
  return Prisma.sql`
    SELECT ids.kind, ids.id, (b.id IS NOT NULL OR o.id IS NOT NULL) AS live,
           coalesce(b.organisation_id, o.organisation_id) AS organisation_id,
           coalesce(org.status = 'VERIFIED', false) AS verified,
           coalesce(b.max_price_per_gpu_hour, o.price_per_gpu_hour) AS price,
           coalesce(b.gpus - b.filled_gpus, o.gpus - o.leased_gpus) AS gpus,
           coalesce(b.seq, o.seq) AS seq,
           b.duration_hours, b.provinces, b.min_gpus_per_site, b.partial_allowed, b.expires_at, b.billing_mode,
           b.gpus AS total_gpus, b.inference_model_id, b.inference_output_tokens_per_second,
           b.inference_prompt_tokens_per_second, b.inference_ttft_p95_ms, b.inference_take_or_pay_percent,
           b.inference_gpus_per_replica,
           im.slug AS inference_model,
           o.site_id, s.province_code AS province, o.available_from, o.available_until, o.min_lease_hours,
           o.pay_per_use_min_percent, ${servingOf(Prisma.sql`o.id`)} AS serving,
           org.reliability_score AS provider_score, b.min_provider_score, b.interruptible,
           o.idle_windows, o.reclaim_notice_minutes
    FROM ids
    LEFT JOIN bids b ON ids.kind = 'bid' AND b.id = ids.id AND b.market_id = ${marketId}::uuid
      AND b.status = ANY(${LIVE}::"OrderStatus"[]) AND b.gpus > b.filled_gpus
    LEFT JOIN offers o ON ids.kind = 'offer' AND o.id = ids.id AND o.market_id = ${marketId}::uuid
      AND o.status = ANY(${LIVE}::"OrderStatus"[]) AND o.gpus > o.leased_gpus
    LEFT JOIN sites s ON s.id = o.site_id
    LEFT JOIN inference_models im ON im.id = b.inference_model_id
    LEFT JOIN organisations org ON org.id = coalesce(b.organisation_id, o.organisation_id)`;
}

/**
 * What the offer `offerId` serves, as a JSON object by model id of OfferServing: its usable
 * profiles (not flagged, or accepted by an admin, and with a reference), each throughput the
 * declaration capped by the reference times the multiple delivery confirmed, each latency the
 * higher of declared and reference, as sizing's effectiveFigures takes them (docs/INFERENCE.md
 * "Sizing"). Null when it serves nothing.
 */
export function servingOf(offerId: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`(
    SELECT jsonb_object_agg(sp.model_id::text, jsonb_build_object(
             'promptTokensPerSecondPerGpu', least(sp.prompt_tokens_per_second_per_gpu, sp.reference_prompt_tokens_per_second_per_gpu * sp.confirmed_scale),
             'outputTokensPerSecondPerGpu', least(sp.output_tokens_per_second_per_gpu, sp.reference_output_tokens_per_second_per_gpu * sp.confirmed_scale),
             'ttftP50Ms', greatest(sp.ttft_p50_ms, sp.reference_ttft_p50_ms),
             'ttftP95Ms', greatest(sp.ttft_p95_ms, sp.reference_ttft_p95_ms),
             'gpusPerReplica', sp.reference_gpus_per_replica))
    FROM serving_profiles sp
    WHERE sp.offer_id = ${offerId} AND sp.review IN ('NOT_FLAGGED', 'ACCEPTED')
      AND sp.reference_gpus_per_replica IS NOT NULL AND sp.reference_prompt_tokens_per_second_per_gpu IS NOT NULL
      AND sp.reference_output_tokens_per_second_per_gpu IS NOT NULL AND sp.reference_ttft_p50_ms IS NOT NULL
      AND sp.reference_ttft_p95_ms IS NOT NULL)`;
}

/** An inference bid's demand terms from its row, undefined for a GPU bid. */
export function inferenceOf(row: {
  inference_model_id: string | null;
  inference_output_tokens_per_second: number | null;
  inference_prompt_tokens_per_second: number | null;
  inference_ttft_p95_ms: number | null;
  inference_take_or_pay_percent: number | null;
  inference_gpus_per_replica: number | null;
  total_gpus: number;
}): InferenceDemandTerms | undefined {
  if (row.inference_model_id === null) return undefined;
  return {
    modelId: row.inference_model_id,
    outputTokensPerSecond: Number(row.inference_output_tokens_per_second),
    promptTokensPerSecond: Number(row.inference_prompt_tokens_per_second),
    ttftP95Ms: Number(row.inference_ttft_p95_ms),
    sizedGpus: Number(row.total_gpus),
    // bids_enforce_take_or_pay keeps it set on every inference bid.
    takeOrPayPercent: Number(row.inference_take_or_pay_percent),
    // Null on a bid placed before lots: it trades in single GPUs, as it was placed to.
    ...(row.inference_gpus_per_replica === null ? {} : { gpusPerReplica: row.inference_gpus_per_replica }),
  };
}

function header(marketId: string, row: FenceRow): BookHeader {
  return {
    marketId,
    market: row.slug,
    currency: row.currency,
    currencyScale: row.currency_scale,
    paused: row.status === 'PAUSED',
    feeBps: row.fee_bps,
    mode: row.matching_mode,
    callWindowMs: row.call_window_ms,
    callPhaseMs: row.call_phase_ms,
  };
}

function deltasOf(rows: ReadonlyArray<Partial<OrderRow>>): BookDelta[] {
  const deltas: BookDelta[] = [];
  for (const row of rows) {
    // The fence's row alone: nothing changed.
    if (row.kind === undefined || row.kind === null || row.id === undefined || row.id === null) continue;
    if (row.kind === 'bid')
      deltas.push({ kind: 'bid', id: row.id, bid: row.live ? bidOf(row as OrderRow) : null });
    else deltas.push({ kind: 'offer', id: row.id, offer: row.live ? offerOf(row as OrderRow) : null });
  }
  return deltas;
}

function bidOf(row: OrderRow): RunBid {
  return {
    id: row.id!,
    organisationId: row.organisation_id,
    verified: row.verified,
    price: row.price,
    remaining: Number(row.gpus),
    seq: row.seq,
    durationHours: row.duration_hours,
    provinces: row.provinces,
    minGpusPerSite: row.min_gpus_per_site,
    partialAllowed: row.partial_allowed,
    expiresAt: row.expires_at.getTime(),
    billingMode: row.billing_mode,
    ...withInference(inferenceOf(row)),
    ...(row.inference_model === null ? {} : { inferenceModel: row.inference_model }),
    ...(row.min_provider_score === null ? {} : { minProviderScore: row.min_provider_score }),
    ...(row.interruptible ? { interruptible: true } : {}),
  };
}

// Absent, not undefined, on a GPU bid: the book's bids compare equal to the rows they came from.
function withInference(inference: InferenceDemandTerms | undefined): { inference?: InferenceDemandTerms } {
  return inference === undefined ? {} : { inference };
}

function offerOf(row: OrderRow): RunOffer {
  return {
    id: row.id!,
    organisationId: row.organisation_id,
    verified: row.verified,
    siteId: row.site_id,
    province: row.province,
    price: row.price,
    free: Number(row.gpus),
    seq: row.seq,
    availableFrom: row.available_from.getTime(),
    availableUntil: row.available_until.getTime(),
    minLeaseHours: row.min_lease_hours,
    payPerUseMinPercent: row.pay_per_use_min_percent,
    ...(row.serving === null ? {} : { serving: row.serving }),
    providerScore: row.provider_score,
    ...idleOf(row.idle_windows, row.reclaim_notice_minutes),
  };
}

/** An offer's idle windows as the core reads them; absent (not undefined) when it has none. */
export function idleOf(stored: unknown, reclaimNoticeMinutes: number | null): { idle?: IdleSchedule } {
  const spec = idleWindowsOf(stored, reclaimNoticeMinutes);
  return spec === null ? {} : { idle: new IdleSchedule(spec) };
}
