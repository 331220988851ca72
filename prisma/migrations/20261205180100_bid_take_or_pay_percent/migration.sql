-- An inference bid states its own take-or-pay share (docs/INFERENCE.md "Per-token billing"),
-- 0..100, 50 when not given; matching copies it onto each of the bid's leases.

-- AlterTable
ALTER TABLE "bids" ADD COLUMN     "inference_take_or_pay_percent" INTEGER;

-- Inference bids placed before were quoted the constant 50%: that is their share.
UPDATE "bids" SET "inference_take_or_pay_percent" = 50 WHERE "inference_model_id" IS NOT NULL;

-- On an inference bid only, always there, 0..100. Triggers, not CHECK constraints (see
-- 20261128154957_marketplace_api).
CREATE FUNCTION "bids_enforce_take_or_pay"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW."inference_model_id" IS NULL) <> (NEW."inference_take_or_pay_percent" IS NULL)
     OR NEW."inference_take_or_pay_percent" NOT BETWEEN 0 AND 100 THEN
    RAISE EXCEPTION 'bids: an inference bid has a take-or-pay share of 0..100, a GPU bid none'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "bids_enforce_take_or_pay"
  BEFORE INSERT OR UPDATE OF "inference_model_id", "inference_take_or_pay_percent" ON "bids"
  FOR EACH ROW EXECUTE FUNCTION "bids_enforce_take_or_pay"();
