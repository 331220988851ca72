-- Set-based postings (docs/LEDGER.md, "What the database enforces"; issue 14, "a lean hot path").
-- The entry rules ran per row: for every entry a plpgsql call, two look-ups, an UPDATE of its
-- account and the accounts' own row trigger. One statement-level trigger now applies a whole
-- posting statement's entries at once: it checks every entry (non-zero, currency of its
-- transfer), locks the organisation accounts touched in account-id order (the order every
-- posting locks them in, so postings cannot deadlock), adds each account's net amount in one
-- UPDATE and checks the resulting balances in that same statement. The rules are the ones the
-- row trigger enforced; a posting statement is atomic, so an account is checked on its balance
-- after the statement, not between two entries of it.
DROP TRIGGER "ledger_entries_apply" ON "ledger_entries";
DROP FUNCTION "ledger_entries_apply"();

CREATE FUNCTION "ledger_entries_apply_set"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad RECORD;
  refused BOOLEAN;
BEGIN
  SELECT e."transfer_id", e."amount", a."currency" AS account_currency, t."currency" AS transfer_currency
    INTO bad
    FROM new_entries e
    JOIN "ledger_transfers" t ON t."id" = e."transfer_id"
    JOIN "ledger_accounts" a ON a."id" = e."account_id"
   WHERE e."amount" = 0 OR a."currency" <> t."currency"
   LIMIT 1;
  IF FOUND THEN
    IF bad."amount" = 0 THEN
      RAISE EXCEPTION 'ledger_entries: an entry moves a non-zero amount' USING ERRCODE = 'check_violation';
    END IF;
    RAISE EXCEPTION 'ledger_entries: account currency % differs from transfer currency %',
      bad.account_currency, bad.transfer_currency USING ERRCODE = 'check_violation';
  END IF;

  -- NO KEY UPDATE, the lock the UPDATE below takes anyway: the entries' foreign-key checks have
  -- already taken KEY SHARE on these rows, and two postings asking FOR UPDATE would each wait
  -- on the other's KEY SHARE (a deadlock).
  PERFORM 1 FROM "ledger_accounts" a
   WHERE a."id" IN (SELECT DISTINCT "account_id" FROM new_entries) AND a."organisation_id" IS NOT NULL
   ORDER BY a."id" FOR NO KEY UPDATE;

  PERFORM set_config('ledger.applying', 'on', true);
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
  refused := FOUND; -- before PERFORM, which sets FOUND itself
  PERFORM set_config('ledger.applying', 'off', true);
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

CREATE TRIGGER "ledger_entries_apply_set" AFTER INSERT ON "ledger_entries"
  REFERENCING NEW TABLE AS new_entries
  FOR EACH STATEMENT EXECUTE FUNCTION "ledger_entries_apply_set"();
