import { Injectable } from '@nestjs/common';
import type { MarketStatus, MatchingMode, OrganisationStatus } from '@/generated/prisma/enums';
import { Tx } from '@/infra/prisma/tx';
import { LIVE_BID_STATUSES } from './domain/order-terms';
import {
  NOTHING_WANTED,
  type BatchReads,
  type BatchReadsWanted,
  type LockedFundsRow,
  type LockedPlanRow,
  type SettledChargesRow,
} from './domain/placement-batch';

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
  callPhaseMs: number;
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
  callPhaseMs: true,
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
  ): Promise<{ callPhaseMs: number }> {
    // The phase is the database's (markets_set_call_phase): kept, or new with a new window.
    return this.tx.market.update({
      where: { id },
      data: { matchingMode, callWindowMs, updatedAt: now },
      select: { callPhaseMs: true },
    });
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
   * A group commit's reads in one round trip (docs/ARCHITECTURE.md "Group commit of placements"):
   * the function `order_placement_lock` takes the placement locks in the caller's sorted order,
   * then reads seqs, statuses and stored idempotency responses, then what the lanes asked for
   * (`BatchReadsWanted`), each read a statement of its own inside it, so each sees what committed
   * before its lock was granted.
   */
  async lockOrderPlacementsAndTakeSeqs(
    organisationIds: readonly string[],
    seqs: number,
    marketIds: readonly string[],
    records: ReadonlyArray<{ scope: string; key: string }>,
    at: Date,
    wanted: BatchReadsWanted = NOTHING_WANTED,
  ): Promise<{
    seqs: bigint[];
    organisationStatuses: Map<string, OrganisationStatus>;
    marketStatuses: Map<string, MarketStatus>;
    storedResponses: Map<string, StoredIdempotentResponse>;
    reads: BatchReads;
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
        live_bids: Array<{ organisationId: string; n: number }>;
        plans: LockedPlanRow[];
        funds: LockedFundsRow[];
        settled: SettledChargesRow[];
      }>
    >`
      SELECT l.seqs, l.organisations, l.markets, l.records, l.live_bids, l.plans, l.funds, l.settled
      FROM order_placement_lock(
        ${organisationIds}::text[], ${seqs}::int, ${marketIds}::uuid[],
        ${records.map((r) => r.scope)}::text[], ${records.map((r) => r.key)}::text[], ${at}::timestamptz,
        ${wanted.liveBidsOf}::uuid[], ${[...LIVE_BID_STATUSES]}::text[],
        ${wanted.plans.map((p) => p.planId)}::uuid[], ${wanted.plans.map((p) => p.organisationId)}::uuid[],
        ${wanted.funds.map((f) => f.organisationId)}::uuid[], ${wanted.funds.map((f) => f.currency)}::text[],
        ${wanted.spendSince}::timestamptz) AS l`;
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
      reads: {
        liveBids: new Map(row.live_bids.map((r) => [r.organisationId, r.n])),
        plans: row.plans,
        funds: row.funds,
        settled: row.settled,
      },
    };
  }

  /** The next price-time priority number: one sequence for offers and bids of every market. */
  async nextOrderSeq(): Promise<bigint> {
    const [row] = await this.txHost.tx.$queryRaw<Array<{ seq: bigint }>>`SELECT nextval('order_seq') AS seq`;
    if (row === undefined) throw new Error('nextval(order_seq) returned no row');
    return row.seq;
  }
}
