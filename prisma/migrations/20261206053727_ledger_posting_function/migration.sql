-- The posting statement as a function with a plan kept for the session (docs/LEDGER.md,
-- "What the database enforces"; issue 14).
--
-- LedgerRepository.postTransfers sent one statement (a CTE writing the transfers and their
-- entries) that PostgreSQL planned at every execution: its generic plan estimates 10 rows per
-- `unnest`, ten times dearer than a custom plan for the 1-2 transfers a posting usually carries,
-- so the plan cache never switched to it (about 0.15-0.3 ms of planning per posting). The same
-- statement now runs inside this function with `plan_cache_mode = force_generic_plan`: planned
-- once per session, and a generic plan is the right one for any batch (accounts are found by the
-- unique index per entry, whatever the batch's size). The statement, its triggers and so every
-- rule the database enforces are unchanged; the triggers fire at the end of the inner statement,
-- as they did at the end of the outer one.
--
-- ledger_transfers_bid_id_idx goes: no query reads transfers by bid (they are found by key,
-- by organisation and time, or by lease), and every posting paid an index insert for it.
-- DropIndex
DROP INDEX "ledger_transfers_bid_id_idx";

CREATE FUNCTION "ledger_post_transfers"(
  p_keys TEXT[], p_kinds TEXT[], p_currencies TEXT[], p_organisation_ids TEXT[], p_bid_ids TEXT[],
  p_lease_ids TEXT[], p_top_up_ids TEXT[], p_memos TEXT[],
  p_entry_keys TEXT[], p_entry_organisation_ids TEXT[], p_entry_kinds TEXT[], p_entry_amounts BIGINT[],
  p_at TIMESTAMPTZ
) RETURNS SETOF TEXT LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  -- Transfers whose key exists are skipped (ON CONFLICT); the keys of those posted come back.
  -- Entries go in account-id order, so concurrent postings lock accounts in one order. An
  -- organisation's account is found by equality on the unique (organisation, kind, currency)
  -- index, a system account's by IS NULL (IS NOT DISTINCT FROM cannot use the index).
  RETURN QUERY
  WITH input AS (
    SELECT * FROM unnest(p_keys, p_kinds, p_currencies, p_organisation_ids, p_bid_ids, p_lease_ids,
                         p_top_up_ids, p_memos)
      AS i(key, kind, currency, organisation_id, bid_id, lease_id, top_up_id, memo)),
  posted AS (
    INSERT INTO ledger_transfers
      (id, key, kind, currency, organisation_id, bid_id, lease_id, top_up_id, memo, created_at)
    SELECT gen_random_uuid(), i.key, i.kind::"LedgerTransferKind", i.currency, NULLIF(i.organisation_id, '')::uuid,
           NULLIF(i.bid_id, '')::uuid, NULLIF(i.lease_id, '')::uuid, NULLIF(i.top_up_id, '')::uuid,
           NULLIF(i.memo, ''), p_at
    FROM input i
    ON CONFLICT (key) DO NOTHING
    RETURNING ledger_transfers.id, ledger_transfers.key, ledger_transfers.currency),
  lines AS (
    SELECT * FROM unnest(p_entry_keys, p_entry_organisation_ids, p_entry_kinds, p_entry_amounts)
      AS l(key, organisation_id, kind, amount)),
  written AS (
    INSERT INTO ledger_entries (transfer_id, account_id, amount, created_at)
    SELECT posted.id, a.id, lines.amount, p_at
    FROM lines
    JOIN posted ON posted.key = lines.key
    CROSS JOIN LATERAL (
      SELECT o.id FROM ledger_accounts o
      WHERE o.organisation_id = NULLIF(lines.organisation_id, '')::uuid
        AND o.kind = lines.kind::"LedgerAccountKind" AND o.currency = posted.currency
      UNION ALL
      SELECT s.id FROM ledger_accounts s
      WHERE lines.organisation_id = '' AND s.organisation_id IS NULL
        AND s.kind = lines.kind::"LedgerAccountKind" AND s.currency = posted.currency) a
    ORDER BY a.id
    RETURNING ledger_entries.transfer_id)
  SELECT posted.key::text FROM posted WHERE EXISTS (SELECT 1 FROM written WHERE written.transfer_id = posted.id);
END $$;
