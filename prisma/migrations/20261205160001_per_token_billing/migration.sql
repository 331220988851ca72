-- Per-token billing of inference leases (docs/INFERENCE.md "Per-token billing", docs/LEDGER.md
-- "The spread").

-- AlterTable
ALTER TABLE "leases" ADD COLUMN     "inference_take_or_pay_percent" INTEGER;

-- AlterTable
ALTER TABLE "lease_periods" ADD COLUMN     "billed_tokens" BIGINT,
ADD COLUMN     "output_tokens" BIGINT,
ADD COLUMN     "payout" BIGINT,
ADD COLUMN     "payout_basis" VARCHAR(16),
ADD COLUMN     "price_per_million_tokens" BIGINT,
ADD COLUMN     "prompt_tokens" BIGINT,
ADD COLUMN     "spread" BIGINT NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "invoice_lines" ADD COLUMN     "billed_tokens" BIGINT,
ADD COLUMN     "output_tokens" BIGINT,
ADD COLUMN     "price_per_million_tokens" BIGINT,
ADD COLUMN     "prompt_tokens" BIGINT;

-- A take-or-pay share is a percentage, and only an inference lease (one with a price per
-- million tokens) bills per token. Triggers, not CHECK constraints (see 20261128154957_marketplace_api).
CREATE FUNCTION "leases_enforce_token_billing"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."inference_take_or_pay_percent" IS NOT NULL AND (
       NEW."inference_take_or_pay_percent" NOT BETWEEN 0 AND 100
       OR NEW."inference_price_per_million_tokens" IS NULL) THEN
    RAISE EXCEPTION 'leases: a take-or-pay share is 0..100 and only on an inference lease'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "leases_enforce_token_billing" BEFORE INSERT OR UPDATE ON "leases"
  FOR EACH ROW EXECUTE FUNCTION "leases_enforce_token_billing"();

-- A per-token period pays the provider at most what it charged (the spread is never negative),
-- and the fee comes out of that payout; a GPU-billed period has no spread and no token figures.
CREATE FUNCTION "lease_periods_enforce_token_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."payout" IS NULL THEN
    IF NEW."spread" <> 0 OR NEW."billed_tokens" IS NOT NULL THEN
      RAISE EXCEPTION 'lease_periods: a spread or tokens only on a per-token period' USING ERRCODE = 'check_violation';
    END IF;
  ELSIF NEW."payout" < 0 OR NEW."spread" <> NEW."cost" - NEW."payout" OR NEW."spread" < 0
     OR NEW."fee" > NEW."payout" OR NEW."billed_tokens" IS NULL OR NEW."billed_tokens" < 0
     OR NEW."prompt_tokens" < 0 OR NEW."output_tokens" < 0 OR NEW."price_per_million_tokens" < 0 THEN
    RAISE EXCEPTION 'lease_periods: per-token figures out of range' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "lease_periods_enforce_token_rules" BEFORE INSERT OR UPDATE ON "lease_periods"
  FOR EACH ROW EXECUTE FUNCTION "lease_periods_enforce_token_rules"();

-- PLATFORM_SPREAD is a system account, opened per currency like the others.
CREATE OR REPLACE FUNCTION "ledger_ensure_system_accounts"(currency_code CHAR(3)) RETURNS void LANGUAGE sql AS $$
  INSERT INTO "ledger_accounts" ("id", "organisation_id", "kind", "currency")
  SELECT gen_random_uuid(), NULL, k, currency_code
  FROM unnest(ARRAY['PLATFORM_FEES', 'EXTERNAL_FUNDING', 'PAYOUT_CLEARING', 'PLATFORM_SPREAD']::"LedgerAccountKind"[]) AS k
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
    IF (NEW."organisation_id" IS NULL) <> (NEW."kind" IN ('PLATFORM_FEES', 'EXTERNAL_FUNDING', 'PAYOUT_CLEARING', 'PLATFORM_SPREAD')) THEN
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
