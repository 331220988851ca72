-- CreateEnum
CREATE TYPE "PayoutStatus" AS ENUM ('PENDING', 'PAID', 'REJECTED');

-- CreateTable
CREATE TABLE "bank_accounts" (
    "id" UUID NOT NULL,
    "organisation_id" UUID NOT NULL,
    "beneficiary" VARCHAR(200) NOT NULL,
    "bank_name" VARCHAR(200) NOT NULL,
    "account_sealed" BYTEA NOT NULL,
    "account_last4" VARCHAR(4) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "bank_accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "payouts" (
    "id" UUID NOT NULL,
    "organisation_id" UUID NOT NULL,
    "source" "LedgerAccountKind" NOT NULL,
    "amount" BIGINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "status" "PayoutStatus" NOT NULL DEFAULT 'PENDING',
    "beneficiary" VARCHAR(200) NOT NULL,
    "bank_name" VARCHAR(200) NOT NULL,
    "account_sealed" BYTEA NOT NULL,
    "account_last4" VARCHAR(4) NOT NULL,
    "bank_reference" VARCHAR(100),
    "decided_by_user_id" UUID,
    "decided_at" TIMESTAMPTZ(3),
    "rejection_reason" VARCHAR(500),
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "payouts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "bank_accounts_organisation_id_key" ON "bank_accounts"("organisation_id");

-- CreateIndex
CREATE INDEX "payouts_organisation_id_created_at_idx" ON "payouts"("organisation_id", "created_at");

-- CreateIndex
CREATE INDEX "payouts_status_created_at_idx" ON "payouts"("status", "created_at");

-- AddForeignKey
ALTER TABLE "bank_accounts" ADD CONSTRAINT "bank_accounts_organisation_id_fkey" FOREIGN KEY ("organisation_id") REFERENCES "organisations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "payouts" ADD CONSTRAINT "payouts_organisation_id_fkey" FOREIGN KEY ("organisation_id") REFERENCES "organisations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- The payout clearing account is a system account like fees and funding (previous migration
-- added the kind; a new enum value is usable only once that migration has committed).
CREATE OR REPLACE FUNCTION "ledger_ensure_system_accounts"(currency_code CHAR(3)) RETURNS void LANGUAGE sql AS $$
  INSERT INTO "ledger_accounts" ("id", "organisation_id", "kind", "currency")
  SELECT gen_random_uuid(), NULL, k, currency_code
  FROM unnest(ARRAY['PLATFORM_FEES', 'EXTERNAL_FUNDING', 'PAYOUT_CLEARING']::"LedgerAccountKind"[]) AS k
  WHERE NOT EXISTS (
    SELECT 1 FROM "ledger_accounts" a
    WHERE a."organisation_id" IS NULL AND a."kind" = k AND a."currency" = currency_code);
$$;

CREATE OR REPLACE FUNCTION "ledger_accounts_enforce_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'ledger_accounts: accounts are never deleted' USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'INSERT' THEN
    IF (NEW."organisation_id" IS NULL) <> (NEW."kind" IN ('PLATFORM_FEES', 'EXTERNAL_FUNDING', 'PAYOUT_CLEARING')) THEN
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

SELECT "ledger_ensure_system_accounts"(c) FROM (SELECT DISTINCT "currency" AS c FROM "markets") AS m;

CREATE FUNCTION "payouts_enforce_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."amount" <= 0 THEN
    RAISE EXCEPTION 'payouts: amount must be positive' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW."source" NOT IN ('PROVIDER_EARNINGS', 'BUYER_AVAILABLE') THEN
    RAISE EXCEPTION 'payouts: % cannot be paid out', NEW."source" USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'UPDATE' AND OLD."status" <> 'PENDING' AND NEW."status" <> OLD."status" THEN
    RAISE EXCEPTION 'payouts: % is final', OLD."status" USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "payouts_enforce_rules" BEFORE INSERT OR UPDATE ON "payouts"
  FOR EACH ROW EXECUTE FUNCTION "payouts_enforce_rules"();
