import type { PrismaService } from '../../src/infra/prisma/prisma.service';

export interface LedgerViolation {
  rule: string;
  detail: string;
}

/**
 * DESIGN invariant 4, for the organisations a test used: the ledger balances (every transfer,
 * and every currency overall), each cached balance equals its entries and is never negative,
 * and a buyer's held balance equals its open bids' holds plus its unsettled leases' holds.
 * Returns the violations (empty when all hold) so a failing test names what broke.
 */
export async function ledgerViolations(
  prisma: PrismaService,
  organisationIds: string[],
): Promise<LedgerViolation[]> {
  const violations: LedgerViolation[] = [];
  const unbalanced = await prisma.$queryRaw<Array<{ transfer_id: string; total: bigint }>>`
    SELECT transfer_id, SUM(amount)::bigint AS total FROM ledger_entries
    GROUP BY transfer_id HAVING SUM(amount) <> 0 LIMIT 5`;
  for (const row of unbalanced) {
    violations.push({ rule: 'transfer sums to zero', detail: `${row.transfer_id} sums to ${row.total}` });
  }
  const currencies = await prisma.$queryRaw<Array<{ currency: string; total: bigint }>>`
    SELECT a.currency, SUM(e.amount)::bigint AS total FROM ledger_entries e
    JOIN ledger_accounts a ON a.id = e.account_id GROUP BY a.currency HAVING SUM(e.amount) <> 0`;
  for (const row of currencies) {
    violations.push({ rule: 'currency sums to zero', detail: `${row.currency} sums to ${row.total}` });
  }
  if (organisationIds.length === 0) return violations;

  const accounts = await prisma.$queryRaw<
    Array<{ organisation_id: string; kind: string; balance: bigint; entries: bigint }>
  >`
    SELECT a.organisation_id, a.kind::text AS kind, a.balance,
           COALESCE((SELECT SUM(e.amount) FROM ledger_entries e WHERE e.account_id = a.id), 0)::bigint AS entries
    FROM ledger_accounts a WHERE a.organisation_id = ANY(${organisationIds}::uuid[])`;
  for (const row of accounts) {
    if (row.balance !== row.entries) {
      violations.push({
        rule: 'cached balance equals entries',
        detail: `${row.organisation_id} ${row.kind}: cached ${row.balance}, entries ${row.entries}`,
      });
    }
    if (row.balance < 0n) {
      violations.push({
        rule: 'balance not negative',
        detail: `${row.organisation_id} ${row.kind}: ${row.balance}`,
      });
    }
  }

  // Until settlement lands every lease is unsettled and holds its whole cost at the trade price.
  const held = await prisma.$queryRaw<Array<{ organisation_id: string; held: bigint; expected: bigint }>>`
    SELECT a.organisation_id, a.balance AS held,
      (COALESCE((SELECT SUM(b.max_price_per_gpu_hour * (b.gpus - b.filled_gpus) * b.duration_hours)
                 FROM bids b WHERE b.organisation_id = a.organisation_id
                   AND b.status IN ('OPEN', 'PARTIALLY_FILLED')), 0)
     + COALESCE((SELECT SUM(l.price_per_gpu_hour * l.gpus * l.duration_hours)
                 FROM leases l WHERE l.buyer_organisation_id = a.organisation_id), 0))::bigint AS expected
    FROM ledger_accounts a
    WHERE a.kind = 'BUYER_HELD' AND a.organisation_id = ANY(${organisationIds}::uuid[])`;
  for (const row of held) {
    if (row.held !== row.expected) {
      violations.push({
        rule: 'held = open bid holds + unsettled lease holds',
        detail: `${row.organisation_id}: held ${row.held}, expected ${row.expected}`,
      });
    }
  }
  return violations;
}
