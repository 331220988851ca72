-- CreateEnum
CREATE TYPE "LedgerAccountKind" AS ENUM ('BUYER_AVAILABLE', 'BUYER_HELD', 'PROVIDER_EARNINGS', 'PLATFORM_FEES', 'EXTERNAL_FUNDING');

-- CreateEnum
CREATE TYPE "LedgerTransferKind" AS ENUM ('TOPUP', 'BID_HOLD', 'LEASE_HOLD', 'BID_RELEASE', 'SETTLEMENT', 'REFUND', 'PAYOUT', 'WITHDRAWAL', 'CORRECTION');

-- CreateEnum
CREATE TYPE "TopUpStatus" AS ENUM ('PENDING', 'CONFIRMED', 'REJECTED');

-- CreateEnum
CREATE TYPE "PaymentMethod" AS ENUM ('BANK_TRANSFER');

-- CreateTable
CREATE TABLE "ledger_accounts" (
    "id" UUID NOT NULL,
    "organisation_id" UUID,
    "kind" "LedgerAccountKind" NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "balance" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ledger_accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ledger_transfers" (
    "id" UUID NOT NULL,
    "key" VARCHAR(200) NOT NULL,
    "kind" "LedgerTransferKind" NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "organisation_id" UUID,
    "bid_id" UUID,
    "lease_id" UUID,
    "top_up_id" UUID,
    "memo" VARCHAR(500),
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ledger_transfers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ledger_entries" (
    "id" BIGSERIAL NOT NULL,
    "transfer_id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "amount" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ledger_entries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "top_ups" (
    "id" UUID NOT NULL,
    "organisation_id" UUID NOT NULL,
    "method" "PaymentMethod" NOT NULL,
    "amount" BIGINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "status" "TopUpStatus" NOT NULL DEFAULT 'PENDING',
    "reference" VARCHAR(32) NOT NULL,
    "bank_reference" VARCHAR(100),
    "decided_by_user_id" UUID,
    "decided_at" TIMESTAMPTZ(3),
    "rejection_reason" VARCHAR(500),
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "top_ups_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ledger_accounts_kind_currency_idx" ON "ledger_accounts"("kind", "currency");

-- CreateIndex
CREATE UNIQUE INDEX "ledger_accounts_organisation_id_kind_currency_key" ON "ledger_accounts"("organisation_id", "kind", "currency");

-- CreateIndex
CREATE UNIQUE INDEX "ledger_transfers_key_key" ON "ledger_transfers"("key");

-- CreateIndex
CREATE INDEX "ledger_transfers_organisation_id_created_at_idx" ON "ledger_transfers"("organisation_id", "created_at");

-- CreateIndex
CREATE INDEX "ledger_transfers_bid_id_idx" ON "ledger_transfers"("bid_id");

-- CreateIndex
CREATE INDEX "ledger_transfers_lease_id_idx" ON "ledger_transfers"("lease_id");

-- CreateIndex
CREATE INDEX "ledger_entries_account_id_id_idx" ON "ledger_entries"("account_id", "id");

-- CreateIndex
CREATE INDEX "ledger_entries_transfer_id_idx" ON "ledger_entries"("transfer_id");

-- CreateIndex
CREATE UNIQUE INDEX "top_ups_reference_key" ON "top_ups"("reference");

-- CreateIndex
CREATE INDEX "top_ups_organisation_id_created_at_idx" ON "top_ups"("organisation_id", "created_at");

-- CreateIndex
CREATE INDEX "top_ups_status_created_at_idx" ON "top_ups"("status", "created_at");

-- AddForeignKey
ALTER TABLE "ledger_accounts" ADD CONSTRAINT "ledger_accounts_organisation_id_fkey" FOREIGN KEY ("organisation_id") REFERENCES "organisations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_transfer_id_fkey" FOREIGN KEY ("transfer_id") REFERENCES "ledger_transfers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "ledger_accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "top_ups" ADD CONSTRAINT "top_ups_organisation_id_fkey" FOREIGN KEY ("organisation_id") REFERENCES "organisations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- System accounts: one per kind and currency, for the currencies markets trade in now and for
-- any a later market brings. Organisation accounts are created by the application on first use.
CREATE FUNCTION "ledger_ensure_system_accounts"(currency_code CHAR(3)) RETURNS void LANGUAGE sql AS $$
  INSERT INTO "ledger_accounts" ("id", "organisation_id", "kind", "currency")
  SELECT gen_random_uuid(), NULL, k, currency_code
  FROM unnest(ARRAY['PLATFORM_FEES', 'EXTERNAL_FUNDING']::"LedgerAccountKind"[]) AS k
  WHERE NOT EXISTS (
    SELECT 1 FROM "ledger_accounts" a
    WHERE a."organisation_id" IS NULL AND a."kind" = k AND a."currency" = currency_code);
$$;

CREATE FUNCTION "markets_add_system_accounts"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM "ledger_ensure_system_accounts"(NEW."currency");
  -- A market in a new currency opens that currency's accounts for every organisation.
  IF NOT EXISTS (SELECT 1 FROM "markets" WHERE "currency" = NEW."currency" AND "id" <> NEW."id") THEN
    PERFORM "ledger_open_organisation_accounts"(o."id", o."role") FROM "organisations" o;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "markets_add_system_accounts" AFTER INSERT ON "markets"
  FOR EACH ROW EXECUTE FUNCTION "markets_add_system_accounts"();

SELECT "ledger_ensure_system_accounts"(c) FROM (SELECT DISTINCT "currency" AS c FROM "markets") AS m;

-- Every organisation has its accounts from birth, in every currency a market trades in: buyers
-- available and held credit, providers earnings. Postings then never create accounts.
CREATE FUNCTION "ledger_open_organisation_accounts"(organisation UUID, organisation_role "OrganisationRole")
RETURNS void LANGUAGE sql AS $$
  INSERT INTO "ledger_accounts" ("id", "organisation_id", "kind", "currency")
  SELECT gen_random_uuid(), organisation, k, c.currency
  FROM (SELECT DISTINCT "currency" FROM "markets") AS c,
       unnest(CASE organisation_role
                WHEN 'BUYER' THEN ARRAY['BUYER_AVAILABLE', 'BUYER_HELD']::"LedgerAccountKind"[]
                ELSE ARRAY['PROVIDER_EARNINGS']::"LedgerAccountKind"[] END) AS k
  ON CONFLICT ("organisation_id", "kind", "currency") DO NOTHING;
$$;

CREATE FUNCTION "organisations_open_accounts"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM "ledger_open_organisation_accounts"(NEW."id", NEW."role");
  RETURN NEW;
END $$;

CREATE TRIGGER "organisations_open_accounts" AFTER INSERT ON "organisations"
  FOR EACH ROW EXECUTE FUNCTION "organisations_open_accounts"();

-- Accounts: organisations own BUYER_* and PROVIDER_* accounts, the platform owns the others; a
-- balance changes only through an entry (the entry trigger below sets ledger.applying).
CREATE FUNCTION "ledger_accounts_enforce_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'ledger_accounts: accounts are never deleted' USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'INSERT' THEN
    IF (NEW."organisation_id" IS NULL) <> (NEW."kind" IN ('PLATFORM_FEES', 'EXTERNAL_FUNDING')) THEN
      RAISE EXCEPTION 'ledger_accounts: % is not an account kind for this owner', NEW."kind"
        USING ERRCODE = 'check_violation';
    END IF;
    IF NEW."balance" <> 0 THEN
      RAISE EXCEPTION 'ledger_accounts: accounts open at zero' USING ERRCODE = 'check_violation';
    END IF;
    IF NEW."organisation_id" IS NULL AND EXISTS (
        SELECT 1 FROM "ledger_accounts" a
        WHERE a."organisation_id" IS NULL AND a."kind" = NEW."kind" AND a."currency" = NEW."currency") THEN
      RAISE EXCEPTION 'ledger_accounts: system account % % exists', NEW."kind", NEW."currency"
        USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
  END IF;
  IF NEW."id" <> OLD."id" OR NEW."organisation_id" IS DISTINCT FROM OLD."organisation_id"
     OR NEW."kind" <> OLD."kind" OR NEW."currency" <> OLD."currency" THEN
    RAISE EXCEPTION 'ledger_accounts: an account keeps its owner, kind and currency'
      USING ERRCODE = 'check_violation';
  END IF;
  IF NEW."balance" <> OLD."balance" AND current_setting('ledger.applying', true) IS DISTINCT FROM 'on' THEN
    RAISE EXCEPTION 'ledger_accounts: balances change only through ledger entries'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "ledger_accounts_enforce_rules" BEFORE INSERT OR UPDATE OR DELETE ON "ledger_accounts"
  FOR EACH ROW EXECUTE FUNCTION "ledger_accounts_enforce_rules"();

-- An entry moves money on an account of its transfer's currency and updates the cached balance
-- of an organisation account, which may never go below zero (DESIGN invariant 4).
CREATE FUNCTION "ledger_entries_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  account RECORD;
  transfer_currency CHAR(3);
  new_balance BIGINT;
BEGIN
  IF NEW."amount" = 0 THEN
    RAISE EXCEPTION 'ledger_entries: an entry moves a non-zero amount' USING ERRCODE = 'check_violation';
  END IF;
  SELECT "currency" INTO transfer_currency FROM "ledger_transfers" WHERE "id" = NEW."transfer_id";
  SELECT "organisation_id", "currency" INTO account FROM "ledger_accounts" WHERE "id" = NEW."account_id";
  IF account."currency" <> transfer_currency THEN
    RAISE EXCEPTION 'ledger_entries: account currency % differs from transfer currency %',
      account."currency", transfer_currency USING ERRCODE = 'check_violation';
  END IF;
  IF account."organisation_id" IS NOT NULL THEN
    PERFORM set_config('ledger.applying', 'on', true);
    UPDATE "ledger_accounts" SET "balance" = "balance" + NEW."amount"
      WHERE "id" = NEW."account_id" RETURNING "balance" INTO new_balance;
    PERFORM set_config('ledger.applying', 'off', true);
    IF new_balance < 0 THEN
      RAISE EXCEPTION 'ledger_insufficient_funds: account % would go below zero', NEW."account_id"
        USING ERRCODE = 'check_violation';
    END IF;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "ledger_entries_apply" BEFORE INSERT ON "ledger_entries"
  FOR EACH ROW EXECUTE FUNCTION "ledger_entries_apply"();

-- Double entry: every transfer has two or more entries summing to zero. Checked at the end of
-- each statement that inserts transfers or entries (transition tables; constraint triggers would
-- crash the wasm schema engine's introspection), so a transfer and its entries are written by
-- one statement, and entries added to a transfer later must balance among themselves.
CREATE FUNCTION "ledger_check_balanced"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad RECORD;
BEGIN
  IF TG_TABLE_NAME = 'ledger_transfers' THEN
    SELECT t."id", COUNT(e."id") AS entries, COALESCE(SUM(e."amount"), 0) AS total INTO bad
      FROM new_rows t LEFT JOIN "ledger_entries" e ON e."transfer_id" = t."id"
      GROUP BY t."id" HAVING COUNT(e."id") < 2 OR COALESCE(SUM(e."amount"), 0) <> 0 LIMIT 1;
  ELSE
    SELECT e."transfer_id" AS id, COUNT(*) AS entries, SUM(e."amount") AS total INTO bad
      FROM "ledger_entries" e WHERE e."transfer_id" IN (SELECT DISTINCT "transfer_id" FROM new_rows)
      GROUP BY e."transfer_id" HAVING COUNT(*) < 2 OR SUM(e."amount") <> 0 LIMIT 1;
  END IF;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger_unbalanced: transfer % has % entries summing to %', bad."id", bad.entries, bad.total
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "ledger_transfers_balanced" AFTER INSERT ON "ledger_transfers"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "ledger_check_balanced"();
CREATE TRIGGER "ledger_entries_balanced" AFTER INSERT ON "ledger_entries"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "ledger_check_balanced"();

-- Append-only: a mistake is corrected by a new transfer, never by editing history.
CREATE FUNCTION "ledger_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%: the ledger is append-only; record a correcting transfer', TG_TABLE_NAME
    USING ERRCODE = 'check_violation';
END $$;

CREATE TRIGGER "ledger_transfers_append_only" BEFORE UPDATE OR DELETE ON "ledger_transfers"
  FOR EACH ROW EXECUTE FUNCTION "ledger_append_only"();
CREATE TRIGGER "ledger_entries_append_only" BEFORE UPDATE OR DELETE ON "ledger_entries"
  FOR EACH ROW EXECUTE FUNCTION "ledger_append_only"();
CREATE TRIGGER "ledger_transfers_no_truncate" BEFORE TRUNCATE ON "ledger_transfers"
  FOR EACH STATEMENT EXECUTE FUNCTION "ledger_append_only"();
CREATE TRIGGER "ledger_entries_no_truncate" BEFORE TRUNCATE ON "ledger_entries"
  FOR EACH STATEMENT EXECUTE FUNCTION "ledger_append_only"();
CREATE TRIGGER "ledger_accounts_no_truncate" BEFORE TRUNCATE ON "ledger_accounts"
  FOR EACH STATEMENT EXECUTE FUNCTION "ledger_append_only"();

CREATE FUNCTION "top_ups_enforce_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."amount" <= 0 THEN
    RAISE EXCEPTION 'top_ups: amount must be positive' USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'UPDATE' AND OLD."status" <> 'PENDING' AND NEW."status" <> OLD."status" THEN
    RAISE EXCEPTION 'top_ups: % is final', OLD."status" USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "top_ups_enforce_rules" BEFORE INSERT OR UPDATE ON "top_ups"
  FOR EACH ROW EXECUTE FUNCTION "top_ups_enforce_rules"();

-- Organisations registered before the ledger get their accounts now.
SELECT "ledger_open_organisation_accounts"("id", "role") FROM "organisations";
