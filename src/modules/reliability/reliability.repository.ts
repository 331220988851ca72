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
      )
      SELECT organisation_id::text,
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
      GROUP BY organisation_id`;
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
