import { Injectable } from '@nestjs/common';
import { Prisma } from '@/generated/prisma/client';
import type { OrderStatus } from '@/generated/prisma/enums';
import { Tx } from '@/infra/prisma/tx';
import type { OutboxInsertion, RecordsInsertion } from '@/modules/events/outbox.service';
import {
  LIVE_BID_STATUSES,
  LIVE_OFFER_STATUSES,
  idleWindowsJson,
  type IdleWindowsSpec,
  type LiveOfferStatus,
  type Slo,
} from '@/modules/markets/domain/order-terms';
import { ownedKey } from '@/shared/owned-key';
import { uuidV7 } from '@/shared/uuid-v7';

// The one writer of bid and offer rows (docs/ARCHITECTURE.md "State machine homes").

/** A bid a group commit decided OPEN, as insertBids stores it (buyers' BidRecord fits it). */
export interface NewBidRow {
  id: string;
  organisationId: string;
  marketId: string;
  gpus: number;
  maxPricePerGpuHour: bigint;
  durationHours: number;
  provinces: string[];
  minGpusPerSite: number;
  partialAllowed: boolean;
  billingMode: string;
  expiresAt: Date;
  seq: bigint;
  createdAt: Date;
  inference: {
    modelId: string;
    outputTokensPerSecond: number;
    promptTokensPerSecond: number;
    ttftP95Ms: number;
    maxPricePerMillionTokens: bigint;
    takeOrPayPercent: number;
    /** The bid's lot (docs/MATCHING.md "Lots"); null: 1. */
    gpusPerReplica: number | null;
  } | null;
  minProviderScore: number | null;
  replacementPlanId: string | null;
  replacesLeaseId: string | null;
  interruptible: boolean;
}

/** A re-placement plan asked with a bid of a group commit. */
export interface NewPlanRow {
  id: string;
  organisationId: string;
  currency: string;
  maxCount: number;
  budget: bigint;
  createdAt: Date;
}

/** What a group commit's re-placements used of a plan, as it now stands. */
export interface UsedPlanRow {
  id: string;
  usedCount: number;
  usedBudget: bigint;
}

/** The rows a group commit's bid lane leaves for the batch's last statement. */
export interface PlacementWrites {
  plans: NewPlanRow[];
  usedPlans: UsedPlanRow[];
  bids: NewBidRow[];
}

/**
 * A ledger posting carried into another repository's statement (the ledger's
 * `postTransfersSql`): a SELECT of the keys posted, and how many transfers it carries.
 */
export interface HoldPosting {
  readonly sql: Prisma.Sql;
  readonly transfers: number;
}

export interface OfferRecord {
  id: string;
  organisationId: string;
  market: { slug: string; currency: string; currencyScale: number };
  siteId: string;
  gpus: number;
  leasedGpus: number;
  pricePerGpuHour: bigint;
  availableFrom: Date;
  availableUntil: Date;
  minLeaseHours: number;
  payPerUseMinPercent: number;
  terminationNoticeHours: number;
  /** As stored (`idleWindowsOf` reads it with the notice); null: no idle windows. */
  idleWindows: unknown;
  reclaimNoticeMinutes: number | null;
  /** The SLO as stored (slo/domain/slo-rules `Slo`, JSON), or null. */
  slo: unknown;
  status: OrderStatus;
  seq: bigint;
  createdAt: Date;
  updatedAt: Date;
  cancelledAt: Date | null;
}

export interface NewOffer {
  marketId: string;
  /** The market as the caller resolved it; echoed into the record without reading it back. */
  market: OfferRecord['market'];
  siteId: string;
  gpus: number;
  pricePerGpuHour: bigint;
  availableFrom: Date;
  availableUntil: Date;
  minLeaseHours: number;
  payPerUseMinPercent: number;
  terminationNoticeHours: number;
  idleWindows: IdleWindowsSpec | null;
  /** Checked by slo-rules' parseOfferSlo; null: no SLO. */
  slo: Slo | null;
  seq: bigint;
  at: Date;
}

/**
 * What the placement statement saw of one offer of a group commit: whether the site is the
 * caller's, and the organisation's live offers before it (the batch's earlier ones counted);
 * `offer` is null when either refused it.
 */
export interface OfferPlacement {
  offer: OfferRecord | null;
  siteFound: boolean;
  liveOffers: number;
}

