-- AlterTable
ALTER TABLE "bids" ADD COLUMN     "min_provider_score" DOUBLE PRECISION;

-- A minimum is a score (0..100) or none. A trigger rather than a CHECK constraint: the offline
-- (wasm) schema engine panics when it introspects CHECK constraints.
CREATE FUNCTION "bids_enforce_min_provider_score"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."min_provider_score" IS NOT NULL AND NOT (NEW."min_provider_score" BETWEEN 0 AND 100) THEN
    RAISE EXCEPTION 'bids: min_provider_score % outside 0..100', NEW."min_provider_score" USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "bids_enforce_min_provider_score" BEFORE INSERT OR UPDATE OF "min_provider_score" ON "bids"
  FOR EACH ROW EXECUTE FUNCTION "bids_enforce_min_provider_score"();

-- Matching reads each offer with its owner's stored reliability score, so a change of that score,
-- like a change of status, logs the organisation's live orders in their markets' book changes.
DROP TRIGGER "organisations_log_book_change" ON "organisations";
CREATE TRIGGER "organisations_log_book_change" AFTER UPDATE OF "status", "reliability_score" ON "organisations"
  FOR EACH ROW WHEN (OLD."status" IS DISTINCT FROM NEW."status"
                     OR OLD."reliability_score" IS DISTINCT FROM NEW."reliability_score")
  EXECUTE FUNCTION "organisations_log_book_change"();
