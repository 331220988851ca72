-- CreateEnum
CREATE TYPE "SettlementState" AS ENUM ('OPEN', 'COMPLETE', 'NEEDS_ATTENTION');

-- AlterTable
ALTER TABLE "leases" ADD COLUMN     "settled_periods" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "settlement_error" VARCHAR(1000),
ADD COLUMN     "settlement_state" "SettlementState" NOT NULL DEFAULT 'OPEN';

-- CreateTable
CREATE TABLE "usage_reports" (
    "id" UUID NOT NULL,
    "lease_id" UUID NOT NULL,
    "period_start" TIMESTAMPTZ(3) NOT NULL,
    "gpu_seconds" BIGINT NOT NULL,
    "tokens" BIGINT,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "usage_reports_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "lease_periods" (
    "id" UUID NOT NULL,
    "lease_id" UUID NOT NULL,
    "index" INTEGER NOT NULL,
    "starts_at" TIMESTAMPTZ(3) NOT NULL,
    "ends_at" TIMESTAMPTZ(3) NOT NULL,
    "gpu_seconds" BIGINT NOT NULL,
    "basis" VARCHAR(16) NOT NULL,
    "cost" BIGINT NOT NULL,
    "fee" BIGINT NOT NULL,
    "settled_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "lease_periods_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "usage_reports_lease_id_period_start_key" ON "usage_reports"("lease_id", "period_start");

-- CreateIndex
CREATE INDEX "lease_periods_settled_at_idx" ON "lease_periods"("settled_at");

-- CreateIndex
CREATE UNIQUE INDEX "lease_periods_lease_id_index_key" ON "lease_periods"("lease_id", "index");

-- CreateIndex
CREATE INDEX "leases_settlement_state_started_at_idx" ON "leases"("settlement_state", "started_at");

-- AddForeignKey
ALTER TABLE "usage_reports" ADD CONSTRAINT "usage_reports_lease_id_fkey" FOREIGN KEY ("lease_id") REFERENCES "leases"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "lease_periods" ADD CONSTRAINT "lease_periods_lease_id_fkey" FOREIGN KEY ("lease_id") REFERENCES "leases"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE FUNCTION "usage_reports_enforce_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    RAISE EXCEPTION 'usage_reports: a report is final' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW."gpu_seconds" < 0 OR (NEW."tokens" IS NOT NULL AND NEW."tokens" < 0) THEN
    RAISE EXCEPTION 'usage_reports: usage is not negative' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "usage_reports_enforce_rules" BEFORE INSERT OR UPDATE ON "usage_reports"
  FOR EACH ROW EXECUTE FUNCTION "usage_reports_enforce_rules"();

CREATE FUNCTION "lease_periods_enforce_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    RAISE EXCEPTION 'lease_periods: a settled period is final' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW."cost" < 0 OR NEW."fee" < 0 OR NEW."fee" > NEW."cost" OR NEW."gpu_seconds" < 0 THEN
    RAISE EXCEPTION 'lease_periods: charge out of range' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW."ends_at" <= NEW."starts_at" THEN
    RAISE EXCEPTION 'lease_periods: empty period' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

-- A settled period is not edited: its ledger transfer is the record, and a correction is a new
-- transfer. (Rows may be deleted with their lease by test cleanup; the ledger keeps the money.)
CREATE TRIGGER "lease_periods_enforce_rules" BEFORE INSERT OR UPDATE ON "lease_periods"
  FOR EACH ROW EXECUTE FUNCTION "lease_periods_enforce_rules"();
