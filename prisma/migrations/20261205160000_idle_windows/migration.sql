-- AlterEnum
ALTER TYPE "LeaseTerminationReason" ADD VALUE 'RECLAIMED';

-- AlterTable
ALTER TABLE "bids" ADD COLUMN     "interruptible" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "leases" ADD COLUMN     "reclaimable" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "reclaimed_at" TIMESTAMPTZ(3),
ADD COLUMN     "starts_at" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "offers" ADD COLUMN     "idle_windows" JSONB,
ADD COLUMN     "reclaim_notice_minutes" INTEGER;

-- Idle windows come with a reclaim notice of 1..10,080 minutes, or neither is set; the API checks
-- the windows themselves (zone, lengths, overlaps). A trigger rather than a CHECK constraint: the
-- offline (wasm) schema engine panics when it introspects CHECK constraints.
CREATE FUNCTION "offers_enforce_idle_windows"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW."idle_windows" IS NULL) <> (NEW."reclaim_notice_minutes" IS NULL) THEN
    RAISE EXCEPTION 'offers: idle_windows and reclaim_notice_minutes are set together' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW."reclaim_notice_minutes" IS NOT NULL AND NOT (NEW."reclaim_notice_minutes" BETWEEN 1 AND 10080) THEN
    RAISE EXCEPTION 'offers: reclaim_notice_minutes % outside 1..10080', NEW."reclaim_notice_minutes" USING ERRCODE = 'check_violation';
  END IF;
  IF NEW."idle_windows" IS NOT NULL AND (jsonb_typeof(NEW."idle_windows" -> 'timeZone') IS DISTINCT FROM 'string'
      OR jsonb_typeof(NEW."idle_windows" -> 'windows') IS DISTINCT FROM 'array'
      OR jsonb_array_length(NEW."idle_windows" -> 'windows') = 0) THEN
    RAISE EXCEPTION 'offers: idle_windows needs a timeZone and at least one window' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "offers_enforce_idle_windows" BEFORE INSERT OR UPDATE OF "idle_windows", "reclaim_notice_minutes" ON "offers"
  FOR EACH ROW EXECUTE FUNCTION "offers_enforce_idle_windows"();
