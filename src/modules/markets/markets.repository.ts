import { Injectable } from '@nestjs/common';
import type { MarketStatus, MatchingMode, OrganisationStatus } from '@/generated/prisma/enums';
import { Tx } from '@/infra/prisma/tx';

export interface MarketRecord {
  id: string;
  slug: string;
  vendor: string;
  model: string;
  memoryGb: number;
  currency: string;
  currencyScale: number;
  feeBps: number;
  status: MarketStatus;
  matchingMode: MatchingMode;
  callWindowMs: number;
}

/** A market with its matching counters, for the admin listing. */
export interface AdminMarketRecord extends MarketRecord {
  updatedAt: Date;
  matching: { epoch: bigint; commits: bigint; staleCommits: bigint; lastCommitAt: Date | null } | null;
}

export interface DivisionRecord {
  code: string;
  nameZh: string;
  namePinyin: string;
}

export interface ProvinceRecord extends DivisionRecord {
  cities: DivisionRecord[];
}

export interface CityRecord extends DivisionRecord {
  provinceCode: string;
}

const MARKET_FIELDS = {
  id: true,
  slug: true,
  vendor: true,
  model: true,
  memoryGb: true,
  currency: true,
  currencyScale: true,
  feeBps: true,
  status: true,
  matchingMode: true,
  callWindowMs: true,
} as const;

const ADMIN_MARKET_FIELDS = {
  ...MARKET_FIELDS,
  updatedAt: true,
  matching: { select: { epoch: true, commits: true, staleCommits: true, lastCommitAt: true } },
} as const;

const DIVISION_FIELDS = { code: true, nameZh: true, namePinyin: true } as const;

/** The catalogue: markets, provinces and cities. Public reference data, owned by no tenant. */

/** A response stored under an idempotency key, as a group commit reads it back. */
export interface StoredIdempotentResponse {
  fingerprint: string;
  statusCode: number;
  body: unknown;
}

/** The map key of a stored response: scope and key (neither holds a newline). */
export const recordKey = (scope: string, key: string): string => `${scope}\n${key}`;

