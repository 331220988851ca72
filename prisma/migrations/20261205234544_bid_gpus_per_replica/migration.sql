-- An inference bid trades in whole replicas (docs/MATCHING.md "Lots"): its replica size is its
-- lot, and every site gives it whole lots. Bids placed before keep null (lot 1, as they matched).

-- AlterTable
ALTER TABLE "bids" ADD COLUMN     "inference_gpus_per_replica" INTEGER;

-- On an inference bid only, at least 1, and the bid's GPUs are whole lots. Triggers, not CHECK
-- constraints (see 20261128154957_marketplace_api).
CREATE FUNCTION "bids_enforce_gpus_per_replica"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."inference_gpus_per_replica" IS NOT NULL AND (
       NEW."inference_model_id" IS NULL
       OR NEW."inference_gpus_per_replica" < 1
       OR NEW."gpus" % NEW."inference_gpus_per_replica" <> 0) THEN
    RAISE EXCEPTION 'bids: a replica size belongs to an inference bid, at least 1, dividing its GPUs'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "bids_enforce_gpus_per_replica"
  BEFORE INSERT OR UPDATE OF "inference_model_id", "inference_gpus_per_replica", "gpus" ON "bids"
  FOR EACH ROW EXECUTE FUNCTION "bids_enforce_gpus_per_replica"();