export interface OfferAmendment {
  gpus: number;
  pricePerGpuHour: bigint;
  status: LiveOfferStatus;
  seq: bigint;
  at: Date;
}

/** An order's status as matching reports it (the database enum, spelled out here). */
export type OrderState = 'OPEN' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELLED' | 'EXPIRED';

/** One order's increment in a run's commit, guarded by the seq the run read. */
export interface OrderIncrement {
  id: string;
  seq: bigint;
  gpus: number;
  /** Offers: the longest lease the run gives from it, which its window must still hold. */
  hours: number;
  /**
   * Offers: the highest minimum provider score among the run's bids that take from it (null when
   * none asks one), which the owner's score must still meet at the commit.
   */
  minProviderScore: number | null;
}

/** An order after a run's commit, for its `order.filled` event. */
export interface FilledOrder {
  id: string;
  organisationId: string;
  gpus: number;
  /** Bids: filled GPUs; offers: leased GPUs. */
  taken: number;
  status: OrderState;
}

// Orders a run may fill: the statuses that can still trade (an offer's FILLED has no free GPUs).
const LIVE = ['OPEN', 'PARTIALLY_FILLED'];

/** An order the sweep moved to EXPIRED. */
export interface ExpiredOrder {
  id: string;
  organisationId: string;
  marketId: string;
  market: string;
  currency: string;
  gpus: number;
  /** Bids: filled GPUs; offers: GPUs of leases that run on. */
  taken: number;
  /** Bids: the cap and duration their hold was taken at; offers: their ask and 0 hours. */
  pricePerGpuHour: bigint;
  durationHours: number;
}

interface ExpiredRow {
  id: string;
  organisation_id: string;
  market_id: string;
  market: string;
  currency: string;
  gpus: number;
  taken: number;
  price: bigint;
  duration_hours: number;
}

const toExpired = (row: ExpiredRow): ExpiredOrder => ({
  id: row.id,
  organisationId: row.organisation_id,
  marketId: row.market_id,
  market: row.market,
  currency: row.currency,
  gpus: row.gpus,
  taken: row.taken,
  pricePerGpuHour: row.price,
  durationHours: row.duration_hours,
});

/**
 * A group commit's cancels as rows `c(id, organisation_id, at)`, each (order, organisation) once:
 * what the bid and the offer cancel statements both update from (`ids` in the cancels' order).
 */
const cancelRows = (
  ids: readonly string[],
  cancels: ReadonlyArray<{ organisationId: string; at: Date }>,
): Prisma.Sql =>
  Prisma.sql`(SELECT DISTINCT ON (id, organisation_id) * FROM unnest(
              ${ids}::uuid[], ${cancels.map((c) => c.organisationId)}::uuid[],
              ${cancels.map((c) => c.at.toISOString())}::timestamptz[]) AS c(id, organisation_id, at)) c`;

/** The `ownedKey`s of the rows a cancel statement moved. */
const movedKeys = (rows: ReadonlyArray<{ organisation_id: string; id: string }>): Set<string> =>
  new Set(rows.map((row) => ownedKey(row.organisation_id, row.id)));

/**
 * Order state: bids and offers are placed, amended, cancelled, filled, expired and given capacity
 * back here only. Time-driven methods (system…) run across tenants; each expiry call expires at
 * most `limit` due orders, skipping rows another sweep or a placement holds.
 */