@Injectable()
export class MarketsRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  async findMarkets(): Promise<MarketRecord[]> {
    return this.tx.market.findMany({ select: MARKET_FIELDS, orderBy: { slug: 'asc' } });
  }

  async findMarketBySlug(slug: string): Promise<MarketRecord | null> {
    return this.tx.market.findUnique({ where: { slug }, select: MARKET_FIELDS });
  }

  /** Every market with its matching counters (one row each in market_matching): admin only. */
  async adminFindMarkets(): Promise<AdminMarketRecord[]> {
    return this.tx.market.findMany({ select: ADMIN_MARKET_FIELDS, orderBy: { slug: 'asc' } });
  }

  async adminFindMarket(id: string): Promise<AdminMarketRecord | null> {
    return this.tx.market.findUnique({ where: { id }, select: ADMIN_MARKET_FIELDS });
  }

  /**
   * The market row locked until commit, so an admin change decides on the state it replaces;
   * a matching commit holds a share lock on it, so the two serialise.
   */
  async adminLockMarketBySlug(slug: string): Promise<MarketRecord | null> {
    const locked = await this.tx.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM markets WHERE slug = ${slug} FOR UPDATE`;
    const id = locked[0]?.id;
    return id === undefined ? null : this.tx.market.findUnique({ where: { id }, select: MARKET_FIELDS });
  }

  async adminSetStatus(id: string, status: MarketStatus, now: Date): Promise<void> {
    await this.tx.market.update({ where: { id }, data: { status, updatedAt: now } });
  }

  async adminSetMatching(
    id: string,
    matchingMode: MatchingMode,
    callWindowMs: number,
    now: Date,
  ): Promise<void> {
    await this.tx.market.update({ where: { id }, data: { matchingMode, callWindowMs, updatedAt: now } });
  }

  async adminSetFee(id: string, feeBps: number, now: Date): Promise<void> {
    await this.tx.market.update({ where: { id }, data: { feeBps, updatedAt: now } });
  }

  async findProvincesWithCities(): Promise<ProvinceRecord[]> {
    return this.tx.province.findMany({
      select: { ...DIVISION_FIELDS, cities: { select: DIVISION_FIELDS, orderBy: { code: 'asc' } } },
      orderBy: { code: 'asc' },
    });
  }

  async findProvinces(codes: readonly string[]): Promise<DivisionRecord[]> {
    if (codes.length === 0) return [];
    return this.tx.province.findMany({ where: { code: { in: [...codes] } }, select: DIVISION_FIELDS });
  }

  async findProvinceCodes(): Promise<string[]> {
    const rows = await this.tx.$queryRaw<Array<{ code: string }>>`SELECT code FROM provinces`;
    return rows.map((row) => row.code);
  }

  async findCity(code: string): Promise<CityRecord | null> {
    return this.tx.city.findUnique({ where: { code }, select: { ...DIVISION_FIELDS, provinceCode: true } });
  }

  /**
   * A group commit's locks, seqs, statuses and idempotency lookups in one statement, locks first in
   * the caller's sorted order so committers cannot deadlock (docs/ARCHITECTURE.md "Group commit").
   */
  async lockOrderPlacementsAndTakeSeqs(
    organisationIds: readonly string[],
    seqs: number,
    marketIds: readonly string[],
    records: ReadonlyArray<{ scope: string; key: string }>,
    at: Date,
  ): Promise<{
    seqs: bigint[];
    organisationStatuses: Map<string, OrganisationStatus>;
    marketStatuses: Map<string, MarketStatus>;
    storedResponses: Map<string, StoredIdempotentResponse>;
  }> {
    const [row] = await this.txHost.tx.$queryRaw<
      Array<{
        seqs: string[];
        organisations: string[];
        markets: string[];
        records: Array<{
          scope: string;
          key: string;
          fingerprint: string;
          statusCode: number;
          body: unknown;
        }>;
      }>
    >`
      WITH locked AS MATERIALIZED (
        SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) AS n
        FROM unnest(${organisationIds.map((id) => `orders:${id}`)}::text[]) AS k)
      SELECT
        ARRAY(SELECT nextval('order_seq')::text FROM generate_series(1, ${seqs}::int)) AS seqs,
        ARRAY(SELECT o.id::text || ' ' || o.status::text FROM organisations o
              WHERE o.id = ANY(${organisationIds}::uuid[]) FOR KEY SHARE) AS organisations,
        ARRAY(SELECT m.id::text || ' ' || m.status::text FROM markets m
              WHERE m.id = ANY(${marketIds}::uuid[])) AS markets,
        (SELECT coalesce(json_agg(json_build_object('scope', r.scope, 'key', r.key, 'fingerprint', r.fingerprint,
                                                    'statusCode', r.status_code, 'body', r.response_body)), '[]')
         FROM idempotency_records r
         JOIN unnest(${records.map((r) => r.scope)}::text[], ${records.map((r) => r.key)}::text[]) AS q(scope, key)
           ON r.scope = q.scope AND r.key = q.key
         WHERE r.expires_at > ${at}) AS records
      FROM locked`;
    if (row === undefined) throw new Error('order placement locks returned no row');
    const pairs = (rows: string[]): Array<[string, string]> =>
      rows.map((text) => {
        const [id = '', status = ''] = text.split(' ');
        return [id, status];
      });
    return {
      seqs: row.seqs.map((seq) => BigInt(seq)),
      organisationStatuses: new Map(pairs(row.organisations) as Array<[string, OrganisationStatus]>),
      marketStatuses: new Map(pairs(row.markets) as Array<[string, MarketStatus]>),
      storedResponses: new Map(
        row.records.map((r) => [
          recordKey(r.scope, r.key),
          { fingerprint: r.fingerprint, statusCode: r.statusCode, body: r.body },
        ]),
      ),
    };
  }

  /** The next price-time priority number: one sequence for offers and bids of every market. */
  async nextOrderSeq(): Promise<bigint> {
    const [row] = await this.txHost.tx.$queryRaw<Array<{ seq: bigint }>>`SELECT nextval('order_seq') AS seq`;
    if (row === undefined) throw new Error('nextval(order_seq) returned no row');
    return row.seq;
  }
}
