-- Matching modes (docs/MATCHING.md "Call markets"): CONTINUOUS (price-time, run by run) or CALL
-- (one clearing per window of `call_window_ms`). Markets that exist now keep CONTINUOUS, the
-- rules they were traded under; markets inserted from now on default to CALL.
CREATE TYPE "MatchingMode" AS ENUM ('CONTINUOUS', 'CALL');

ALTER TABLE "markets" ADD COLUMN     "call_window_ms" INTEGER NOT NULL DEFAULT 1000,
ADD COLUMN     "matching_mode" "MatchingMode" NOT NULL DEFAULT 'CONTINUOUS';

ALTER TABLE "markets" ALTER COLUMN "matching_mode" SET DEFAULT 'CALL';

-- The bounds the admin endpoint validates, also for rows written by hand. A trigger rather than a
-- CHECK constraint: the offline (wasm) schema engine panics when it introspects CHECK constraints.
CREATE FUNCTION "markets_enforce_call_window"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."call_window_ms" NOT BETWEEN 100 AND 60000 THEN
    RAISE EXCEPTION 'markets: call_window_ms % outside 100..60000', NEW."call_window_ms" USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "markets_enforce_call_window" BEFORE INSERT OR UPDATE OF "call_window_ms" ON "markets"
  FOR EACH ROW EXECUTE FUNCTION "markets_enforce_call_window"();
