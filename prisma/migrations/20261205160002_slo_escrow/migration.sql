-- SLO-conditioned escrow (docs/SLO.md).

-- AlterEnum
ALTER TYPE "LedgerTransferKind" ADD VALUE 'SLO_CREDIT';

-- AlterEnum
ALTER TYPE "PeriodDisputeKind" ADD VALUE 'SLO';

-- CreateEnum
CREATE TYPE "SloReportSource" AS ENUM ('PROVIDER', 'BUYER');

-- CreateEnum
CREATE TYPE "SloReportMethod" AS ENUM ('REPORT', 'PROBE', 'PROVIDER_FAILED');

-- AlterTable
ALTER TABLE "leases" ADD COLUMN     "slo" JSONB;

-- AlterTable
ALTER TABLE "offers" ADD COLUMN     "slo" JSONB;

-- CreateTable
CREATE TABLE "slo_reports" (
    "id" UUID NOT NULL,
    "lease_id" UUID NOT NULL,
    "period_index" INTEGER NOT NULL,
    "period_start" TIMESTAMPTZ(3) NOT NULL,
    "period_end" TIMESTAMPTZ(3) NOT NULL,
    "source" "SloReportSource" NOT NULL,
    "method" "SloReportMethod" NOT NULL,
    "availability_bps" INTEGER,
    "ttft_p95_ms" INTEGER,
    "output_tokens_per_second_per_gpu" INTEGER,
    "note" VARCHAR(500),
    "signer_kind" VARCHAR(8) NOT NULL,
    "signer_id" UUID NOT NULL,
    "digest" CHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "slo_reports_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "slo_period_outcomes" (
    "lease_id" UUID NOT NULL,
    "period_index" INTEGER NOT NULL,
    "provider_organisation_id" UUID NOT NULL,
    "outcome" VARCHAR(8) NOT NULL,
    "reason" VARCHAR(24) NOT NULL,
    "objectives_missed" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "credit_percent" INTEGER NOT NULL,
    "credit" BIGINT NOT NULL,
    "settled_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "slo_period_outcomes_pkey" PRIMARY KEY ("lease_id","period_index")
);

-- CreateIndex
CREATE UNIQUE INDEX "slo_reports_lease_id_period_index_source_key" ON "slo_reports"("lease_id", "period_index", "source");

-- CreateIndex
CREATE INDEX "slo_period_outcomes_provider_organisation_id_settled_at_idx" ON "slo_period_outcomes"("provider_organisation_id", "settled_at");

-- AddForeignKey
ALTER TABLE "slo_reports" ADD CONSTRAINT "slo_reports_lease_id_fkey" FOREIGN KEY ("lease_id") REFERENCES "leases"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "slo_period_outcomes" ADD CONSTRAINT "slo_period_outcomes_lease_id_fkey" FOREIGN KEY ("lease_id") REFERENCES "leases"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Leases copy their offer's SLO as they are created (at match), whatever path creates them, so a
-- lease keeps the terms it was sold under. The TTFT and throughput objectives measure a served
-- model: a lease of a plain GPU bid (no model) keeps availability only.
CREATE FUNCTION "leases_copy_offer_slo"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."slo" IS NULL THEN
    SELECT CASE WHEN NEW."inference_model_id" IS NULL
                THEN o."slo" - 'ttftP95Ms' - 'outputTokensPerSecondPerGpu'
                ELSE o."slo" END
      INTO NEW."slo"
      FROM "offers" o WHERE o."id" = NEW."offer_id";
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "leases_copy_offer_slo" BEFORE INSERT ON "leases"
  FOR EACH ROW EXECUTE FUNCTION "leases_copy_offer_slo"();

-- An offer's SLO is fixed once placed (leases already copied it; later ones must get the same),
-- and evidence and outcomes are facts: never changed (they go only with their lease). Triggers, not CHECK constraints
-- (see 20261128154957_marketplace_api).
CREATE FUNCTION "offers_keep_slo"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."slo" IS DISTINCT FROM OLD."slo" THEN
    RAISE EXCEPTION 'offers: an SLO is fixed once placed' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "offers_keep_slo" BEFORE UPDATE OF "slo" ON "offers"
  FOR EACH ROW EXECUTE FUNCTION "offers_keep_slo"();

CREATE FUNCTION "slo_facts_unchanged"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%: SLO evidence and outcomes are never changed', TG_TABLE_NAME USING ERRCODE = 'check_violation';
END $$;

CREATE TRIGGER "slo_reports_unchanged" BEFORE UPDATE ON "slo_reports"
  FOR EACH ROW EXECUTE FUNCTION "slo_facts_unchanged"();
CREATE TRIGGER "slo_period_outcomes_unchanged" BEFORE UPDATE ON "slo_period_outcomes"
  FOR EACH ROW EXECUTE FUNCTION "slo_facts_unchanged"();

-- A missed period's credit is at most its charge and never negative; availability is in 0..10000 bps.
CREATE FUNCTION "slo_enforce_ranges"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'slo_reports' THEN
    IF NEW."availability_bps" IS NOT NULL AND NEW."availability_bps" NOT BETWEEN 0 AND 10000 THEN
      RAISE EXCEPTION 'slo_reports: availability_bps outside 0..10000' USING ERRCODE = 'check_violation';
    END IF;
  ELSIF NEW."credit" < 0 OR (NEW."outcome" = 'MET' AND NEW."credit" <> 0) THEN
    RAISE EXCEPTION 'slo_period_outcomes: a credit is not negative, and zero when met' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "slo_reports_enforce_ranges" BEFORE INSERT ON "slo_reports"
  FOR EACH ROW EXECUTE FUNCTION "slo_enforce_ranges"();
CREATE TRIGGER "slo_period_outcomes_enforce_ranges" BEFORE INSERT ON "slo_period_outcomes"
  FOR EACH ROW EXECUTE FUNCTION "slo_enforce_ranges"();

-- AlterTable
ALTER TABLE "invoice_lines" ADD COLUMN     "slo_credit" BIGINT NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "invoices" ADD COLUMN     "slo_credits" BIGINT NOT NULL DEFAULT 0;
