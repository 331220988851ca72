-- CreateEnum
CREATE TYPE "LeaseStatus" AS ENUM ('SCHEDULED', 'ACTIVE', 'ENDED', 'TERMINATED');

-- CreateEnum
CREATE TYPE "LeaseTerminationReason" AS ENUM ('PROVIDER_FAILURE', 'BUYER_REQUEST', 'PROVIDER_REQUEST', 'ADMIN');

-- CreateTable
CREATE TABLE "market_matching" (
    "market_id" UUID NOT NULL,
    "epoch" BIGINT NOT NULL DEFAULT 0,
    "commits" BIGINT NOT NULL DEFAULT 0,
    "stale_commits" BIGINT NOT NULL DEFAULT 0,
    "last_commit_at" TIMESTAMPTZ(3),

    CONSTRAINT "market_matching_pkey" PRIMARY KEY ("market_id")
);

-- CreateTable
CREATE TABLE "leases" (
    "id" UUID NOT NULL,
    "market_id" UUID NOT NULL,
    "offer_id" UUID NOT NULL,
    "bid_id" UUID NOT NULL,
    "provider_organisation_id" UUID NOT NULL,
    "buyer_organisation_id" UUID NOT NULL,
    "site_id" UUID NOT NULL,
    "gpus" INTEGER NOT NULL,
    "price_per_gpu_hour" BIGINT NOT NULL,
    "duration_hours" INTEGER NOT NULL,
    "billing_mode" "BillingMode" NOT NULL,
    "fee_bps" INTEGER NOT NULL,
    "pay_per_use_min_percent" INTEGER NOT NULL,
    "period_seconds" INTEGER NOT NULL DEFAULT 3600,
    "status" "LeaseStatus" NOT NULL DEFAULT 'SCHEDULED',
    "termination_reason" "LeaseTerminationReason",
    "match_epoch" BIGINT NOT NULL,
    "provisioning_deadline" TIMESTAMPTZ(3) NOT NULL,
    "access_details" BYTEA,
    "started_at" TIMESTAMPTZ(3),
    "ends_at" TIMESTAMPTZ(3),
    "ended_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "leases_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "leases_offer_id_status_idx" ON "leases"("offer_id", "status");

-- CreateIndex
CREATE INDEX "leases_bid_id_idx" ON "leases"("bid_id");

-- CreateIndex
CREATE INDEX "leases_buyer_organisation_id_created_at_idx" ON "leases"("buyer_organisation_id", "created_at");

-- CreateIndex
CREATE INDEX "leases_provider_organisation_id_created_at_idx" ON "leases"("provider_organisation_id", "created_at");

-- CreateIndex
CREATE INDEX "leases_status_provisioning_deadline_idx" ON "leases"("status", "provisioning_deadline");

-- CreateIndex
CREATE INDEX "leases_status_ends_at_idx" ON "leases"("status", "ends_at");

-- CreateIndex
CREATE UNIQUE INDEX "leases_match_epoch_market_id_bid_id_offer_id_key" ON "leases"("match_epoch", "market_id", "bid_id", "offer_id");

-- CreateIndex
CREATE INDEX "bids_status_expires_at_idx" ON "bids"("status", "expires_at");

-- CreateIndex
CREATE INDEX "offers_status_available_until_idx" ON "offers"("status", "available_until");

-- CreateIndex
CREATE INDEX "offers_status_available_from_idx" ON "offers"("status", "available_from");

-- AddForeignKey
ALTER TABLE "market_matching" ADD CONSTRAINT "market_matching_market_id_fkey" FOREIGN KEY ("market_id") REFERENCES "markets"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "leases" ADD CONSTRAINT "leases_market_id_fkey" FOREIGN KEY ("market_id") REFERENCES "markets"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "leases" ADD CONSTRAINT "leases_offer_id_fkey" FOREIGN KEY ("offer_id") REFERENCES "offers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "leases" ADD CONSTRAINT "leases_bid_id_fkey" FOREIGN KEY ("bid_id") REFERENCES "bids"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Every market has its matching row: existing ones here, markets added later by their insert.
INSERT INTO "market_matching" ("market_id") SELECT "id" FROM "markets" ON CONFLICT DO NOTHING;

CREATE FUNCTION "markets_add_matching_row"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "market_matching" ("market_id") VALUES (NEW."id") ON CONFLICT DO NOTHING;
  RETURN NEW;
END $$;

CREATE TRIGGER "markets_add_matching_row" AFTER INSERT ON "markets"
  FOR EACH ROW EXECUTE FUNCTION "markets_add_matching_row"();

-- Rules the database enforces even if application code were wrong (triggers, not CHECK
-- constraints: see 20261128154957_marketplace_api).
CREATE FUNCTION "leases_enforce_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."gpus" <= 0 OR NEW."price_per_gpu_hour" <= 0 THEN
    RAISE EXCEPTION 'leases: gpus and price must be positive' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW."duration_hours" NOT BETWEEN 1 AND 720 OR NEW."period_seconds" <= 0 THEN
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

CREATE TRIGGER "leases_enforce_rules" BEFORE INSERT OR UPDATE ON "leases"
  FOR EACH ROW EXECUTE FUNCTION "leases_enforce_rules"();

-- DESIGN invariant 2: nothing leaves a terminal state (an offer's FILLED is not terminal: it
-- moves back as leases end).
CREATE FUNCTION "orders_keep_terminal_status"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."status" <> OLD."status" AND (
       OLD."status" IN ('CANCELLED', 'EXPIRED')
       OR (TG_TABLE_NAME = 'bids' AND OLD."status" = 'FILLED')) THEN
    RAISE EXCEPTION '%: % is terminal', TG_TABLE_NAME, OLD."status" USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "bids_keep_terminal_status" BEFORE UPDATE ON "bids"
  FOR EACH ROW EXECUTE FUNCTION "orders_keep_terminal_status"();
CREATE TRIGGER "offers_keep_terminal_status" BEFORE UPDATE ON "offers"
  FOR EACH ROW EXECUTE FUNCTION "orders_keep_terminal_status"();
