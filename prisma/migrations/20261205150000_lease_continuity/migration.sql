-- CreateEnum
CREATE TYPE "LeaseReportKind" AS ENUM ('PROVIDER_FAILED');

-- CreateEnum
CREATE TYPE "LeaseReportPhase" AS ENUM ('PROVISIONING', 'RUNNING');

-- CreateEnum
CREATE TYPE "LeaseReportStatus" AS ENUM ('OPEN', 'CONFIRMED', 'REJECTED');

-- AlterEnum
ALTER TYPE "LedgerTransferKind" ADD VALUE 'LEASE_EXTENSION';

-- AlterTable
ALTER TABLE "leases" ADD COLUMN     "extended_hours" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "lease_extensions" (
    "id" UUID NOT NULL,
    "lease_id" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "hours" INTEGER NOT NULL,
    "price_per_gpu_hour" BIGINT NOT NULL,
    "amount" BIGINT NOT NULL,
    "previous_ends_at" TIMESTAMPTZ(3) NOT NULL,
    "ends_at" TIMESTAMPTZ(3) NOT NULL,
    "requested_by_kind" VARCHAR(16) NOT NULL,
    "requested_by_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "lease_extensions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "lease_reports" (
    "id" UUID NOT NULL,
    "lease_id" UUID NOT NULL,
    "buyer_organisation_id" UUID NOT NULL,
    "provider_organisation_id" UUID NOT NULL,
    "kind" "LeaseReportKind" NOT NULL,
    "phase" "LeaseReportPhase" NOT NULL,
    "observed_at" TIMESTAMPTZ(3) NOT NULL,
    "reported_at" TIMESTAMPTZ(3) NOT NULL,
    "detail" VARCHAR(2000),
    "status" "LeaseReportStatus" NOT NULL DEFAULT 'OPEN',
    "decided_at" TIMESTAMPTZ(3),
    "decided_by_user_id" UUID,
    "decision_note" VARCHAR(1000),

    CONSTRAINT "lease_reports_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "lease_extensions_lease_id_number_key" ON "lease_extensions"("lease_id", "number");

-- CreateIndex
CREATE INDEX "lease_reports_provider_organisation_id_status_idx" ON "lease_reports"("provider_organisation_id", "status");

-- CreateIndex
CREATE INDEX "lease_reports_status_reported_at_id_idx" ON "lease_reports"("status", "reported_at" DESC, "id" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "lease_reports_lease_id_kind_key" ON "lease_reports"("lease_id", "kind");

-- AddForeignKey
ALTER TABLE "lease_extensions" ADD CONSTRAINT "lease_extensions_lease_id_fkey" FOREIGN KEY ("lease_id") REFERENCES "leases"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "lease_reports" ADD CONSTRAINT "lease_reports_lease_id_fkey" FOREIGN KEY ("lease_id") REFERENCES "leases"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- A lease is bought for 1..720 hours; afterwards only its buyer's extensions change that, each
-- adding 1..720 hours (docs/LEASES.md "Extending a lease"), up to 87,600 in all (ten years), which
-- keeps price x GPUs x hours inside a bigint. Triggers, not CHECK constraints: see
-- 20261128154957_marketplace_api.
CREATE OR REPLACE FUNCTION "leases_enforce_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."gpus" <= 0 OR NEW."price_per_gpu_hour" <= 0 THEN
    RAISE EXCEPTION 'leases: gpus and price must be positive' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW."period_seconds" <= 0
     OR (TG_OP = 'INSERT' AND (NEW."duration_hours" NOT BETWEEN 1 AND 720 OR NEW."extended_hours" <> 0))
     OR (TG_OP = 'UPDATE' AND NEW."duration_hours" IS DISTINCT FROM OLD."duration_hours"
         AND (NEW."duration_hours" - OLD."duration_hours" NOT BETWEEN 1 AND 720
              OR NEW."extended_hours" - OLD."extended_hours" <> NEW."duration_hours" - OLD."duration_hours"
              OR NEW."duration_hours" > 87600))
     OR (TG_OP = 'UPDATE' AND NEW."duration_hours" IS NOT DISTINCT FROM OLD."duration_hours"
         AND NEW."extended_hours" IS DISTINCT FROM OLD."extended_hours") THEN
    RAISE EXCEPTION 'leases: duration or period out of range' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW."fee_bps" NOT BETWEEN 0 AND 10000 OR NEW."pay_per_use_min_percent" NOT BETWEEN 0 AND 100 THEN
    RAISE EXCEPTION 'leases: fee or minimum out of range' USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'UPDATE' AND OLD."status" IN ('ENDED', 'TERMINATED') AND NEW."status" <> OLD."status" THEN
    RAISE EXCEPTION 'leases: % is terminal', OLD."status" USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

-- Extensions are the audit record of a lease's end moving later: nothing changes one (a row goes
-- only with its lease, which nothing but a test's clean-up removes).
CREATE FUNCTION "lease_extensions_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'lease_extensions: append-only' USING ERRCODE = 'check_violation';
END $$;

CREATE TRIGGER "lease_extensions_append_only" BEFORE UPDATE ON "lease_extensions"
  FOR EACH ROW EXECUTE FUNCTION "lease_extensions_append_only"();

CREATE FUNCTION "lease_extensions_enforce_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."number" < 1 OR NEW."hours" NOT BETWEEN 1 AND 720 OR NEW."amount" <= 0
     OR NEW."ends_at" <= NEW."previous_ends_at" THEN
    RAISE EXCEPTION 'lease_extensions: out of range' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "lease_extensions_enforce_rules" BEFORE INSERT ON "lease_extensions"
  FOR EACH ROW EXECUTE FUNCTION "lease_extensions_enforce_rules"();

-- A report's evidence never changes; only an OPEN report is decided, once.
CREATE FUNCTION "lease_reports_enforce_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND (OLD."status" <> 'OPEN' OR NEW."status" = 'OPEN'
       OR (NEW."lease_id", NEW."kind", NEW."phase", NEW."observed_at", NEW."reported_at", NEW."detail",
           NEW."buyer_organisation_id", NEW."provider_organisation_id")
          IS DISTINCT FROM (OLD."lease_id", OLD."kind", OLD."phase", OLD."observed_at", OLD."reported_at",
                            OLD."detail", OLD."buyer_organisation_id", OLD."provider_organisation_id")) THEN
    RAISE EXCEPTION 'lease_reports: only an open report is decided, once' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW."observed_at" > NEW."reported_at" THEN
    RAISE EXCEPTION 'lease_reports: observed after reported' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "lease_reports_enforce_rules" BEFORE INSERT OR UPDATE ON "lease_reports"
  FOR EACH ROW EXECUTE FUNCTION "lease_reports_enforce_rules"();

-- AlterTable
ALTER TABLE "bids" ADD COLUMN     "replacement_plan_id" UUID,
ADD COLUMN     "replaces_lease_id" UUID;

-- CreateTable
CREATE TABLE "bid_replacement_plans" (
    "id" UUID NOT NULL,
    "organisation_id" UUID NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "max_count" INTEGER NOT NULL,
    "budget" BIGINT NOT NULL,
    "used_count" INTEGER NOT NULL DEFAULT 0,
    "used_budget" BIGINT NOT NULL DEFAULT 0,
    "stopped_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "bid_replacement_plans_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "bid_replacement_plans_organisation_id_idx" ON "bid_replacement_plans"("organisation_id");

-- CreateIndex
CREATE UNIQUE INDEX "bids_replaces_lease_id_key" ON "bids"("replaces_lease_id");

-- AddForeignKey
ALTER TABLE "bids" ADD CONSTRAINT "bids_replacement_plan_id_fkey" FOREIGN KEY ("replacement_plan_id") REFERENCES "bid_replacement_plans"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- A plan never lets re-placements past its count or budget, and what it used only grows.
CREATE FUNCTION "bid_replacement_plans_enforce_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."max_count" NOT BETWEEN 1 AND 100 OR NEW."budget" <= 0
     OR NEW."used_count" NOT BETWEEN 0 AND NEW."max_count"
     OR NEW."used_budget" NOT BETWEEN 0 AND NEW."budget" THEN
    RAISE EXCEPTION 'bid_replacement_plans: count or budget out of range' USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'UPDATE' AND (NEW."used_count" < OLD."used_count" OR NEW."used_budget" < OLD."used_budget"
       OR NEW."max_count" <> OLD."max_count" OR NEW."budget" <> OLD."budget"
       OR NEW."organisation_id" <> OLD."organisation_id" OR NEW."currency" <> OLD."currency"
       OR (OLD."stopped_at" IS NOT NULL AND NEW."stopped_at" IS DISTINCT FROM OLD."stopped_at")) THEN
    RAISE EXCEPTION 'bid_replacement_plans: only use and a stop move a plan' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "bid_replacement_plans_enforce_rules" BEFORE INSERT OR UPDATE ON "bid_replacement_plans"
  FOR EACH ROW EXECUTE FUNCTION "bid_replacement_plans_enforce_rules"();