/** The insert of bids a group commit decided OPEN (checked market, cap and funds), one row each. */
const insertBidsSql = (bids: readonly NewBidRow[]): Prisma.Sql => Prisma.sql`
      INSERT INTO bids (id, organisation_id, market_id, gpus, filled_gpus, max_price_per_gpu_hour,
                        duration_hours, provinces, min_gpus_per_site, partial_allowed, billing_mode,
                        expires_at, status, seq, created_at, updated_at, inference_model_id,
                        inference_output_tokens_per_second, inference_prompt_tokens_per_second,
                        inference_ttft_p95_ms, inference_max_price_per_million_tokens, min_provider_score,
                        replacement_plan_id, replaces_lease_id, interruptible, inference_take_or_pay_percent,
                        inference_gpus_per_replica)
      SELECT b.id, b.organisation_id, b.market_id, b.gpus, 0, b.max_price, b.duration_hours,
             string_to_array(b.provinces, ','), b.min_gpus_per_site, b.partial_allowed,
             b.billing_mode::"BillingMode", b.expires_at, 'OPEN', b.seq, b.created_at, b.created_at,
             b.model_id, b.output_tps, b.prompt_tps, b.ttft_p95_ms, b.max_price_mtok, b.min_provider_score,
             b.plan_id, b.replaces_lease_id, b.interruptible, b.take_or_pay, b.gpus_per_replica
      FROM unnest(${bids.map((b) => b.id)}::uuid[], ${bids.map((b) => b.organisationId)}::uuid[],
                  ${bids.map((b) => b.marketId)}::uuid[], ${bids.map((b) => b.gpus)}::int[],
                  ${bids.map((b) => b.maxPricePerGpuHour.toString())}::bigint[],
                  ${bids.map((b) => b.durationHours)}::int[], ${bids.map((b) => b.provinces.join(','))}::text[],
                  ${bids.map((b) => b.minGpusPerSite)}::int[], ${bids.map((b) => b.partialAllowed)}::boolean[],
                  ${bids.map((b) => b.billingMode)}::text[],
                  ${bids.map((b) => b.expiresAt.toISOString())}::timestamptz[],
                  ${bids.map((b) => b.seq.toString())}::bigint[],
                  ${bids.map((b) => b.createdAt.toISOString())}::timestamptz[],
                  ${bids.map((b) => b.inference?.modelId ?? null)}::uuid[],
                  ${bids.map((b) => b.inference?.outputTokensPerSecond ?? null)}::int[],
                  ${bids.map((b) => b.inference?.promptTokensPerSecond ?? null)}::int[],
                  ${bids.map((b) => b.inference?.ttftP95Ms ?? null)}::int[],
                  ${bids.map((b) => b.inference?.maxPricePerMillionTokens.toString() ?? null)}::bigint[],
                  ${bids.map((b) => b.minProviderScore)}::float8[],
                  ${bids.map((b) => b.replacementPlanId)}::uuid[], ${bids.map((b) => b.replacesLeaseId)}::uuid[],
                  ${bids.map((b) => b.interruptible)}::bool[],
                  ${bids.map((b) => b.inference?.takeOrPayPercent ?? null)}::int[],
                  ${bids.map((b) => b.inference?.gpusPerReplica ?? null)}::int[])
        AS b(id, organisation_id, market_id, gpus, max_price, duration_hours, provinces,
             min_gpus_per_site, partial_allowed, billing_mode, expires_at, seq, created_at,
             model_id, output_tps, prompt_tps, ttft_p95_ms, max_price_mtok, min_provider_score,
             plan_id, replaces_lease_id, interruptible, take_or_pay, gpus_per_replica)`;

