-- A CALL market clears at the multiples of its window plus its phase, `call_phase_ms` (docs/MATCHING.md
-- "When a clearing runs"). Markets with the same window get phases spread over it, so their
-- clearings do not all fall on the same instant and queue on the worker's solver threads.
ALTER TABLE "markets" ADD COLUMN "call_phase_ms" INTEGER NOT NULL DEFAULT 0;

-- The middle of the widest gap between the phases of the markets with window `p_window` other
-- than `p_except` (0 when there are none; the earliest gap when two are equally wide). Markets
-- given phases this way one after another spread evenly: 0, W/2, W/4, 3W/4, W/8, ...
CREATE FUNCTION "markets_free_call_phase"(p_window integer, p_except uuid[]) RETURNS integer
LANGUAGE sql AS $$
  SELECT COALESCE((
    SELECT (g.phase + (g.next_phase - g.phase) / 2) % p_window
    FROM (
      SELECT "call_phase_ms" AS phase,
             COALESCE(lead("call_phase_ms") OVER w, first_value("call_phase_ms") OVER w + p_window) AS next_phase
      FROM "markets"
      WHERE "call_window_ms" = p_window AND NOT ("id" = ANY (p_except))
      WINDOW w AS (ORDER BY "call_phase_ms", "id")
    ) g
    ORDER BY g.next_phase - g.phase DESC, g.phase
    LIMIT 1), 0)
$$;

-- A market inserted, or given another window, takes the free phase of its window. A phase set by
-- hand, the window unchanged, is kept if it lies inside the window. Named to fire after
-- markets_enforce_call_window (triggers of one event fire in name order), which bounds the window.
CREATE FUNCTION "markets_set_call_phase"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW."call_window_ms" = OLD."call_window_ms" THEN
    IF NEW."call_phase_ms" NOT BETWEEN 0 AND NEW."call_window_ms" - 1 THEN
      RAISE EXCEPTION 'markets: call_phase_ms % outside 0..%', NEW."call_phase_ms", NEW."call_window_ms" - 1
        USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END IF;
  NEW."call_phase_ms" := "markets_free_call_phase"(NEW."call_window_ms", ARRAY[NEW."id"]);
  RETURN NEW;
END $$;

-- The markets that exist get the phases they would have had if created one by one, oldest first.
DO $$
DECLARE
  market record;
  placed uuid[] := '{}';
BEGIN
  FOR market IN SELECT "id", "call_window_ms" FROM "markets" ORDER BY "created_at", "id" LOOP
    UPDATE "markets" SET "call_phase_ms" = "markets_free_call_phase"(
      market."call_window_ms",
      ARRAY(SELECT "id" FROM "markets" WHERE NOT ("id" = ANY (placed))))
    WHERE "id" = market."id";
    placed := placed || market."id";
  END LOOP;
END $$;

CREATE TRIGGER "markets_set_call_phase" BEFORE INSERT OR UPDATE OF "call_window_ms", "call_phase_ms" ON "markets"
  FOR EACH ROW EXECUTE FUNCTION "markets_set_call_phase"();
