-- One pass per posting statement (docs/LEDGER.md, "What the database enforces"; issue 14).
-- A posting statement (LedgerRepository.postTransfers: transfers and their entries in one
-- statement) fired five statement triggers running seven queries: the balance check twice (once
-- per table, each re-reading ledger_entries by transfer), the currency check, the account lock,
-- the apply, and two counter upserts, each a plpgsql call with its own transition table. The
-- currency check's cached plan also read ledger_accounts whole (a hash join sized for the
-- transition table's first estimate). Now one trigger per table, and the rules are the same:
--
-- * ledger_entries_post (entries): in one query over the statement's new entries, each entry is
--   non-zero and in its transfer's currency, and each transfer's new entries sum to zero; the
--   same query locks the organisation accounts touched in account-id order and adds the
--   statement's positive amounts to the counters. A second statement applies each account's net
--   and refuses an organisation account below zero (a receivable above zero), as before.
--   Balanced is checked on the new entries alone: entries are never changed or deleted, so the
--   entries a transfer had before the statement already summed to zero, and new ones that sum
--   to zero among themselves, all non-zero, are at least two. The old check re-read every entry
--   of every transfer touched.
-- * ledger_transfers_post (transfers): every new transfer has an entry (so its entries came in
--   its own statement and were checked above), and the transfer counters.
--
-- Look-ups go through scalar sub-queries on primary keys, so no plan can fall back to reading
-- a whole table whatever the transition table's size.
DROP TRIGGER "ledger_transfers_balanced" ON "ledger_transfers";
DROP TRIGGER "ledger_entries_balanced" ON "ledger_entries";
DROP FUNCTION "ledger_check_balanced"();
DROP TRIGGER "ledger_count_transfers" ON "ledger_transfers";
DROP FUNCTION "ledger_count_transfers"();
DROP TRIGGER "ledger_count_transfer_amounts" ON "ledger_entries";
DROP FUNCTION "ledger_count_transfer_amounts"();
DROP TRIGGER "ledger_entries_apply_set" ON "ledger_entries";
DROP FUNCTION "ledger_entries_apply_set"();

CREATE FUNCTION "ledger_transfers_post"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad UUID;
BEGIN
  WITH counted AS (
    INSERT INTO "ledger_transfer_counters" ("kind", "currency", "slot", "transfers")
    SELECT "kind", "currency", pg_backend_pid(), count(*) FROM new_transfers GROUP BY "kind", "currency"
    ON CONFLICT ("kind", "currency", "slot")
    DO UPDATE SET "transfers" = "ledger_transfer_counters"."transfers" + EXCLUDED."transfers"
  )
  SELECT t."id" INTO bad FROM new_transfers t
   WHERE NOT EXISTS (SELECT 1 FROM "ledger_entries" e WHERE e."transfer_id" = t."id")
   LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'ledger_unbalanced: transfer % has 0 entries summing to 0', bad
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "ledger_transfers_post" AFTER INSERT ON "ledger_transfers"
  REFERENCING NEW TABLE AS new_transfers
  FOR EACH STATEMENT EXECUTE FUNCTION "ledger_transfers_post"();

CREATE FUNCTION "ledger_entries_post"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad RECORD;
  refused BOOLEAN;
  ignored TEXT;
BEGIN
  -- Checks, locks and counters in one query. The lock is NO KEY UPDATE, what the UPDATE below
  -- takes anyway: the entries' foreign-key checks hold KEY SHARE on these rows, and two postings
  -- asking FOR UPDATE would each wait on the other's (a deadlock). Rows are locked in account-id
  -- order, the order every posting and LedgerRepository.lockBalances take them in.
  WITH entries AS MATERIALIZED (
    SELECT e."transfer_id", e."amount",
           (SELECT t FROM "ledger_transfers" t WHERE t."id" = e."transfer_id") AS transfer,
           (SELECT a."currency" FROM "ledger_accounts" a WHERE a."id" = e."account_id") AS account_currency
      FROM new_entries e
  ), locked AS (
    SELECT a."id" FROM "ledger_accounts" a
     WHERE a."id" IN (SELECT DISTINCT "account_id" FROM new_entries) AND a."organisation_id" IS NOT NULL
     ORDER BY a."id" FOR NO KEY UPDATE
  ), counted AS (
    INSERT INTO "ledger_transfer_counters" ("kind", "currency", "slot", "amount")
    SELECT (transfer)."kind", (transfer)."currency", pg_backend_pid(), sum("amount")
      FROM entries WHERE "amount" > 0
     GROUP BY (transfer)."kind", (transfer)."currency"
    ON CONFLICT ("kind", "currency", "slot")
    DO UPDATE SET "amount" = "ledger_transfer_counters"."amount" + EXCLUDED."amount"
  )
  -- The cross join reads every row of `locked` before any group is judged, so the locks are
  -- taken whatever the checks find.
  SELECT "transfer_id", count(*) AS entries, sum("amount") AS total, bool_or("amount" = 0) AS zero,
         min("account_currency") FILTER (WHERE "account_currency" IS DISTINCT FROM (transfer)."currency") AS account_currency,
         min((transfer)."currency") AS transfer_currency
    INTO bad
    FROM entries CROSS JOIN (SELECT count(*) FROM locked) AS lock_count
   GROUP BY "transfer_id"
  HAVING bool_or("amount" = 0) OR bool_or("account_currency" IS DISTINCT FROM (transfer)."currency")
      OR sum("amount") <> 0
   LIMIT 1;
  IF FOUND THEN
    IF bad.zero THEN
      RAISE EXCEPTION 'ledger_entries: an entry moves a non-zero amount' USING ERRCODE = 'check_violation';
    END IF;
    IF bad.account_currency IS NOT NULL OR bad.transfer_currency IS NULL THEN
      RAISE EXCEPTION 'ledger_entries: account currency % differs from transfer currency %',
        bad.account_currency, bad.transfer_currency USING ERRCODE = 'check_violation';
    END IF;
    RAISE EXCEPTION 'ledger_unbalanced: transfer % has % entries summing to %', bad."transfer_id", bad.entries, bad.total
      USING ERRCODE = 'check_violation';
  END IF;

  ignored := set_config('ledger.applying', 'on', true);
  WITH net AS (
    SELECT "account_id", sum("amount") AS amount FROM new_entries GROUP BY "account_id"
  ), applied AS (
    UPDATE "ledger_accounts" a SET "balance" = a."balance" + net.amount
      FROM net
     WHERE a."id" = net."account_id" AND a."organisation_id" IS NOT NULL AND net.amount <> 0
    RETURNING a."id", a."kind", a."balance"
  )
  SELECT * INTO bad FROM applied
   WHERE (applied."kind" = 'PROVIDER_RECEIVABLE' AND applied."balance" > 0)
      OR (applied."kind" <> 'PROVIDER_RECEIVABLE' AND applied."balance" < 0)
   ORDER BY applied."id"
   LIMIT 1;
  refused := FOUND;
  ignored := set_config('ledger.applying', 'off', true);
  IF refused THEN
    IF bad."kind" = 'PROVIDER_RECEIVABLE' THEN
      RAISE EXCEPTION 'ledger_receivable_overpaid: receivable % would go above zero', bad."id"
        USING ERRCODE = 'check_violation';
    END IF;
    RAISE EXCEPTION 'ledger_insufficient_funds: account % would go below zero', bad."id"
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "ledger_entries_post" AFTER INSERT ON "ledger_entries"
  REFERENCING NEW TABLE AS new_entries
  FOR EACH STATEMENT EXECUTE FUNCTION "ledger_entries_post"();