@Injectable()
export class OrderStateRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  // Placement and cancellation (group commit, docs/ARCHITECTURE.md "Group commit of placements").

  /**
   * A group commit's last statement (docs/ARCHITECTURE.md "Group commit of placements"): the new
   * re-placement plans, what re-placements used of theirs, the bids decided OPEN, their holds
   * (`holds`, a ledger posting run by the ledger's own function, its checks included), the
   * batch's events and the idempotency records of its placed orders, as data-modifying CTEs.
   * The holds run once the bids are in (`placed` gates them). Returns how many holds were posted
   * and the records stored, by `scope\nkey`; a record whose key a live record holds is not.
   */
  async writePlacements(
    writes: PlacementWrites,
    holds: HoldPosting,
    events: OutboxInsertion,
    records: RecordsInsertion,
    at: Date,
  ): Promise<{ held: number; stored: Set<string> }> {
    const { plans, usedPlans, bids } = writes;
    // The records first: pg_stat_activity cuts a statement's text at 1 kB, and a batch that waits
    // on a concurrent duplicate's record shows what it waits on.
    const [row] = await this.tx.$queryRaw<Array<{ held: number; stored: string[] }>>`
      WITH stored AS (${records.sql}
        RETURNING scope, key),
      new_plans AS (
        INSERT INTO bid_replacement_plans (id, organisation_id, currency, max_count, budget, created_at, updated_at)
        SELECT p.id, p.organisation_id, p.currency, p.max_count, p.budget, p.at, p.at
        FROM unnest(${plans.map((p) => p.id)}::uuid[], ${plans.map((p) => p.organisationId)}::uuid[],
                    ${plans.map((p) => p.currency)}::text[], ${plans.map((p) => p.maxCount)}::int[],
                    ${plans.map((p) => p.budget.toString())}::bigint[],
                    ${plans.map((p) => p.createdAt.toISOString())}::timestamptz[])
          AS p(id, organisation_id, currency, max_count, budget, at)),
      used_plans AS (
        UPDATE bid_replacement_plans p SET used_count = v.used_count, used_budget = v.used_budget, updated_at = ${at}
        FROM unnest(${usedPlans.map((p) => p.id)}::uuid[], ${usedPlans.map((p) => p.usedCount)}::int[],
                    ${usedPlans.map((p) => p.usedBudget.toString())}::bigint[]) AS v(id, used_count, used_budget)
        WHERE p.id = v.id),
      placed AS (${insertBidsSql(bids)} RETURNING id),
      held AS (
        SELECT h.key FROM (${holds.sql}) AS h
        WHERE ${holds.transfers}::int > 0 AND (SELECT count(*) FROM placed) = ${bids.length}::int),
      announced AS (${events.sql})
      SELECT (SELECT count(*)::int FROM held) AS held, ARRAY(SELECT scope || chr(10) || key FROM stored) AS stored`;
    if (row === undefined) throw new Error('the placement write returned no row');
    return { held: row.held, stored: new Set(row.stored) };
  }

  /**
   * Moves the live ones of these bids to CANCELLED, each only if it is its organisation's, in one
   * statement; returns the `ownedKey`s it moved (a missing, foreign or terminal bid is not).
   */
  async cancelBids(
    cancels: ReadonlyArray<{ organisationId: string; bidId: string; at: Date }>,
  ): Promise<Set<string>> {
    if (cancels.length === 0) return new Set();
    const ids = cancels.map((c) => c.bidId);
    const rows = await this.tx.$queryRaw<Array<{ organisation_id: string; id: string }>>`
      UPDATE bids b SET status = 'CANCELLED', cancelled_at = c.at, updated_at = c.at
      FROM ${cancelRows(ids, cancels)}
      WHERE b.id = c.id AND b.organisation_id = c.organisation_id
        AND b.status = ANY(${[...LIVE_BID_STATUSES]}::"OrderStatus"[])
      RETURNING b.organisation_id::text AS organisation_id, b.id::text`;
    return movedKeys(rows);
  }

  /**
   * Moves every live bid of the organisation to CANCELLED (suspension); returns their ids. At most
   * the live-order cap of rows, so one statement.
   */
  async cancelLiveBids(organisationId: string, at: Date): Promise<string[]> {
    const cancelled = await this.tx.$queryRaw<Array<{ id: string }>>`
      UPDATE bids SET status = 'CANCELLED', cancelled_at = ${at}, updated_at = ${at}
      WHERE organisation_id = ${organisationId}::uuid
        AND status = ANY(${[...LIVE_BID_STATUSES]}::"OrderStatus"[])
      RETURNING id`;
    return cancelled.map((row) => row.id);
  }

  /**
   * Inserts a group commit's offers OPEN, in one statement, each only if its site is its
   * organisation's and the organisation has fewer than `maxLive` live offers before it (those
   * already live, plus the batch's earlier offers that passed the site check): the caller holds
   * every organisation's placement lock and checked the markets, so the count, taken in this
   * statement's snapshot, sees every earlier placement. Outcomes come in the offers' order.
   */
  async placeOffers(
    offers: ReadonlyArray<NewOffer & { organisationId: string }>,
    maxLive: number,
  ): Promise<OfferPlacement[]> {
    if (offers.length === 0) return [];
    const ids = offers.map((offer) => uuidV7(offer.at));
    const idleWindows = offers.map((o) =>
      o.idleWindows === null ? null : JSON.stringify(idleWindowsJson(o.idleWindows)),
    );
    const rows = await this.tx.$queryRaw<
      Array<{ site_found: boolean; live_before: number; placed: boolean }>
    >`
      WITH input AS (
        SELECT * FROM unnest(
          ${ids}::uuid[], ${offers.map((o) => o.organisationId)}::uuid[], ${offers.map((o) => o.marketId)}::uuid[],
          ${offers.map((o) => o.siteId)}::uuid[], ${offers.map((o) => o.gpus)}::int[],
          ${offers.map((o) => o.pricePerGpuHour.toString())}::bigint[],
          ${offers.map((o) => o.availableFrom.toISOString())}::timestamptz[],
          ${offers.map((o) => o.availableUntil.toISOString())}::timestamptz[],
          ${offers.map((o) => o.minLeaseHours)}::int[], ${offers.map((o) => o.payPerUseMinPercent)}::int[],
          ${offers.map((o) => o.terminationNoticeHours)}::int[],
          ${offers.map((o) => (o.slo === null ? null : JSON.stringify(o.slo)))}::jsonb[],
          ${offers.map((o) => o.seq.toString())}::bigint[], ${offers.map((o) => o.at.toISOString())}::timestamptz[],
          ${idleWindows}::text[], ${offers.map((o) => o.idleWindows?.reclaimNoticeMinutes ?? null)}::int[])
          WITH ORDINALITY
          AS i(id, organisation_id, market_id, site_id, gpus, price, available_from, available_until,
               min_lease_hours, pay_per_use_min_percent, termination_notice_hours, slo, seq, at, idle_windows,
               reclaim_notice_minutes, ord)),
      live AS (
        SELECT organisation_id, count(*)::int AS n FROM offers
        WHERE organisation_id IN (SELECT organisation_id FROM input)
          AND status = ANY(${[...LIVE_OFFER_STATUSES]}::"OrderStatus"[])
        GROUP BY organisation_id),
      checked AS MATERIALIZED (
        SELECT i.*, s.id IS NOT NULL AS site_found,
               (coalesce(l.n, 0) + count(s.id) OVER (
                  PARTITION BY i.organisation_id ORDER BY i.ord
                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING))::int AS live_before
        FROM input i
        LEFT JOIN sites s ON s.id = i.site_id AND s.organisation_id = i.organisation_id
        LEFT JOIN live l ON l.organisation_id = i.organisation_id),
      placed AS (
        INSERT INTO offers (id, organisation_id, market_id, site_id, gpus, leased_gpus, price_per_gpu_hour,
                            available_from, available_until, min_lease_hours, pay_per_use_min_percent,
                            termination_notice_hours, slo, status, seq, created_at, updated_at, idle_windows,
                            reclaim_notice_minutes)
        SELECT id, organisation_id, market_id, site_id, gpus, 0, price, available_from, available_until,
               min_lease_hours, pay_per_use_min_percent, termination_notice_hours, slo, 'OPEN', seq, at, at,
               idle_windows::jsonb, reclaim_notice_minutes
        FROM checked
        WHERE site_found AND live_before < ${maxLive}::int
        ORDER BY ord
        RETURNING id)
      SELECT c.site_found, c.live_before, EXISTS (SELECT 1 FROM placed p WHERE p.id = c.id) AS placed
      FROM checked c ORDER BY c.ord`;
    if (rows.length !== offers.length) throw new Error('offer placement answered a different number of rows');
    return offers.map((offer, n) => {
      const row = rows[n]!;
      return {
        siteFound: row.site_found,
        liveOffers: row.live_before,
        offer: row.placed
          ? {
              id: ids[n]!,
              organisationId: offer.organisationId,
              market: offer.market,
              siteId: offer.siteId,
              gpus: offer.gpus,
              leasedGpus: 0,
              pricePerGpuHour: offer.pricePerGpuHour,
              availableFrom: offer.availableFrom,
              availableUntil: offer.availableUntil,
              minLeaseHours: offer.minLeaseHours,
              payPerUseMinPercent: offer.payPerUseMinPercent,
              terminationNoticeHours: offer.terminationNoticeHours,
              idleWindows: offer.idleWindows === null ? null : idleWindowsJson(offer.idleWindows),
              reclaimNoticeMinutes: offer.idleWindows?.reclaimNoticeMinutes ?? null,
              slo: offer.slo,
              status: 'OPEN',
              seq: offer.seq,
              createdAt: offer.at,
              updatedAt: offer.at,
              cancelledAt: null,
            }
          : null,
      };
    });
  }

  /** Applies an amendment if the offer is still live and its leases still fit; false otherwise. */
  async amendOffer(organisationId: string, offerId: string, amendment: OfferAmendment): Promise<boolean> {
    const { count } = await this.tx.offer.updateMany({
      where: {
        id: offerId,
        organisationId,
        status: { in: [...LIVE_OFFER_STATUSES] },
        leasedGpus: { lte: amendment.gpus },
      },
      data: {
        gpus: amendment.gpus,
        pricePerGpuHour: amendment.pricePerGpuHour,
        status: amendment.status,
        seq: amendment.seq,
        updatedAt: amendment.at,
      },
    });
    return count === 1;
  }

  /**
   * Moves the live ones of these offers to CANCELLED, each only if it is its organisation's, in
   * one statement; returns the `ownedKey`s it moved (a missing, foreign or terminal offer is not).
   */
  async cancelOffers(
    cancels: ReadonlyArray<{ organisationId: string; offerId: string; at: Date }>,
  ): Promise<Set<string>> {
    if (cancels.length === 0) return new Set();
    const ids = cancels.map((c) => c.offerId);
    const rows = await this.tx.$queryRaw<Array<{ organisation_id: string; id: string }>>`
      UPDATE offers o SET status = 'CANCELLED', cancelled_at = c.at, updated_at = c.at
      FROM ${cancelRows(ids, cancels)}
      WHERE o.id = c.id AND o.organisation_id = c.organisation_id
        AND o.status = ANY(${[...LIVE_OFFER_STATUSES]}::"OrderStatus"[])
      RETURNING o.organisation_id::text AS organisation_id, o.id::text`;
    return movedKeys(rows);
  }

  /**
   * Moves every live offer of the organisation to CANCELLED (suspension): unleased capacity is
   * withdrawn, leases run on. Returns their ids; at most the live-order cap of rows, so one statement.
   */
  async cancelLiveOffers(organisationId: string, at: Date): Promise<string[]> {
    const cancelled = await this.tx.$queryRaw<Array<{ id: string }>>`
      UPDATE offers SET status = 'CANCELLED', cancelled_at = ${at}, updated_at = ${at}
      WHERE organisation_id = ${organisationId}::uuid
        AND status = ANY(${[...LIVE_OFFER_STATUSES]}::"OrderStatus"[])
      RETURNING id`;
    return cancelled.map((row) => row.id);
  }

  // A matching run's commit (docs/MATCHING.md).

  /**
   * A run's fills in one statement (one round trip of the commit, docs/ARCHITECTURE.md "Raw pg
   * transactions"): each bid and offer is updated only while still as the run read it. Bids: same
   * seq, live, unexpired, owner verified, room left. Offers: same seq (so the same ask), live,
   * window open and long enough for the run's leases, owner verified and scored at least what the
   * run's bids ask (a score refresh since the read moved the book), enough free GPUs. Returns the
   * orders updated; fewer than asked means the book moved. Both tables are read by primary key
   * (the rows joined to the arrays' ids); bids are locked before offers, each in id order.
   */
  async systemFillRun(
    bids: readonly OrderIncrement[],
    offers: readonly OrderIncrement[],
    now: Date,
  ): Promise<{ bids: FilledOrder[]; offers: FilledOrder[] }> {
    const rows = await this.tx.$queryRaw<
      Array<{
        kind: 'bid' | 'offer';
        id: string;
        organisation_id: string;
        gpus: number;
        taken: number;
        status: OrderState;
      }>
    >`
      WITH filled AS (
        UPDATE bids b
        SET filled_gpus = b.filled_gpus + v.gpus,
            status = (CASE WHEN b.filled_gpus + v.gpus = b.gpus THEN 'FILLED' ELSE 'PARTIALLY_FILLED' END)::"OrderStatus",
            updated_at = ${now}
        FROM unnest(${bids.map((i) => i.id)}::uuid[], ${bids.map((i) => i.seq.toString())}::bigint[],
                    ${bids.map((i) => i.gpus)}::int[]) AS v(id, seq, gpus)
        WHERE b.id = v.id AND b.seq = v.seq
          AND b.status = ANY(${LIVE}::"OrderStatus"[])
          AND b.expires_at > ${now}
          AND b.filled_gpus + v.gpus <= b.gpus
          AND EXISTS (SELECT 1 FROM organisations org WHERE org.id = b.organisation_id AND org.status = 'VERIFIED')
        RETURNING b.id, b.organisation_id, b.gpus, b.filled_gpus AS taken, b.status),
      leased AS (
        UPDATE offers o
        SET leased_gpus = o.leased_gpus + v.gpus,
            status = (CASE WHEN o.leased_gpus + v.gpus = o.gpus THEN 'FILLED' ELSE 'PARTIALLY_FILLED' END)::"OrderStatus",
            updated_at = ${now}
        FROM unnest(${offers.map((i) => i.id)}::uuid[], ${offers.map((i) => i.seq.toString())}::bigint[],
                    ${offers.map((i) => i.gpus)}::int[], ${offers.map((i) => i.hours)}::int[],
                    ${offers.map((i) => i.minProviderScore)}::float8[]) AS v(id, seq, gpus, hours, min_score)
        WHERE o.id = v.id AND o.seq = v.seq
          AND o.status = ANY(${LIVE}::"OrderStatus"[])
          AND o.available_from <= ${now}
          AND o.available_until >= ${now}::timestamptz + make_interval(hours => v.hours)
          AND o.gpus - o.leased_gpus >= v.gpus
          AND EXISTS (SELECT 1 FROM organisations org WHERE org.id = o.organisation_id AND org.status = 'VERIFIED'
                      AND (v.min_score IS NULL OR org.reliability_score >= v.min_score))
        RETURNING o.id, o.organisation_id, o.gpus, o.leased_gpus AS taken, o.status)
      SELECT 'bid'::text AS kind, id, organisation_id, gpus, taken, status FROM filled
      UNION ALL
      SELECT 'offer'::text AS kind, id, organisation_id, gpus, taken, status FROM leased`;
    const filled: FilledOrder[] = [];
    const leased: FilledOrder[] = [];
    for (const row of rows) {
      const order = {
        id: row.id,
        organisationId: row.organisation_id,
        gpus: row.gpus,
        taken: row.taken,
        status: row.status,
      };
      (row.kind === 'bid' ? filled : leased).push(order);
    }
    return { bids: filled, offers: leased };
  }

  // The expiry sweep.

  /** Live bids whose expiresAt has come: EXPIRED (their filled part stays leased). */
  async systemExpireBids(now: Date, limit: number): Promise<ExpiredOrder[]> {
    const rows = await this.tx.$queryRaw<ExpiredRow[]>`
      WITH due AS (
        SELECT id FROM bids
        WHERE status IN ('OPEN', 'PARTIALLY_FILLED') AND expires_at <= ${now}
        ORDER BY expires_at LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      UPDATE bids b SET status = 'EXPIRED', updated_at = ${now}
      FROM due, markets m
      WHERE b.id = due.id AND m.id = b.market_id
      RETURNING b.id, b.organisation_id, b.market_id, m.slug AS market, m.currency, b.gpus, b.filled_gpus AS taken,
                b.max_price_per_gpu_hour AS price, b.duration_hours`;
    return rows.map(toExpired);
  }

  /** Live offers whose window has closed: EXPIRED (their leases run on). */
  async systemExpireOffers(now: Date, limit: number): Promise<ExpiredOrder[]> {
    const rows = await this.tx.$queryRaw<ExpiredRow[]>`
      WITH due AS (
        SELECT id FROM offers
        WHERE status IN ('OPEN', 'PARTIALLY_FILLED', 'FILLED') AND available_until <= ${now}
        ORDER BY available_until LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      UPDATE offers o SET status = 'EXPIRED', updated_at = ${now}
      FROM due, markets m
      WHERE o.id = due.id AND m.id = o.market_id
      RETURNING o.id, o.organisation_id, o.market_id, m.slug AS market, m.currency, o.gpus, o.leased_gpus AS taken,
                o.price_per_gpu_hour AS price, 0 AS duration_hours`;
    return rows.map(toExpired);
  }

  // Leases that closed give their GPUs back (docs/LEASES.md).

  /**
   * Gives closed leases' GPUs back to their offers. A live offer's status follows its free
   * capacity again; a cancelled or expired one stays so (the GPUs are simply no longer leased).
   */
  async systemReturnGpus(leases: ReadonlyArray<{ offerId: string; gpus: number }>, now: Date): Promise<void> {
    if (leases.length === 0) return;
    const byOffer = new Map<string, number>();
    for (const lease of leases) byOffer.set(lease.offerId, (byOffer.get(lease.offerId) ?? 0) + lease.gpus);
    // Sorted, so that concurrent returns lock offers in one order.
    const offers = [...byOffer.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    await this.tx.$executeRaw`
      UPDATE offers o
      SET leased_gpus = o.leased_gpus - v.gpus,
          status = (CASE WHEN o.status IN ('CANCELLED', 'EXPIRED') THEN o.status::text
                         WHEN o.leased_gpus - v.gpus = 0 THEN 'OPEN' ELSE 'PARTIALLY_FILLED' END)::"OrderStatus",
          updated_at = ${now}
      FROM unnest(${offers.map(([id]) => id)}::uuid[], ${offers.map(([, gpus]) => gpus)}::int[]) AS v(id, gpus)
      WHERE o.id = v.id`;
  }
}
