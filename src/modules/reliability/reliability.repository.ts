import { Injectable } from '@nestjs/common';
import { Tx } from '@/infra/prisma/tx';
import { HALF_LIFE_DAYS, LOOKBACK_DAYS, PRIOR_SCORE, type OutcomeTallies } from './domain/reliability-score';

interface TallyRow {
  organisation_id: string;
  on_time_n: number;
  on_time_w: number;
  late_n: number;
  late_w: number;
  missed_n: number;
  missed_w: number;
  delivered_n: number;
  delivered_w: number;
  early_n: number;
  early_w: number;
  notice_n: number;
  notice_w: number;
  slo_met_n: number;
  slo_met_w: number;
  slo_missed_n: number;
  slo_missed_w: number;
  lost_n: number;
  lost_w: number;
}

/**
 * Lease outcomes per provider, read across tenants on purpose: a provider's record is public
 * (docs/RELIABILITY.md). Only counts and decayed weights leave this class, never a lease.
 */
@Injectable()
export class ReliabilityRepository {
  constructor(private readonly txHost: Tx) {}

  /** Each provider's outcome tallies at `now`; a provider without leases has no entry. */
  async findPublicTallies(
    organisationIds: readonly string[],
    now: Date,
  ): Promise<Map<string, OutcomeTallies>> {
    if (organisationIds.length === 0) return new Map();
    const since = new Date(now.getTime() - LOOKBACK_DAYS * 86_400_000);
    const halfLifeSeconds = HALF_LIFE_DAYS * 86_400;
    // weight(t) = 0.5 ^ (age / half-life), age never negative.
    const rows = await this.txHost.tx.$queryRaw<TallyRow[]>`
      WITH outcomes AS (
        SELECT l.provider_organisation_id AS organisation_id,
               -- A buyer's failure report an admin confirmed is a fault of the phase it was made in.
               CASE WHEN r.provisioning_at IS NOT NULL THEN 'missed'
                    WHEN l.started_at IS NOT NULL AND l.started_at <= l.provisioning_deadline THEN 'on_time'
                    WHEN l.started_at IS NOT NULL THEN 'late'
                    WHEN l.status = 'TERMINATED' AND l.termination_reason = 'PROVIDER_FAILURE' THEN 'missed'
               END AS handover,
               COALESCE(l.started_at, l.ended_at, r.provisioning_at) AS handover_at,
               CASE WHEN l.started_at IS NULL THEN NULL
                    WHEN r.running_at IS NOT NULL THEN 'early'
                    WHEN l.status = 'ENDED' OR (l.status = 'TERMINATED' AND l.termination_reason IN ('BUYER_REQUEST', 'RECLAIMED'))
                      THEN 'delivered'
                    WHEN l.status = 'TERMINATED' AND l.termination_reason IN ('PROVIDER_REQUEST', 'PROVIDER_FAILURE')
                      THEN 'early'
                    WHEN l.status = 'TERMINATED' AND l.termination_reason = 'PROVIDER_NOTICE' THEN 'notice'
               END AS delivery,
               COALESCE(l.ended_at, r.running_at) AS ended_at
        FROM leases l
        LEFT JOIN LATERAL (
          SELECT max(lr.decided_at) FILTER (WHERE lr.phase = 'PROVISIONING') AS provisioning_at,
                 max(lr.decided_at) FILTER (WHERE lr.phase = 'RUNNING') AS running_at
          FROM lease_reports lr WHERE lr.lease_id = l.id AND lr.status = 'CONFIRMED') r ON true
        WHERE l.provider_organisation_id = ANY(${organisationIds}::uuid[]) AND l.created_at > ${since}
      ), weighted AS (
        SELECT organisation_id, handover, delivery,
               power(0.5, GREATEST(0, extract(epoch FROM (${now}::timestamptz - handover_at)))::float8
                 / ${halfLifeSeconds}) AS handover_w,
               power(0.5, GREATEST(0, extract(epoch FROM (${now}::timestamptz - ended_at)))::float8
                 / ${halfLifeSeconds}) AS delivery_w
        FROM outcomes
      ), slo_leases AS (
        -- Each lease with settled SLO periods is one trial, split by its met and missed shares,
        -- weighed at its latest settled period.
        SELECT o.provider_organisation_id AS organisation_id,
               (count(*) FILTER (WHERE o.outcome = 'MET'))::float8 AS met,
               (count(*) FILTER (WHERE o.outcome = 'MISSED'))::float8 AS missed,
               power(0.5, GREATEST(0, extract(epoch FROM (${now}::timestamptz - max(o.settled_at))))::float8
                 / ${halfLifeSeconds}) AS w
        FROM slo_period_outcomes o JOIN leases l ON l.id = o.lease_id
        WHERE o.provider_organisation_id = ANY(${organisationIds}::uuid[]) AND l.created_at > ${since}
        GROUP BY o.provider_organisation_id, o.lease_id
      ), slo AS (
        SELECT organisation_id, sum(met)::int AS met_n, sum(w * met / (met + missed))::float8 AS met_w,
               sum(missed)::int AS missed_n, sum(w * missed / (met + missed))::float8 AS missed_w
        FROM slo_leases GROUP BY organisation_id
      ), lost AS (
        -- Lost: an SLO dispute decided MISSED; a USAGE dispute whose decided counts differ from the
        -- provider's report beyond the tolerance (docs/USAGE.md: max(1,000, 2% of the larger)).
        SELECT l.provider_organisation_id AS organisation_id, count(*)::int AS n,
               sum(power(0.5, GREATEST(0, extract(epoch FROM (${now}::timestamptz - d.resolved_at)))::float8
                 / ${halfLifeSeconds}))::float8 AS w
        FROM period_disputes d JOIN leases l ON l.id = d.lease_id
        CROSS JOIN LATERAL (SELECT
          (d.evidence->'provider'->>'promptTokens')::numeric AS pp, (d.decision->>'promptTokens')::numeric AS dp,
          (d.evidence->'provider'->>'outputTokens')::numeric AS po, (d.decision->>'outputTokens')::numeric AS dq) c
        WHERE l.provider_organisation_id = ANY(${organisationIds}::uuid[]) AND l.created_at > ${since}
          AND d.status = 'RESOLVED'
          AND ((d.kind = 'SLO' AND d.decision->>'outcome' = 'MISSED')
               OR (d.kind = 'USAGE'
                   AND (abs(c.pp - c.dp) > GREATEST(1000, GREATEST(c.pp, c.dp) * 200 / 10000)
                        OR abs(c.po - c.dq) > GREATEST(1000, GREATEST(c.po, c.dq) * 200 / 10000))))
        GROUP BY l.provider_organisation_id
      ), leases_tally AS (
      SELECT organisation_id,
             (count(*) FILTER (WHERE handover = 'on_time'))::int AS on_time_n,
             COALESCE(sum(handover_w) FILTER (WHERE handover = 'on_time'), 0)::float8 AS on_time_w,
             (count(*) FILTER (WHERE handover = 'late'))::int AS late_n,
             COALESCE(sum(handover_w) FILTER (WHERE handover = 'late'), 0)::float8 AS late_w,
             (count(*) FILTER (WHERE handover = 'missed'))::int AS missed_n,
             COALESCE(sum(handover_w) FILTER (WHERE handover = 'missed'), 0)::float8 AS missed_w,
             (count(*) FILTER (WHERE delivery = 'delivered'))::int AS delivered_n,
             COALESCE(sum(delivery_w) FILTER (WHERE delivery = 'delivered'), 0)::float8 AS delivered_w,
             (count(*) FILTER (WHERE delivery = 'early'))::int AS early_n,
             COALESCE(sum(delivery_w) FILTER (WHERE delivery = 'early'), 0)::float8 AS early_w,
             (count(*) FILTER (WHERE delivery = 'notice'))::int AS notice_n,
             COALESCE(sum(delivery_w) FILTER (WHERE delivery = 'notice'), 0)::float8 AS notice_w
      FROM weighted
      GROUP BY organisation_id
      )
      SELECT t.organisation_id::text AS organisation_id, t.on_time_n, t.on_time_w, t.late_n, t.late_w,
             t.missed_n, t.missed_w, t.delivered_n, t.delivered_w, t.early_n, t.early_w, t.notice_n, t.notice_w,
             COALESCE(s.met_n, 0) AS slo_met_n, COALESCE(s.met_w, 0)::float8 AS slo_met_w,
             COALESCE(s.missed_n, 0) AS slo_missed_n, COALESCE(s.missed_w, 0)::float8 AS slo_missed_w,
             COALESCE(x.n, 0) AS lost_n, COALESCE(x.w, 0)::float8 AS lost_w
      FROM leases_tally t
      LEFT JOIN slo s ON s.organisation_id = t.organisation_id
      LEFT JOIN lost x ON x.organisation_id = t.organisation_id`;
    return new Map(
      rows.map((row) => [
        row.organisation_id,
        {
          onTimeHandovers: { count: row.on_time_n, weight: row.on_time_w },
          lateHandovers: { count: row.late_n, weight: row.late_w },
          missedHandovers: { count: row.missed_n, weight: row.missed_w },
          deliveredLeases: { count: row.delivered_n, weight: row.delivered_w },
          providerEarlyEnds: { count: row.early_n, weight: row.early_w },
          providerNoticeEnds: { count: row.notice_n, weight: row.notice_w },
          sloMet: { count: row.slo_met_n, weight: row.slo_met_w },
          sloMissed: { count: row.slo_missed_n, weight: row.slo_missed_w },
          disputesLost: { count: row.lost_n, weight: row.lost_w },
        },
      ]),
    );
  }

