-- The offer's own ask on each lease (docs/INFERENCE.md "Per-token billing"): a per-token lease
-- pays its provider at it, not at the trade price, which is the bid's maximum when the bid rested
-- first (docs/MATCHING.md "Priority and trade price").

-- AlterTable
ALTER TABLE "leases" ADD COLUMN     "provider_ask_per_gpu_hour" BIGINT;

-- Per-token leases matched before this migration were paid at their trade price: that stays
-- their contract. Other older leases keep no ask (they are paid at the trade price anyway).
UPDATE "leases" SET "provider_ask_per_gpu_hour" = "price_per_gpu_hour"
WHERE "inference_take_or_pay_percent" IS NOT NULL;

-- An ask is positive and never above the trade price (the buyer's maximum meets it or the fill
-- is the offer's price), a per-token lease always has one, and it is fixed at match.
-- Triggers, not CHECK constraints (see 20261128154957_marketplace_api).
CREATE FUNCTION "leases_enforce_provider_ask"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."provider_ask_per_gpu_hour" IS NOT NULL AND (
       NEW."provider_ask_per_gpu_hour" <= 0 OR NEW."provider_ask_per_gpu_hour" > NEW."price_per_gpu_hour") THEN
    RAISE EXCEPTION 'leases: a provider ask is positive and at most the trade price'
      USING ERRCODE = 'check_violation';
  END IF;
  IF NEW."inference_take_or_pay_percent" IS NOT NULL AND NEW."provider_ask_per_gpu_hour" IS NULL THEN
    RAISE EXCEPTION 'leases: a per-token lease carries its provider ask' USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'UPDATE' AND NEW."provider_ask_per_gpu_hour" IS DISTINCT FROM OLD."provider_ask_per_gpu_hour" THEN
    RAISE EXCEPTION 'leases: the provider ask is fixed at match' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "leases_enforce_provider_ask" BEFORE INSERT OR UPDATE ON "leases"
  FOR EACH ROW EXECUTE FUNCTION "leases_enforce_provider_ask"();
