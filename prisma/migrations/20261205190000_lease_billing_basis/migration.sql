-- A lease's billing basis, explicit and fixed at match (docs/INFERENCE.md "Billing basis"):
-- GPU_HOURS bills the buyer by GPU-seconds, PER_TOKEN by tokens over a take-or-pay minimum.

-- CreateEnum
CREATE TYPE "LeaseBillingBasis" AS ENUM ('GPU_HOURS', 'PER_TOKEN');

-- AlterTable
ALTER TABLE "leases" ADD COLUMN     "billing_basis" "LeaseBillingBasis";

-- Backfill: per-token where the per-token terms are present. Inference leases matched before
-- per-token billing (20261205160001_per_token_billing) carry no take-or-pay share: they keep the
-- GPU-hour contract they were matched under, as do all GPU leases.
UPDATE "leases" SET "billing_basis" = CASE
  WHEN "inference_take_or_pay_percent" IS NOT NULL AND "inference_price_per_million_tokens" IS NOT NULL
    THEN 'PER_TOKEN'::"LeaseBillingBasis"
  ELSE 'GPU_HOURS'::"LeaseBillingBasis" END;

ALTER TABLE "leases" ALTER COLUMN "billing_basis" SET NOT NULL;

-- PER_TOKEN exactly when the lease carries a take-or-pay share (the per-token terms), and the
-- basis never changes after insert. Triggers, not CHECK constraints (see 20261128154957_marketplace_api).
CREATE FUNCTION "leases_enforce_billing_basis"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW."billing_basis" <> OLD."billing_basis" THEN
    RAISE EXCEPTION 'leases: the billing basis is fixed at match' USING ERRCODE = 'check_violation';
  END IF;
  IF (NEW."billing_basis" = 'PER_TOKEN') <> (NEW."inference_take_or_pay_percent" IS NOT NULL) THEN
    RAISE EXCEPTION 'leases: a PER_TOKEN lease carries the per-token terms, a GPU_HOURS lease none'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "leases_enforce_billing_basis" BEFORE INSERT OR UPDATE ON "leases"
  FOR EACH ROW EXECUTE FUNCTION "leases_enforce_billing_basis"();
