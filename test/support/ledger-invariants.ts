import type { PrismaService } from '@/infra/prisma/prisma.service';

export interface LedgerViolation {
  rule: string;
  detail: string;
}

/** Runs SQL with $1.. parameters and returns its rows: Prisma in-process, pg across processes. */
export type SqlQuery = (sql: string, ...params: unknown[]) => Promise<Array<Record<string, unknown>>>;

export const prismaQuery =
  (prisma: PrismaService): SqlQuery =>
  (sql, ...params) =>
    prisma.$queryRawUnsafe(sql, ...params);

/**
 * DESIGN invariant 4, for the organisations a test used: the ledger balances (every transfer,
 * and every currency overall), each cached balance equals its entries and is never negative (a
 * provider's receivable never positive), a buyer's held balance equals its open bids' holds plus
 * its unsettled leases' holds, each penalty recorded on a lease was credited to its buyer once,
 * each lease's per-token spread reached PLATFORM_SPREAD and is never negative, each settled
 * period of a lease with an SLO has its outcome and its credit reached the buyer once, and a
 * provider's earnings are its proceeds less payouts, penalties and SLO credits plus what it still
 * owes.
 * Returns the violations (empty when all hold) so a failing test names what broke. Amounts
 * travel as text, so drivers that map bigint differently compare alike.
 */
