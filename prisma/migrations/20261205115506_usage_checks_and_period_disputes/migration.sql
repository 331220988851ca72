-- CreateEnum
CREATE TYPE "TokenCountSource" AS ENUM ('PROVIDER', 'BUYER', 'ADMIN');

-- CreateEnum
CREATE TYPE "PeriodDisputeKind" AS ENUM ('USAGE');

-- CreateEnum
CREATE TYPE "PeriodDisputeStatus" AS ENUM ('OPEN', 'RESOLVED');

-- CreateTable
CREATE TABLE "token_usage" (
    "id" UUID NOT NULL,
    "lease_id" UUID NOT NULL,
    "period_index" INTEGER NOT NULL,
    "period_start" TIMESTAMPTZ(3) NOT NULL,
    "period_end" TIMESTAMPTZ(3) NOT NULL,
    "source" "TokenCountSource" NOT NULL,
    "prompt_tokens" BIGINT NOT NULL,
    "output_tokens" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "token_usage_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "period_disputes" (
    "id" UUID NOT NULL,
    "lease_id" UUID NOT NULL,
    "period_index" INTEGER NOT NULL,
    "period_start" TIMESTAMPTZ(3) NOT NULL,
    "period_end" TIMESTAMPTZ(3) NOT NULL,
    "kind" "PeriodDisputeKind" NOT NULL,
    "status" "PeriodDisputeStatus" NOT NULL DEFAULT 'OPEN',
    "evidence" JSONB NOT NULL,
    "decision" JSONB,
    "holds_settlement" BOOLEAN NOT NULL,
    "opened_at" TIMESTAMPTZ(3) NOT NULL,
    "resolved_at" TIMESTAMPTZ(3),
    "resolved_by_user_id" UUID,
    "resolution_note" VARCHAR(1000),

    CONSTRAINT "period_disputes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "usage_flags" (
    "id" UUID NOT NULL,
    "lease_id" UUID NOT NULL,
    "period_index" INTEGER NOT NULL,
    "period_start" TIMESTAMPTZ(3) NOT NULL,
    "source" "TokenCountSource" NOT NULL,
    "prompt_tokens" BIGINT NOT NULL,
    "output_tokens" BIGINT NOT NULL,
    "period_gpu_seconds" BIGINT NOT NULL,
    "needed_gpu_seconds" DOUBLE PRECISION NOT NULL,
    "basis" VARCHAR(16) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "reviewed_at" TIMESTAMPTZ(3),
    "reviewed_by_user_id" UUID,
    "review_note" VARCHAR(1000),

    CONSTRAINT "usage_flags_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "token_usage_lease_id_period_index_source_key" ON "token_usage"("lease_id", "period_index", "source");

-- CreateIndex
CREATE INDEX "period_disputes_lease_id_status_idx" ON "period_disputes"("lease_id", "status");

-- CreateIndex
CREATE INDEX "period_disputes_status_opened_at_id_idx" ON "period_disputes"("status", "opened_at" DESC, "id" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "period_disputes_lease_id_period_index_kind_key" ON "period_disputes"("lease_id", "period_index", "kind");

-- CreateIndex
CREATE INDEX "usage_flags_lease_id_idx" ON "usage_flags"("lease_id");

-- CreateIndex
CREATE INDEX "usage_flags_reviewed_at_created_at_id_idx" ON "usage_flags"("reviewed_at", "created_at" DESC, "id" DESC);

-- AddForeignKey
ALTER TABLE "token_usage" ADD CONSTRAINT "token_usage_lease_id_fkey" FOREIGN KEY ("lease_id") REFERENCES "leases"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "period_disputes" ADD CONSTRAINT "period_disputes_lease_id_fkey" FOREIGN KEY ("lease_id") REFERENCES "leases"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "usage_flags" ADD CONSTRAINT "usage_flags_lease_id_fkey" FOREIGN KEY ("lease_id") REFERENCES "leases"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Counts are whole tokens, never negative (the API refuses above 2^53 - 1 before they get here),
-- and a dispute is decided exactly when it is RESOLVED. Triggers, not CHECK constraints: the
-- offline schema engine crashes introspecting CHECK constraints during the drift check.
CREATE FUNCTION "token_counts_enforce_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."prompt_tokens" < 0 OR NEW."output_tokens" < 0 OR NEW."period_index" < 0 THEN
    RAISE EXCEPTION '%: token counts and period index must not be negative', TG_TABLE_NAME USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "token_usage_enforce_rules" BEFORE INSERT OR UPDATE ON "token_usage"
  FOR EACH ROW EXECUTE FUNCTION "token_counts_enforce_rules"();

CREATE TRIGGER "usage_flags_enforce_rules" BEFORE INSERT OR UPDATE ON "usage_flags"
  FOR EACH ROW EXECUTE FUNCTION "token_counts_enforce_rules"();

CREATE FUNCTION "period_disputes_enforce_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW."status" = 'OPEN') <> (NEW."resolved_at" IS NULL) OR (NEW."status" = 'OPEN') <> (NEW."decision" IS NULL) THEN
    RAISE EXCEPTION 'period_disputes: resolved_at and decision are set exactly when RESOLVED' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "period_disputes_enforce_rules" BEFORE INSERT OR UPDATE ON "period_disputes"
  FOR EACH ROW EXECUTE FUNCTION "period_disputes_enforce_rules"();
