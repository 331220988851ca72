-- Provider commitments (docs/LEASES.md, "Ending a lease early"; docs/LEDGER.md, "Receivables").
-- A separate migration from the enum values it uses: PostgreSQL refuses a value added in the
-- same transaction.

-- The notice an offer promises is at least an hour and at most a week, and a penalty is a
-- positive amount recorded once, only on a lease its provider ended without notice (triggers,
-- not CHECK constraints: see 20261128154957_marketplace_api).
CREATE FUNCTION "offers_enforce_termination_notice"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."termination_notice_hours" NOT BETWEEN 1 AND 168 THEN
    RAISE EXCEPTION 'offers: termination_notice_hours outside 1..168' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "offers_enforce_termination_notice" BEFORE INSERT OR UPDATE ON "offers"
  FOR EACH ROW EXECUTE FUNCTION "offers_enforce_termination_notice"();

CREATE FUNCTION "leases_enforce_commitments"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."penalty" IS NOT NULL AND (NEW."penalty" <= 0 OR NEW."termination_reason" IS DISTINCT FROM 'PROVIDER_REQUEST') THEN
    RAISE EXCEPTION 'leases: a penalty is positive and only on a provider''s end without notice'
      USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'UPDATE' AND OLD."penalty" IS NOT NULL AND NEW."penalty" IS DISTINCT FROM OLD."penalty" THEN
    RAISE EXCEPTION 'leases: a penalty is recorded once' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "leases_enforce_commitments" BEFORE INSERT OR UPDATE ON "leases"
  FOR EACH ROW EXECUTE FUNCTION "leases_enforce_commitments"();

-- Providers have a receivable account from birth, like their earnings.
CREATE OR REPLACE FUNCTION "ledger_open_organisation_accounts"(organisation UUID, organisation_role "OrganisationRole")
RETURNS void LANGUAGE sql AS $$
  INSERT INTO "ledger_accounts" ("id", "organisation_id", "kind", "currency")
  SELECT gen_random_uuid(), organisation, k, c.currency
  FROM (SELECT DISTINCT "currency" FROM "markets") AS c,
       unnest(CASE organisation_role
                WHEN 'BUYER' THEN ARRAY['BUYER_AVAILABLE', 'BUYER_HELD']::"LedgerAccountKind"[]
                ELSE ARRAY['PROVIDER_EARNINGS', 'PROVIDER_RECEIVABLE']::"LedgerAccountKind"[] END) AS k
  ON CONFLICT ("organisation_id", "kind", "currency") DO NOTHING;
$$;

SELECT "ledger_open_organisation_accounts"(o."id", o."role") FROM "organisations" o WHERE o."role" = 'PROVIDER';

-- An organisation account never goes below zero, except a receivable, which never goes above
-- it: its balance is minus what the provider owes.
CREATE OR REPLACE FUNCTION "ledger_entries_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  account RECORD;
  transfer_currency CHAR(3);
  new_balance BIGINT;
BEGIN
  IF NEW."amount" = 0 THEN
    RAISE EXCEPTION 'ledger_entries: an entry moves a non-zero amount' USING ERRCODE = 'check_violation';
  END IF;
  SELECT "currency" INTO transfer_currency FROM "ledger_transfers" WHERE "id" = NEW."transfer_id";
  SELECT "organisation_id", "currency", "kind" INTO account FROM "ledger_accounts" WHERE "id" = NEW."account_id";
  IF account."currency" <> transfer_currency THEN
    RAISE EXCEPTION 'ledger_entries: account currency % differs from transfer currency %',
      account."currency", transfer_currency USING ERRCODE = 'check_violation';
  END IF;
  IF account."organisation_id" IS NOT NULL THEN
    PERFORM set_config('ledger.applying', 'on', true);
    UPDATE "ledger_accounts" SET "balance" = "balance" + NEW."amount"
      WHERE "id" = NEW."account_id" RETURNING "balance" INTO new_balance;
    PERFORM set_config('ledger.applying', 'off', true);
    IF account."kind" = 'PROVIDER_RECEIVABLE' THEN
      IF new_balance > 0 THEN
        RAISE EXCEPTION 'ledger_receivable_overpaid: receivable % would go above zero', NEW."account_id"
          USING ERRCODE = 'check_violation';
      END IF;
    ELSIF new_balance < 0 THEN
      RAISE EXCEPTION 'ledger_insufficient_funds: account % would go below zero', NEW."account_id"
        USING ERRCODE = 'check_violation';
    END IF;
  END IF;
  RETURN NEW;
END $$;