export async function ledgerViolations(
  db: PrismaService | SqlQuery,
  organisationIds: string[],
): Promise<LedgerViolation[]> {
  const query = typeof db === 'function' ? db : prismaQuery(db);
  const violations: LedgerViolation[] = [];
  const unbalanced = await query(`
    SELECT transfer_id::text AS id, SUM(amount)::text AS total FROM ledger_entries
    GROUP BY transfer_id HAVING SUM(amount) <> 0 LIMIT 5`);
  for (const row of unbalanced) {
    violations.push({
      rule: 'transfer sums to zero',
      detail: `${String(row.id)} sums to ${String(row.total)}`,
    });
  }
  const currencies = await query(`
    SELECT a.currency, SUM(e.amount)::text AS total FROM ledger_entries e
    JOIN ledger_accounts a ON a.id = e.account_id GROUP BY a.currency HAVING SUM(e.amount) <> 0`);
  for (const row of currencies) {
    violations.push({
      rule: 'currency sums to zero',
      detail: `${String(row.currency)} sums to ${String(row.total)}`,
    });
  }
  if (organisationIds.length === 0) return violations;

  const accounts = await query(
    `SELECT a.organisation_id::text AS organisation_id, a.kind::text AS kind, a.balance::text AS balance,
            COALESCE((SELECT SUM(e.amount) FROM ledger_entries e WHERE e.account_id = a.id), 0)::text AS entries
     FROM ledger_accounts a WHERE a.organisation_id = ANY($1::uuid[])`,
    organisationIds,
  );
  for (const row of accounts) {
    const who = `${String(row.organisation_id)} ${String(row.kind)}`;
    if (row.balance !== row.entries) {
      violations.push({
        rule: 'cached balance equals entries',
        detail: `${who}: cached ${String(row.balance)}, entries ${String(row.entries)}`,
      });
    }
    if (row.kind === 'PROVIDER_RECEIVABLE') {
      if (BigInt(String(row.balance)) > 0n) {
        violations.push({ rule: 'receivable not positive', detail: `${who}: ${String(row.balance)}` });
      }
    } else if (BigInt(String(row.balance)) < 0n) {
      violations.push({ rule: 'balance not negative', detail: `${who}: ${String(row.balance)}` });
    }
  }

  // A lease holds its cost at the trade price less what its settled periods have paid.
  const held = await query(
    `SELECT a.organisation_id::text AS organisation_id, a.balance::text AS held,
       (COALESCE((SELECT SUM(b.max_price_per_gpu_hour * (b.gpus - b.filled_gpus) * b.duration_hours)
                  FROM bids b WHERE b.organisation_id = a.organisation_id
                    AND b.status IN ('OPEN', 'PARTIALLY_FILLED')), 0)
      + COALESCE((SELECT SUM(
                    -- Released (refunded before it started, or its last period settled): nothing held.
                    CASE WHEN EXISTS (SELECT 1 FROM ledger_transfers t WHERE t.key = 'lease-release:' || l.id::text)
                         THEN 0
                         ELSE l.price_per_gpu_hour * l.gpus * l.duration_hours
                              - COALESCE((SELECT SUM(p.cost) FROM lease_periods p WHERE p.lease_id = l.id), 0) END)
                  FROM leases l WHERE l.buyer_organisation_id = a.organisation_id), 0))::text AS expected
     FROM ledger_accounts a
     WHERE a.kind = 'BUYER_HELD' AND a.organisation_id = ANY($1::uuid[])`,
    organisationIds,
  );
  for (const row of held) {
    if (row.held !== row.expected) {
      violations.push({
        rule: 'held = open bid holds + unsettled lease holds',
        detail: `${String(row.organisation_id)}: held ${String(row.held)}, expected ${String(row.expected)}`,
      });
    }
  }

  // A penalty on a lease is credited to its buyer's available credit by exactly one PENALTY
  // transfer of that amount, and no lease without one has such a transfer.
  const penalties = await query(
    `SELECT l.id::text AS lease_id, COALESCE(l.penalty, 0)::text AS penalty,
            COALESCE((SELECT SUM(e.amount) FROM ledger_transfers t
                      JOIN ledger_entries e ON e.transfer_id = t.id
                      JOIN ledger_accounts a ON a.id = e.account_id
                      WHERE t.lease_id = l.id AND t.kind = 'PENALTY' AND a.kind = 'BUYER_AVAILABLE'
                        AND a.organisation_id = l.buyer_organisation_id), 0)::text AS credited
     FROM leases l
     WHERE (l.buyer_organisation_id = ANY($1::uuid[]) OR l.provider_organisation_id = ANY($1::uuid[]))
       AND (l.penalty IS NOT NULL OR EXISTS (
             SELECT 1 FROM ledger_transfers t WHERE t.lease_id = l.id AND t.kind = 'PENALTY'))`,
    organisationIds,
  );
  for (const row of penalties) {
    if (row.penalty !== row.credited) {
      violations.push({
        rule: 'a lease penalty is credited to its buyer once',
        detail: `${String(row.lease_id)}: penalty ${String(row.penalty)}, credited ${String(row.credited)}`,
      });
    }
  }

  // Per-token periods (docs/LEDGER.md "The spread"): the platform never pays a provider more for
  // a period than the buyer was charged (spread >= 0), and each lease's spread reached
  // PLATFORM_SPREAD through its own SETTLEMENT transfers, to the fen.
  const spreads = await query(
    `SELECT l.id::text AS lease_id,
            COALESCE((SELECT SUM(p.spread) FROM lease_periods p WHERE p.lease_id = l.id), 0)::text AS spread,
            COALESCE((SELECT MIN(p.spread) FROM lease_periods p WHERE p.lease_id = l.id), 0)::text AS least,
            COALESCE((SELECT SUM(e.amount) FROM ledger_transfers t
                      JOIN ledger_entries e ON e.transfer_id = t.id
                      JOIN ledger_accounts a ON a.id = e.account_id
                      WHERE t.lease_id = l.id AND t.kind = 'SETTLEMENT' AND a.kind = 'PLATFORM_SPREAD'), 0)::text AS posted
     FROM leases l
     WHERE (l.buyer_organisation_id = ANY($1::uuid[]) OR l.provider_organisation_id = ANY($1::uuid[]))`,
    organisationIds,
  );
  for (const row of spreads) {
    if (row.spread !== row.posted) {
      violations.push({
        rule: "a lease's spread is posted to PLATFORM_SPREAD",
        detail: `${String(row.lease_id)}: periods' spread ${String(row.spread)}, posted ${String(row.posted)}`,
      });
    }
    if (BigInt(String(row.least)) < 0n) {
      violations.push({
        rule: 'a payout is never above the charge',
        detail: `${String(row.lease_id)}: a period's spread is ${String(row.least)}`,
      });
    }
  }

  // Each settled period of a lease with an SLO has one outcome; its credit (zero when met, at most
  // what the provider earned from the period: its proceeds, per token the payout, less the fee)
  // reached the buyer's available credit by exactly one SLO_CREDIT transfer, and no SLO_CREDIT
  // exists without an outcome (docs/SLO.md).
  const slo = await query(
    `SELECT p.lease_id::text AS lease_id, p.index, (o.lease_id IS NOT NULL) AS assessed,
            (l.slo IS NOT NULL) AS has_slo, COALESCE(o.credit, 0)::text AS credit,
            (p.cost - p.spread - p.fee)::text AS proceeds,
            COALESCE((SELECT SUM(e.amount) FROM ledger_transfers t
                      JOIN ledger_entries e ON e.transfer_id = t.id
                      JOIN ledger_accounts a ON a.id = e.account_id
                      WHERE t.key = 'slo-credit:' || p.lease_id::text || ':' || p.index::text
                        AND t.kind = 'SLO_CREDIT' AND a.kind = 'BUYER_AVAILABLE'
                        AND a.organisation_id = l.buyer_organisation_id), 0)::text AS credited
     FROM lease_periods p JOIN leases l ON l.id = p.lease_id
     LEFT JOIN slo_period_outcomes o ON o.lease_id = p.lease_id AND o.period_index = p.index
     WHERE l.buyer_organisation_id = ANY($1::uuid[]) OR l.provider_organisation_id = ANY($1::uuid[])`,
    organisationIds,
  );
  for (const row of slo) {
    const at = `${String(row.lease_id)} period ${String(row.index)}`;
    if (row.assessed !== row.has_slo) {
      violations.push({ rule: 'a settled period of a lease with an SLO has one outcome', detail: at });
    }
    if (row.credit !== row.credited || BigInt(String(row.credit)) > BigInt(String(row.proceeds))) {
      violations.push({
        rule: "an SLO credit reaches the buyer once, at most the period's proceeds",
        detail: `${at}: credit ${String(row.credit)}, credited ${String(row.credited)}, proceeds ${String(row.proceeds)}`,
      });
    }
  }

  // Providers are credited each settled period's cost less its fee, less what they asked to be
  // paid out, less the penalties they were charged, plus what of those they still owe (the
  // receivable's balance is minus that): earnings and receivable together pay every penalty.
  // A per-token period's cost less its spread is the provider's payout.
  const earnings = await query(
    `SELECT a.organisation_id::text AS organisation_id, a.balance::text AS earnings,
       (COALESCE((SELECT SUM(p.cost - p.spread - p.fee) FROM lease_periods p JOIN leases l ON l.id = p.lease_id
                 WHERE l.provider_organisation_id = a.organisation_id), 0)
       - COALESCE((SELECT SUM(o.amount) FROM payouts o WHERE o.organisation_id = a.organisation_id
                     AND o.source = 'PROVIDER_EARNINGS' AND o.status <> 'REJECTED'), 0)
       - COALESCE((SELECT SUM(l.penalty) FROM leases l WHERE l.provider_organisation_id = a.organisation_id), 0)
       - COALESCE((SELECT SUM(c.credit) FROM slo_period_outcomes c
                   WHERE c.provider_organisation_id = a.organisation_id), 0)
       - COALESCE((SELECT r.balance FROM ledger_accounts r WHERE r.organisation_id = a.organisation_id
                     AND r.kind = 'PROVIDER_RECEIVABLE' AND r.currency = a.currency), 0))::text AS expected
     FROM ledger_accounts a
     WHERE a.kind = 'PROVIDER_EARNINGS' AND a.organisation_id = ANY($1::uuid[])`,
    organisationIds,
  );
  for (const row of earnings) {
    if (row.earnings !== row.expected) {
      violations.push({
        rule: 'earnings = settled periods less fees, payouts, penalties and SLO credits, plus what is still owed',
        detail: `${String(row.organisation_id)}: earnings ${String(row.earnings)}, expected ${String(row.expected)}`,
      });
    }
  }
  return violations;
}
