import { Injectable } from '@nestjs/common';
import { Tx } from '@/infra/prisma/tx';

export interface MarketMatchCounters {
  market: string;
  leasesCreated: bigint;
  filledGpuHours: bigint;
  /** Runs that committed fills, and commits the epoch fence refused (a stalled run). */
  commits: bigint;
  staleCommits: bigint;
}

export interface TransferCounters {
  kind: string;
  currency: string;
  transfers: bigint;
  amountMinor: bigint;
}

/**
 * Counters kept by triggers in the transactions they count (migration `metrics_counters`), so a
 * scrape reads one row per market and a few rows per transfer kind instead of counting leases
 * or ledger rows.
 */
@Injectable()
export class MetricsCountersRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  /** Every market, with zeros for one that never matched. */
  async systemMarketMatchCounters(): Promise<MarketMatchCounters[]> {
    const rows = await this.tx.$queryRaw<
      Array<{
        slug: string;
        leases_created: bigint;
        filled_gpu_hours: bigint;
        commits: bigint;
        stale_commits: bigint;
      }>
    >`
      SELECT m.slug, COALESCE(mm.leases_created, 0) AS leases_created,
             COALESCE(mm.filled_gpu_hours, 0) AS filled_gpu_hours,
             COALESCE(mm.commits, 0) AS commits, COALESCE(mm.stale_commits, 0) AS stale_commits
      FROM markets m LEFT JOIN market_matching mm ON mm.market_id = m.id
      ORDER BY m.slug`;
    return rows.map((row) => ({
      market: row.slug,
      leasesCreated: row.leases_created,
      filledGpuHours: row.filled_gpu_hours,
      commits: row.commits,
      staleCommits: row.stale_commits,
    }));
  }

  /** Transfers posted and amounts moved, by kind and currency (the sum of the backend slots). */
  async systemTransferCounters(): Promise<TransferCounters[]> {
    const rows = await this.tx.$queryRaw<
      Array<{ kind: string; currency: string; transfers: bigint; amount: bigint }>
    >`
      SELECT kind::text AS kind, currency, sum(transfers)::bigint AS transfers, sum(amount)::bigint AS amount
      FROM ledger_transfer_counters GROUP BY kind, currency ORDER BY kind, currency`;
    return rows.map((row) => ({
      kind: row.kind,
      currency: row.currency,
      transfers: row.transfers,
      amountMinor: row.amount,
    }));
  }

  /**
   * Folds the counter rows of database backends that no longer exist into slot 0, so the table
   * stays at about (kinds x currencies x live connections) rows. A backend born meanwhile with a
   * reused pid is harmless: its row is either folded with what it added or left for next time.
   */
  async systemFoldGoneTransferCounterSlots(): Promise<number> {
    const rows = await this.tx.$queryRaw<Array<{ folded: bigint }>>`
      WITH gone AS (
        DELETE FROM ledger_transfer_counters c
        WHERE c.slot <> 0 AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = c.slot)
        RETURNING kind, currency, transfers, amount),
      folded AS (
        INSERT INTO ledger_transfer_counters (kind, currency, slot, transfers, amount)
        SELECT kind, currency, 0, sum(transfers), sum(amount) FROM gone GROUP BY kind, currency
        ON CONFLICT (kind, currency, slot) DO UPDATE
        SET transfers = ledger_transfer_counters.transfers + EXCLUDED.transfers,
            amount = ledger_transfer_counters.amount + EXCLUDED.amount
        RETURNING 1)
      SELECT count(*) AS folded FROM gone`;
    return Number(rows[0]?.folded ?? 0);
  }
}