  /** Each organisation's public display name (what public data says of who it is). */
  async findPublicNames(organisationIds: readonly string[]): Promise<Map<string, string>> {
    if (organisationIds.length === 0) return new Map();
    const rows = await this.txHost.tx.organisation.findMany({
      where: { id: { in: [...organisationIds] } },
      select: { id: true, name: true },
    });
    return new Map(rows.map((row) => [row.id, row.name]));
  }

  /** The owner of each site named: a quote's supply lines name sites, public data their provider. */
  async findPublicSiteOwners(siteIds: readonly string[]): Promise<Map<string, string>> {
    if (siteIds.length === 0) return new Map();
    const rows = await this.txHost.tx.site.findMany({
      where: { id: { in: [...siteIds] } },
      select: { id: true, organisationId: true },
    });
    return new Map(rows.map((row) => [row.id, row.organisationId]));
  }

  /** Providers with a lease in the lookback, or a stored score off the prior: those a refresh may move. */
  async systemProvidersToRefresh(now: Date, after: string | undefined, limit: number): Promise<string[]> {
    const since = new Date(now.getTime() - LOOKBACK_DAYS * 86_400_000);
    const rows = await this.txHost.tx.$queryRaw<Array<{ id: string }>>`
      SELECT o.id::text FROM organisations o
      WHERE o.role = 'PROVIDER' AND o.id > ${after ?? '00000000-0000-0000-0000-000000000000'}::uuid
        AND (o.reliability_score <> ${PRIOR_SCORE}
             OR EXISTS (SELECT 1 FROM leases l WHERE l.provider_organisation_id = o.id AND l.created_at > ${since}))
      ORDER BY o.id
      LIMIT ${limit}`;
    return rows.map((row) => row.id);
  }

  /** Stores each provider's score; returns how many changed. */
  async systemStoreScores(scores: ReadonlyMap<string, number>, at: Date): Promise<number> {
    if (scores.size === 0) return 0;
    return this.txHost.tx.$executeRaw`
      UPDATE organisations o SET reliability_score = v.score, updated_at = ${at}
      FROM unnest(${[...scores.keys()]}::uuid[], ${[...scores.values()]}::float8[]) AS v(id, score)
      WHERE o.id = v.id AND o.reliability_score IS DISTINCT FROM v.score`;
  }
}
