/**
 * Credit for test buyers, posted straight into the ledger as a top-up would be (external funding
 * to the buyer's available account), for suites whose subject is not the top-up flow. Works from
 * any process with a database connection: pass Prisma's `$executeRawUnsafe` or pg's `query`.
 */
export const FUND_BUYER_SQL = `
  WITH t AS (
    INSERT INTO ledger_transfers (id, key, kind, currency, organisation_id, memo, created_at)
    VALUES (gen_random_uuid(), 'test-funding:' || gen_random_uuid(), 'TOPUP', $3, $1::uuid, 'test funding', now())
    RETURNING id)
  INSERT INTO ledger_entries (transfer_id, account_id, amount, created_at)
  SELECT t.id, a.id, CASE WHEN a.kind = 'EXTERNAL_FUNDING' THEN -($2::bigint) ELSE $2::bigint END, now()
  FROM t, ledger_accounts a
  WHERE a.currency = $3
    AND ((a.organisation_id IS NULL AND a.kind = 'EXTERNAL_FUNDING')
      OR (a.organisation_id = $1::uuid AND a.kind = 'BUYER_AVAILABLE'))
  ORDER BY a.id`;

/** Plenty for any suite's bids: 10 billion CNY in fen. */
export const TEST_BUYER_CREDIT_MINOR = 1_000_000_000_000n;

export async function fundBuyer(
  execute: (sql: string, ...params: unknown[]) => Promise<unknown>,
  organisationId: string,
  amountMinor: bigint = TEST_BUYER_CREDIT_MINOR,
  currency = 'CNY',
): Promise<void> {
  await execute(FUND_BUYER_SQL, organisationId, amountMinor.toString(), currency);
}
